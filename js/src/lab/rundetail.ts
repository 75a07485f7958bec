import { TabPanel, Widget } from '@lumino/widgets';
import { displayName, formatDuration, parseTime, progressLabel } from '../common/format';
import type { ResultsTable, Run } from '../common/types';
import { BlockingChart, resultPoints } from '../widgets/parts/chart';
import { ArtifactsView } from './artifacts';
import { ConfigDiffView, runConfig, templateConfig, type ConfigSource } from './configdiff';
import type { FusionConnection } from './connection';
import { h, setText, textButton } from './dom';
import { LogView } from './logview';

/** What a run tab needs from the plugin: its embedded views and the other tabs. */
export interface RunDetailDeps {
  /** The run's files (the artifacts tab's view). */
  artifacts(runId: string): ArtifactsView;
  logTailLines: number;
  openSweep(sweepId: string): void;
}

/** Results tables are re-read at most this often while a run progresses. */
const RELOAD_MS = 1000;

/** A results table as an HTML table (numbers to four significant digits). */
export function resultsTable(table: ResultsTable): HTMLTableElement {
  const cell = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(4) : v === null || v === undefined ? '' : String(v));
  return h(
    'table',
    { class: 'jp-FusionArtifacts-table jp-FusionDetail-results' },
    h('thead', {}, h('tr', {}, ...table.columns.map(c => h('th', { text: c })))),
    h('tbody', {}, ...table.rows.map(row => h('tr', {}, ...table.columns.map(c => h('td', { text: cell(row[c]) })))))
  );
}

/** The run's summary, results table and blocking curve (the run tab's first page). */
class RunSummary extends Widget {
  private readonly facts = h('dl', { class: 'jp-FusionDetail-facts' });
  private readonly error = h('pre', { class: 'jp-FusionDetail-error' });
  private readonly chart = new BlockingChart('Blocking probability', { width: 560, height: 240, bands: true });
  private readonly results = h('div', { class: 'jp-FusionDetail-table' });

  constructor(private readonly openSweep: (id: string) => void) {
    super();
    this.addClass('jp-FusionDetail-summary');
    this.addClass('fj-root');
    this.title.label = 'Summary';
    this.node.append(this.facts, this.error, h('h3', { text: 'Blocking probability' }), this.chart.node, h('h3', { text: 'Results' }), this.results);
    this.error.hidden = true;
  }

  showRun(run: Run): void {
    const duration = (() => {
      const start = parseTime(run.started_at);
      const end = parseTime(run.completed_at);
      return start !== null && end !== null ? formatDuration((end - start) / 1000) : '';
    })();
    const facts: Array<[string, string | Node]> = [
      ['Name', displayName(run)],
      ['Id', run.id],
      ['Status', run.status],
      ['Progress', progressLabel(run)],
      ['Template', run.template],
      ['Executor', run.executor + (run.job_id ? ` · job ${run.job_id}` : '')],
      ['Created', run.created_at ? new Date(run.created_at).toLocaleString() : ''],
      ['Duration', duration],
      ['Tags', run.tags.join(', ')]
    ];
    if (run.sweep_id) {
      const link = textButton(`sweep ${run.sweep_id}`, 'open-sweep', 'jp-FusionDetail-sweep', 'Open the sweep this run belongs to');
      link.addEventListener('click', () => this.openSweep(run.sweep_id!));
      facts.push(['Sweep', link]);
    }
    this.facts.replaceChildren(...facts.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { attrs: { 'data-fact': k.toLowerCase() } }, v)]));
    this.node.dataset.status = run.status;
    this.error.hidden = !run.error;
    setText(this.error, run.error ?? '');
  }

  showResults(table: ResultsTable, label: string): void {
    this.chart.update([{ id: 'run', label, points: resultPoints(table.rows) }]);
    this.results.replaceChildren(table.rows.length ? resultsTable(table) : h('p', { text: 'No results yet.' }));
  }

  showResultsError(message: string): void {
    this.results.replaceChildren(h('p', { class: 'jp-FusionDetail-error', text: message }));
  }
}

/** The run tab's config page: the run's config against its template or another run. */
class RunConfig extends Widget {
  private readonly choice = h('select', { class: 'jp-mod-styled', attrs: { 'aria-label': 'Compare the config with' } });
  private readonly diff = new ConfigDiffView();

  constructor(private readonly conn: FusionConnection, private readonly runId: string) {
    super();
    this.addClass('jp-FusionDetail-config');
    this.title.label = 'Config';
    this.node.append(h('label', { class: 'jp-FusionDetail-against' }, h('span', { text: 'Compare with ' }), this.choice), this.diff.node);
    this.choice.addEventListener('change', () => void this.compare());
  }

  /** Offer the template and the other runs (same template first); compare with the template. */
  offer(run: Run): void {
    if (this.choice.options.length) {
      return;
    }
    const others = this.conn.store
      .all()
      .filter(r => r.id !== run.id)
      .sort((a, b) => Number(b.template === run.template) - Number(a.template === run.template))
      .slice(0, 200);
    // A run made from a whole INI file has no template: the other runs only.
    const template = run.template ? [h('option', { text: `its template (${run.template})`, attrs: { value: `template:${run.template}` } })] : [];
    this.choice.replaceChildren(
      ...template,
      ...others.map(r => h('option', { text: `run ${displayName(r)} (${r.id})`, attrs: { value: `run:${r.id}` } }))
    );
    if (this.choice.options.length) {
      void this.compare();
    }
  }

  /** Compare with ``template:<name>`` or ``run:<id>``. */
  async compareWith(value: string): Promise<void> {
    if (![...this.choice.options].some(o => o.value === value)) {
      this.choice.append(h('option', { text: value.replace(':', ' '), attrs: { value } }));
    }
    this.choice.value = value;
    await this.compare();
  }

  private async compare(): Promise<void> {
    const api = this.conn.api;
    const run = this.conn.store.get(this.runId) ?? { id: this.runId, name: '' };
    const [kind, name] = [this.choice.value.slice(0, this.choice.value.indexOf(':')), this.choice.value.slice(this.choice.value.indexOf(':') + 1)];
    const other: ConfigSource = kind === 'template' ? templateConfig(api, name) : runConfig(api, this.conn.store.get(name) ?? { id: name, name: '' });
    await this.diff.show([runConfig(api, run), other]);
  }
}

/**
 * A run in a main-area tab: summary, results table and blocking curve; its log and
 * files (the log and artifacts tabs' own views); its config against its template or
 * another run. Live: the summary follows the run, the results are re-read as loads end.
 */
export class RunDetail extends TabPanel {
  readonly summary: RunSummary;
  readonly config: RunConfig;
  readonly log: LogView;
  readonly files: ArtifactsView;
  private readonly stops: Array<() => void> = [];
  private resultsKey = '';
  private run: Run | null = null;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly conn: FusionConnection, readonly runId: string, deps: RunDetailDeps) {
    super();
    this.id = `fusion-run-${runId}`;
    this.addClass('jp-FusionDetail');
    this.title.closable = true;
    this.summary = new RunSummary(deps.openSweep);
    this.log = new LogView(conn, runId, deps.logTailLines);
    this.log.id = `${this.log.id}-detail`;
    this.log.title.label = 'Log';
    this.files = deps.artifacts(runId);
    this.files.id = `${this.files.id}-detail`;
    this.files.title.label = 'Artifacts';
    this.config = new RunConfig(conn, runId);
    for (const page of [this.summary, this.log, this.files, this.config]) {
      page.title.closable = false;
      this.addWidget(page);
    }
    this.stops.push(
      conn.store.changed.connect(change => {
        if (change.ids.has(runId)) {
          this.onRun();
        }
      })
    );
    const known = conn.store.get(runId);
    if (known) {
      this.onRun();
    }
    // The store's row may be a compact one: read the whole run once.
    void conn.api
      .getRun(runId)
      .then(run => {
        conn.store.upsert(run);
        this.onRun(run);
      })
      .catch(err => this.summary.showResultsError(`Cannot read run ${runId}: ${err instanceof Error ? err.message : String(err)}`));
  }

  dispose(): void {
    clearTimeout(this.reloadTimer);
    this.stops.forEach(stop => stop());
    super.dispose();
  }

  private onRun(read?: Run): void {
    const run = read ?? this.conn.store.get(this.runId);
    if (!run) {
      return;
    }
    this.run = run;
    this.title.label = `Run: ${displayName(run)}`;
    this.title.caption = `FUSION run ${run.id} (${run.status})`;
    this.summary.showRun(run);
    this.config.offer(run);
    this.scheduleResults();
  }

  /** Results change when a load ends and when the run ends: read them then (at most every RELOAD_MS). */
  private scheduleResults(): void {
    const run = this.run;
    if (!run || this.reloadTimer !== undefined) {
      return;
    }
    const key = `${run.status}/${run.progress.erlang_index ?? ''}`;
    if (key === this.resultsKey) {
      return;
    }
    const wait = this.resultsKey ? RELOAD_MS : 0;
    this.reloadTimer = setTimeout(() => {
      this.resultsKey = key;
      void this.loadResults(run).finally(() => {
        this.reloadTimer = undefined;
        if (!this.isDisposed) {
          this.scheduleResults();
        }
      });
    }, wait);
  }

  private async loadResults(run: Run): Promise<void> {
    try {
      const table = await this.conn.api.results(this.runId);
      if (!this.isDisposed) {
        this.summary.showResults(table, displayName(run));
      }
    } catch (err) {
      this.summary.showResultsError(`No results: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
