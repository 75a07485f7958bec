import type { FusionApi } from '../../common/api';
import type { StreamClient } from '../../common/stream';
import { curvesCsv, shortKey, type SweepCurves } from '../../common/curves';
import { TERMINAL_STATUSES, type Run, type RunStatus } from '../../common/types';
import { BlockingChart, type Series } from './chart';
import { button, errorText, h, Notice, saveBlob, setText } from './ui';

/** Curves the kernel computed and pushed (the relay: the page cannot ask a busy kernel). */
export interface PushedCurves {
  get(): SweepCurves | null;
  /** Calls back on each push; returns the disconnect. */
  connect(callback: () => void): () => void;
}

export interface SweepViewOptions {
  /** Grid keys to group by (null: every key that varies). */
  by?: string[] | null;
  logY?: boolean;
  title?: string;
  /** The relay's pushed curves; without it the view fetches on every run that ends. */
  pushed?: PushedCurves;
  /** The user changed ``by`` or the y scale (to sync a widget model). */
  onChange?(state: { by: string[] | null; logY: boolean }): void;
}

/** Grid keys that move the load itself (the x axis): never offered as a grouping. */
const LOAD_KEYS = new Set(['erlang_start', 'erlang_stop', 'erlang_step'].map(k => `general_settings.${k}`));

/** Each run that ends and the moment the curves it changed were on screen (benchmarks). */
export const CURVES_DRAWN = 'fusion:curves-drawn';
/** The moment the page heard that runs of the sweep ended (benchmarks). */
export const RUNS_ENDED = 'fusion:curves-runs-ended';

/**
 * A sweep's blocking-against-load curves, one per value of the grid keys chosen in the
 * "by" selector (the server groups them: GET sweeps/{id}/curves), with confidence
 * bands, a log-y toggle and export to PNG, SVG and CSV. Live: each run of the sweep
 * that ends redraws the curves. The notebook widget and the JupyterLab sweep tab.
 */
export class SweepView {
  readonly node: HTMLElement;
  readonly chart = new BlockingChart('Blocking probability', { width: 640, height: 300, bands: true });
  private data: SweepCurves | null = null;
  private by: string[] | null;
  private logY: boolean;
  private readonly byBox = h('div', { class: 'fj-sweep-by', attrs: { role: 'group', 'aria-label': 'Curves by' } });
  private readonly logBox = h('input', { attrs: { type: 'checkbox', 'aria-label': 'Log scale', 'data-action': 'log-y' } });
  private readonly countEl = h('span', { class: 'fj-muted fj-sweep-count' });
  private readonly titleEl = h('span', { class: 'fj-log-title' });
  private readonly notice = new Notice();
  private readonly stops: Array<() => void> = [];
  private readonly ended = new Set<string>();
  /** Runs that ended since the curves drawn last were asked for (with when they ended). */
  private waiting = new Map<string, string | null>();
  private fetching = false;
  private again = false;
  private disposed = false;

  constructor(
    private readonly api: FusionApi,
    private readonly stream: StreamClient,
    readonly sweepId: string,
    private readonly options: SweepViewOptions = {}
  ) {
    this.by = options.by ?? null;
    this.logY = !!options.logY;
    this.logBox.checked = this.logY;
    this.chart.setYScale(this.logY ? 'log' : 'linear');
    setText(this.titleEl, options.title || `Sweep ${sweepId}`);
    const exports = h(
      'span',
      { class: 'fj-sweep-export' },
      button('PNG', 'export-png', 'Save the chart as a PNG image'),
      button('SVG', 'export-svg', 'Save the chart as an SVG drawing'),
      button('CSV', 'export-csv', 'Save the curves’ points as CSV')
    );
    this.node = h(
      'div',
      { class: 'fj-widget fj-sweep', attrs: { 'data-sweep-id': sweepId } },
      h('div', { class: 'fj-toolbar' }, this.titleEl, this.countEl, h('span', { class: 'fj-spacer' }), h('label', { class: 'fj-sweep-log' }, this.logBox, ' log y'), exports),
      h('div', { class: 'fj-toolbar' }, h('span', { class: 'fj-muted', text: 'Curves by' }), this.byBox),
      this.chart.node,
      this.notice.node
    );
    this.notice.clear();
    this.logBox.addEventListener('change', () => {
      this.logY = this.logBox.checked;
      this.chart.setYScale(this.logY ? 'log' : 'linear');
      this.changed();
    });
    exports.addEventListener('click', event => {
      const action = (event.target as HTMLElement).closest<HTMLElement>('[data-action]')?.dataset.action;
      if (action) {
        void this.export(action.replace('export-', '') as 'png' | 'svg' | 'csv');
      }
    });
    this.byBox.addEventListener('change', () => {
      const chosen = [...this.byBox.querySelectorAll<HTMLInputElement>('input:checked')].map(i => i.value);
      this.by = chosen;
      this.changed();
      void this.refresh();
    });
    if (options.pushed) {
      const pushed = options.pushed;
      this.stops.push(pushed.connect(() => this.takePushed(pushed.get())));
      this.takePushed(pushed.get());
    } else {
      this.stops.push(this.stream.status.connect(runs => this.onStatus(runs)));
      this.stream.connect();
    }
    void this.refresh();
  }

  /** The curves drawn now (tests, exports). */
  get curves(): SweepCurves | null {
    return this.data;
  }

  setTitle(title: string): void {
    setText(this.titleEl, title);
  }

  dispose(): void {
    this.disposed = true;
    this.stops.forEach(stop => stop());
    this.node.remove();
  }

  /** Fetch the curves (again): one request at a time, the last change wins. */
  async refresh(): Promise<void> {
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = true;
    try {
      do {
        this.again = false;
        const ended = this.waiting;
        this.waiting = new Map();
        const by = this.by;
        try {
          const data = await this.api.sweepCurves(this.sweepId, by);
          if (this.disposed) {
            return;
          }
          if (by === this.by) {
            this.draw(data, ended);
          } else {
            this.again = true;
          }
          this.notice.clear();
        } catch (err) {
          this.notice.show(`cannot read the curves: ${errorText(err)}`);
        }
      } while (this.again && !this.disposed);
    } finally {
      this.fetching = false;
    }
  }

  private onStatus(runs: Run[]): void {
    let any = false;
    for (const run of runs) {
      if (run.sweep_id !== this.sweepId || !TERMINAL_STATUSES.has(run.status as RunStatus) || this.ended.has(run.id)) {
        continue;
      }
      this.ended.add(run.id);
      this.waiting.set(run.id, run.completed_at ?? null);
      any = true;
    }
    if (any) {
      performance.mark(RUNS_ENDED, { detail: { sweep: this.sweepId, runs: [...this.waiting.keys()] } });
      void this.refresh();
    }
  }

  private takePushed(data: SweepCurves | null): void {
    if (!data || data.sweep_id !== this.sweepId) {
      return;
    }
    const same = this.by === null ? true : data.by.join('\0') === this.by.join('\0');
    if (same) {
      this.draw(data, new Map());
    }
  }

  private changed(): void {
    this.options.onChange?.({ by: this.by, logY: this.logY });
  }

  private draw(data: SweepCurves, ended: Map<string, string | null>): void {
    this.data = data;
    this.drawBy(data);
    setText(this.countEl, `${data.with_results} of ${data.runs} runs with results · ${data.curves.length} curve${data.curves.length === 1 ? '' : 's'}`);
    const series: Series[] = data.curves.map(curve => ({
      id: curve.label,
      label: curve.label,
      points: curve.points
        .filter(p => p.blocking_mean !== null)
        .map(p => ({ x: p.erlang, y: p.blocking_mean as number, lo: p.ci_lower, hi: p.ci_upper }))
    }));
    this.chart.update(series);
    if (ended.size) {
      performance.mark(CURVES_DRAWN, { detail: { sweep: this.sweepId, runs: [...ended].map(([id, completed]) => ({ id, completed })) } });
    }
  }

  /** The "by" checkboxes: every grid key but the load's, checked when grouped by. */
  private drawBy(data: SweepCurves): void {
    const keys = Object.keys(data.grid).filter(k => !LOAD_KEYS.has(k));
    const key = keys.join('\0') + '\u0001' + data.by.join('\0');
    if (this.byBox.dataset.key === key) {
      return;
    }
    this.byBox.dataset.key = key;
    this.byBox.replaceChildren(
      ...keys.map(k => {
        const box = h('input', { attrs: { type: 'checkbox', value: k, 'aria-label': k } });
        box.checked = data.by.includes(k);
        const varies = data.varying.includes(k);
        return h('label', { class: 'fj-sweep-key', title: varies ? k : `${k} (one value in this sweep)` }, box, ` ${shortKey(k)}`);
      })
    );
    if (!keys.length) {
      this.byBox.append(h('span', { class: 'fj-muted', text: 'no grid parameters' }));
    }
  }

  private fileStem(): string {
    return `sweep-${this.sweepId}-curves`;
  }

  async export(kind: 'png' | 'svg' | 'csv'): Promise<void> {
    try {
      if (kind === 'csv') {
        if (!this.data) {
          throw new Error('no curves yet');
        }
        saveBlob(new Blob([curvesCsv(this.data)], { type: 'text/csv' }), `${this.fileStem()}.csv`);
      } else if (kind === 'svg') {
        saveBlob(new Blob([this.chart.svgText()], { type: 'image/svg+xml' }), `${this.fileStem()}.svg`);
      } else {
        saveBlob(await svgToPng(this.chart.svgText()), `${this.fileStem()}.png`);
      }
    } catch (err) {
      this.notice.show(`export failed: ${errorText(err)}`);
    }
  }
}

/** Draw a standalone SVG document on a canvas, as a PNG (its own width and height). */
export async function svgToPng(svgText: string): Promise<Blob> {
  const image = new Image();
  image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svgText);
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d');
  if (!context) {
    throw new Error('this browser cannot draw on a canvas');
  }
  context.drawImage(image, 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob(blob => (blob ? resolve(blob) : reject(new Error('the PNG could not be made'))), 'image/png'));
}
