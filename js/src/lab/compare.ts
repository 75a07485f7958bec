import { Widget } from '@lumino/widgets';
import { displayName } from '../common/format';
import type { Run } from '../common/types';
import { BlockingChart, resultPoints, type Series } from '../widgets/parts/chart';
import { ConfigDiffView, runConfig } from './configdiff';
import type { FusionConnection } from './connection';
import { h, setText } from './dom';

/** Curves are re-read at most this often while the compared runs progress. */
const RELOAD_MS = 1000;

/** The tab id of a comparison (the same runs in any order are one tab). */
export function compareId(ids: string[]): string {
  return `fusion-compare-${[...ids].sort().join('-')}`;
}

/**
 * Two or more runs side by side in a main-area tab: their blocking curves overlaid
 * (confidence bands, one colour per run, named in the legend) and the settings in which
 * their configs differ. Live: the curves are re-read as the runs progress.
 */
export class CompareView extends Widget {
  readonly chart = new BlockingChart('Blocking probability', { width: 640, height: 300, bands: true });
  readonly diff = new ConfigDiffView();
  private readonly status = h('div', { class: 'jp-FusionCompare-status' });
  private readonly series = new Map<string, Series>();
  private readonly keys = new Map<string, string>();
  private readonly stops: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly conn: FusionConnection, readonly runIds: string[]) {
    super();
    this.id = compareId(runIds);
    this.addClass('jp-FusionCompare');
    this.addClass('fj-root');
    this.title.closable = true;
    this.title.label = `Compare ${runIds.length} runs`;
    this.node.append(
      this.status,
      h('h3', { text: 'Blocking probability' }),
      this.chart.node,
      h('h3', { text: 'Config differences' }),
      this.diff.node
    );
    this.stops.push(
      conn.store.changed.connect(change => {
        if (runIds.some(id => change.ids.has(id))) {
          this.schedule();
        }
      })
    );
    void this.start();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.stops.forEach(stop => stop());
    super.dispose();
  }

  private async start(): Promise<void> {
    const runs = await Promise.all(this.runIds.map(id => this.run(id)));
    setText(this.status, runs.map(r => `${displayName(r)} (${r.status})`).join(' · '));
    this.title.caption = `FUSION runs ${this.runIds.join(', ')}`;
    await Promise.all([this.reload(), this.diff.show(runs.map(r => runConfig(this.conn.api, r)))]);
  }

  private async run(id: string): Promise<Run> {
    const known = this.conn.store.get(id);
    return known ?? this.conn.api.getRun(id);
  }

  private schedule(): void {
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.reload();
      }, RELOAD_MS);
    }
  }

  /** Read the results of the runs whose progress moved, and redraw. */
  async reload(): Promise<void> {
    await Promise.all(
      this.runIds.map(async id => {
        const run = this.conn.store.get(id);
        const key = run ? `${run.status}/${run.progress.erlang_index ?? ''}` : '?';
        if (this.keys.get(id) === key && this.series.has(id)) {
          return;
        }
        this.keys.set(id, key);
        try {
          const table = await this.conn.api.results(id);
          this.series.set(id, { id, label: run ? displayName(run) : id, points: resultPoints(table.rows) });
        } catch (err) {
          setText(this.status, `Cannot read the results of ${id}: ${err instanceof Error ? err.message : String(err)}`);
        }
      })
    );
    if (!this.isDisposed) {
      this.chart.update(this.runIds.map(id => this.series.get(id)).filter((s): s is Series => !!s));
    }
  }
}
