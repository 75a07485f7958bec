import type { FusionApi } from '../common/api';
import { parseTime } from '../common/format';
import { gridSize } from '../common/sweeps';
import { h, setText } from './dom';

/** A key a grid axis can vary: ``section.key`` and its declared type. */
export interface AxisKey {
  id: string;
  type: string;
}

/** The server's limits a grid is checked against before it is submitted. */
export interface GridLimits {
  maxRuns: number;
  maxConcurrentRuns: number;
}

/** What the builder holds: the grid, or why it cannot be sent. */
export interface GridState {
  grid: Record<string, unknown[]>;
  runs: number;
  /** Problems with the axes as typed (a bad number, an empty list, a key twice). */
  errors: string[];
  /** Set when the grid expands to more runs than the server accepts. */
  overLimit: string | null;
}

/** Values typed as the key's type says (numbers for int and float, text otherwise). */
export function parseList(text: string, type: string): { values: unknown[]; error: string | null } {
  const parts = text
    .split(',')
    .map(p => p.trim())
    .filter(Boolean);
  if (!parts.length) {
    return { values: [], error: 'give at least one value' };
  }
  if (type === 'int' || type === 'float') {
    const bad = parts.find(p => !Number.isFinite(Number(p)) || (type === 'int' && !/^[+-]?\d+$/.test(p)));
    if (bad !== undefined) {
      return { values: [], error: `${JSON.stringify(bad)} is not ${type === 'int' ? 'an integer' : 'a number'}` };
    }
    return { values: parts.map(Number), error: null };
  }
  return { values: parts, error: null };
}

/** How many values start..stop (inclusive) by step has, without making them. */
export function rangeCount(start: number, stop: number, step: number): number {
  if (![start, stop, step].every(Number.isFinite) || step <= 0 || stop < start) {
    return 0;
  }
  // A hair of tolerance: 0.1 steps from 0.1 to 0.5 are five values, not four.
  return Math.floor((stop - start) / step + 1e-9) + 1;
}

/** start, start+step, ... up to stop (inclusive), rounded so 0.1 * 3 reads 0.3. */
export function rangeValues(start: number, stop: number, step: number, limit: number): number[] {
  const n = Math.min(rangeCount(start, stop, step), limit);
  return Array.from({ length: n }, (_, i) => Number((start + i * step).toPrecision(12)));
}

interface AxisView {
  row: HTMLElement;
  key: HTMLSelectElement;
  mode: HTMLSelectElement;
  list: HTMLInputElement;
  start: HTMLInputElement;
  stop: HTMLInputElement;
  step: HTMLInputElement;
}

/**
 * A sweep builder: grid axes over a template's keys, each a list of values or
 * start/stop/step, with the run count and an estimated duration; a grid over the
 * server's limit is flagged before anything is sent. Shared by the New-run form and
 * the Launcher widget (``classPrefix`` names their classes).
 */
export class GridBuilder {
  readonly node: HTMLElement;
  private readonly axesEl: HTMLElement;
  private readonly summaryEl: HTMLElement;
  private readonly addButton: HTMLButtonElement;
  private axes: AxisView[] = [];
  private keys: AxisKey[] = [];
  private limits: GridLimits | null = null;
  private perRunSeconds: number | null = null;

  constructor(
    private readonly onChange: () => void,
    private readonly classPrefix: string
  ) {
    const c = classPrefix;
    this.axesEl = h('div', { class: `${c}-axes` });
    this.summaryEl = h('div', { class: `${c}-gridSummary`, attrs: { role: 'status', 'aria-live': 'polite' } });
    this.addButton = h('button', { class: `jp-mod-styled ${c}-addAxis`, text: '+ Add grid axis', attrs: { type: 'button' } });
    this.addButton.addEventListener('click', () => this.addAxis());
    this.node = h(
      'fieldset',
      { class: `${c}-grid` },
      h('legend', { text: 'Sweep (optional): vary keys over a grid, one run per combination' }),
      this.axesEl,
      h('div', { class: `${c}-gridFoot` }, this.addButton, this.summaryEl)
    );
    this.update(false);
  }

  /** The keys an axis may vary (the template's). Axes on keys that went are dropped. */
  /** The limits and one run's duration for ``template``, from the server (best effort). */
  async load(api: Pick<FusionApi, 'sweepLimits' | 'listRuns'>, template: string | null): Promise<void> {
    const [limits, perRun] = await Promise.all([
      api.sweepLimits().catch(() => null),
      template ? typicalRunSeconds(api, template).catch(() => null) : Promise.resolve(null)
    ]);
    this.limits = limits;
    this.perRunSeconds = perRun;
    this.update();
  }

  setKeys(keys: AxisKey[]): void {
    this.keys = keys;
    const ids = new Set(keys.map(k => k.id));
    for (const axis of [...this.axes]) {
      if (!ids.has(axis.key.value)) {
        this.removeAxis(axis);
      } else {
        this.fillKeys(axis.key, axis.key.value);
      }
    }
    this.update();
  }

  setLimits(limits: GridLimits | null): void {
    this.limits = limits;
    this.update();
  }

  /** How long one run takes here (recent runs of the template), for the estimate. */
  setPerRunSeconds(seconds: number | null): void {
    this.perRunSeconds = seconds;
    this.update();
  }

  /** Whether any axis is set: the form then submits a sweep. */
  get active(): boolean {
    return this.axes.length > 0;
  }

  /** Add an axis (as a user would); ``values`` is a list text or [start, stop, step]. */
  addAxis(key?: string, values?: string | [number, number, number]): void {
    const c = this.classPrefix;
    const keySelect = h('select', { class: `jp-mod-styled ${c}-axisKey`, attrs: { 'aria-label': 'Grid key' } });
    const used = new Set(this.axes.map(a => a.key.value));
    this.fillKeys(keySelect, key ?? this.keys.find(k => !used.has(k.id))?.id ?? this.keys[0]?.id ?? '');
    const mode = h(
      'select',
      { class: `jp-mod-styled ${c}-axisMode`, attrs: { 'aria-label': 'Values as' } },
      h('option', { text: 'values', attrs: { value: 'list' } }),
      h('option', { text: 'start/stop/step', attrs: { value: 'range' } })
    );
    const input = (label: string, placeholder: string) =>
      h('input', { class: `jp-mod-styled ${c}-axisInput`, title: label, attrs: { type: 'text', 'aria-label': label, placeholder, spellcheck: 'false' } });
    const list = input('Values', 'comma-separated, e.g. 1, 2, 3');
    const start = input('Start', 'start');
    const stop = input('Stop', 'stop');
    const step = input('Step', 'step');
    const remove = h('button', { class: `jp-mod-styled ${c}-removeAxis`, text: '×', title: 'Remove this axis', attrs: { type: 'button', 'aria-label': 'Remove this axis' } });
    const row = h('div', { class: `${c}-axis` }, keySelect, mode, list, start, stop, step, remove);
    const axis: AxisView = { row, key: keySelect, mode, list, start, stop, step };
    if (Array.isArray(values)) {
      mode.value = 'range';
      [start.value, stop.value, step.value] = values.map(String);
    } else if (values !== undefined) {
      list.value = values;
    }
    remove.addEventListener('click', () => this.removeAxis(axis));
    row.addEventListener('input', () => this.update());
    row.addEventListener('change', () => this.update());
    this.axes.push(axis);
    this.axesEl.append(row);
    this.update();
  }

  private removeAxis(axis: AxisView): void {
    this.axes = this.axes.filter(a => a !== axis);
    axis.row.remove();
    this.update();
  }

  private fillKeys(select: HTMLSelectElement, value: string): void {
    select.replaceChildren(...this.keys.map(k => h('option', { text: k.id, attrs: { value: k.id } })));
    select.value = value;
  }

  /** The grid as typed, checked, and against the server's limit. */
  state(): GridState {
    const grid: Record<string, unknown[]> = {};
    const errors: string[] = [];
    const counts: number[] = [];
    const cap = (this.limits?.maxRuns ?? 10_000) + 1;
    for (const axis of this.axes) {
      const id = axis.key.value;
      const type = this.keys.find(k => k.id === id)?.type ?? 'str';
      if (id in grid) {
        errors.push(`${id}: already an axis`);
        continue;
      }
      if (axis.mode.value === 'range') {
        const [a, b, s] = [axis.start, axis.stop, axis.step].map(i => Number(i.value.trim() || NaN));
        const n = rangeCount(a, b, s);
        if (!n) {
          errors.push(`${id}: start, stop and step must be numbers with step > 0 and stop ≥ start`);
          continue;
        }
        counts.push(n);
        // Never more values than the limit allows (a huge range costs a count, not memory).
        grid[id] = rangeValues(a, b, s, cap).map(v => (type === 'int' ? Math.round(v) : v));
      } else {
        const parsed = parseList(axis.list.value, type);
        if (parsed.error) {
          errors.push(`${id}: ${parsed.error}`);
          continue;
        }
        counts.push(parsed.values.length);
        grid[id] = parsed.values;
      }
    }
    const runs = counts.length ? counts.reduce((n, k) => n * k, 1) : 0;
    let overLimit: string | null = null;
    if (this.limits && runs > this.limits.maxRuns) {
      overLimit = `${runs} runs is over the server's limit of ${this.limits.maxRuns} a sweep`;
    }
    return { grid, runs: errors.length ? 0 : runs || gridSize(grid), errors, overLimit };
  }

  /** Whether the grid can be submitted (or there is none). */
  get ok(): boolean {
    const s = this.state();
    return !this.active || (!s.errors.length && !s.overLimit && s.runs > 0);
  }

  private update(notify = true): void {
    const s = this.state();
    const c = this.classPrefix;
    let text = '';
    let error = false;
    if (!this.active) {
      text = 'No grid: one run.';
    } else if (s.errors.length) {
      text = s.errors.join('; ');
      error = true;
    } else if (s.overLimit) {
      text = `${s.overLimit}: narrow the grid.`;
      error = true;
    } else {
      text = `${s.runs} run${s.runs === 1 ? '' : 's'} · ${this.estimate(s.runs)}`;
    }
    setText(this.summaryEl, text);
    this.summaryEl.classList.toggle('jp-mod-error', error);
    this.summaryEl.dataset.runs = String(s.runs);
    this.node.classList.toggle(`${c}-gridActive`, this.active);
    if (notify) {
      this.onChange();
    }
  }

  private estimate(runs: number): string {
    if (this.perRunSeconds === null) {
      return 'duration unknown until a run of this template has finished here';
    }
    const parallel = Math.max(1, this.limits?.maxConcurrentRuns ?? 1);
    return `about ${formatEstimate(Math.ceil(runs / parallel) * this.perRunSeconds)} (${parallel} at a time)`;
  }
}

function formatEstimate(seconds: number): string {
  if (seconds < 90) {
    return `${Math.max(1, Math.round(seconds))} s`;
  }
  if (seconds < 90 * 60) {
    return `${Math.round(seconds / 60)} min`;
  }
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The median duration of the template's last finished runs here (null: none yet). */
export async function typicalRunSeconds(api: Pick<FusionApi, 'listRuns'>, template: string): Promise<number | null> {
  const page = await api.listRuns({ template, status: 'COMPLETED' }, { limit: 20 });
  const seconds = page.runs
    .map(run => {
      const start = parseTime(run.started_at);
      const end = parseTime(run.completed_at);
      return start !== null && end !== null ? (end - start) / 1000 : null;
    })
    .filter((s): s is number => s !== null && s >= 0)
    .sort((a, b) => a - b);
  return seconds.length ? seconds[Math.floor(seconds.length / 2)] : null;
}
