/**
 * A small SVG chart of blocking probability against traffic load (Erlang): lines with
 * markers, confidence intervals as error bars or shaded bands, a hollow marker for a
 * load still in progress, several series with a legend, a linear or log y axis, and
 * the chart as a standalone SVG file (legend included). Plain SVG, redrawn whole.
 */

export interface Point {
  x: number;
  y: number;
  lo?: number | null;
  hi?: number | null;
}

export interface Series {
  id: string;
  label: string;
  points: Point[];
  /** The load in progress (mean of its iterations so far). */
  pending?: Point | null;
}

/** The points of a results table (``GET runs/{id}/results``): load, mean blocking, CI. */
export function resultPoints(rows: Array<Record<string, unknown>>): Point[] {
  return rows
    .filter(r => r.blocking_mean !== null && r.blocking_mean !== undefined)
    .map(r => ({ x: Number(r.erlang), y: Number(r.blocking_mean), lo: r.ci_lower as number | null, hi: r.ci_upper as number | null }))
    .filter(p => Number.isFinite(p.x) && Number.isFinite(p.y));
}

/** Distinct colours for up to 20 series (then they repeat). */
export const SERIES_COLOURS = [
  '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f',
  '#aec7e8', '#ff9896', '#98df8a', '#ffbb78', '#c5b0d5', '#c49c94', '#f7b6d2', '#9edae5', '#dbdb8d', '#393b79'
];

export function seriesColour(index: number): string {
  return SERIES_COLOURS[index % SERIES_COLOURS.length];
}

export interface ChartOptions {
  /** The drawing's size in SVG units (it scales to its box). */
  width?: number;
  height?: number;
  /** Confidence intervals as shaded bands (else error bars). */
  bands?: boolean;
}

/** y scale: log or linear, or 'auto' (log when the values span a wide range). */
export type YScale = 'auto' | 'log' | 'linear';

const SVG = 'http://www.w3.org/2000/svg';
const M = { left: 58, right: 12, top: 12, bottom: 34 };
/** Styles of an exported chart (the page's CSS does not travel with the file). */
const EXPORT_STYLE =
  'text{font-family:sans-serif;font-size:10px;fill:#444}.fj-chart-label{font-size:11px}' +
  '.fj-chart-axes line{stroke:#777;stroke-width:1}.fj-chart-axes .fj-chart-grid{stroke:#ddd;stroke-dasharray:2 3}' +
  '.fj-chart-legend-text{font-size:11px;fill:#222}';

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    node.setAttribute(k, String(v));
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

interface Scale {
  (v: number): number;
  ticks: number[];
  format(v: number): string;
}

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

function linear(min: number, max: number, from: number, to: number, count = 5): Scale {
  if (max <= min) {
    max = min + 1;
  }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const f = ((v: number) => from + ((v - lo) / (hi - lo)) * (to - from)) as Scale;
  f.ticks = [];
  for (let t = lo; t <= hi + step / 2; t += step) {
    f.ticks.push(Number(t.toPrecision(12)));
  }
  f.format = v => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(0) : String(Number(v.toPrecision(3))));
  return f;
}

function logScale(min: number, max: number, from: number, to: number): Scale {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  const f = ((v: number) => from + ((Math.log10(Math.max(v, Math.pow(10, lo))) - lo) / (hi - lo)) * (to - from)) as Scale;
  f.ticks = [];
  for (let e = lo; e <= hi; e++) {
    f.ticks.push(Math.pow(10, e));
  }
  f.format = v => `1e${Math.round(Math.log10(v))}`;
  return f;
}

/** Log scale when every value is positive and they span more than a factor of 20. */
export function wantsLog(values: number[]): boolean {
  if (!values.length || values.some(v => v <= 0)) {
    return false;
  }
  return Math.max(...values) / Math.min(...values) > 20;
}

/**
 * The x scale of the loads: their range, or for one load (one point, or every curve at
 * the same load) that load alone as the only tick, in the middle, with a little room
 * either side (not a made-up range of loads around it).
 */
export function loadScale(xs: number[], from: number, to: number): Scale {
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  if (xMax > xMin) {
    return linear(xMin, xMax, from, to, 6);
  }
  const pad = Math.max(Math.abs(xMin) * 0.05, 0.5);
  const f = ((v: number) => from + ((v - (xMin - pad)) / (2 * pad)) * (to - from)) as Scale;
  f.ticks = [xMin];
  f.format = v => String(Number(v.toPrecision(6)));
  return f;
}

export class BlockingChart {
  readonly node: HTMLElement;
  readonly svg: SVGSVGElement;
  private readonly legend: HTMLElement;
  private readonly W: number;
  private readonly H: number;
  private readonly bands: boolean;
  private yScale: YScale = 'auto';
  private lastKey = '';
  private series: Series[] = [];
  /** Whether the y axis drawn last is logarithmic. */
  logDrawn = false;

  constructor(private readonly title = 'Blocking probability', options: ChartOptions = {}) {
    this.W = options.width ?? 480;
    this.H = options.height ?? 220;
    this.bands = options.bands ?? false;
    this.node = document.createElement('div');
    this.node.className = 'fj-chart';
    this.svg = el('svg', { viewBox: `0 0 ${this.W} ${this.H}`, role: 'img', 'aria-label': title });
    this.legend = document.createElement('div');
    this.legend.className = 'fj-chart-legend';
    this.node.append(this.svg, this.legend);
  }

  /** Choose the y scale (redraws). */
  setYScale(scale: YScale): void {
    if (scale !== this.yScale) {
      this.yScale = scale;
      this.lastKey = '';
      this.update(this.series);
    }
  }

  /** Redraw (skipped when nothing changed). */
  update(series: Series[]): void {
    const key = JSON.stringify(series);
    if (key === this.lastKey) {
      return;
    }
    this.lastKey = key;
    this.series = series;
    const { W, H } = this;
    this.svg.replaceChildren();
    const all = series.flatMap(s => [...s.points, ...(s.pending ? [s.pending] : [])]);
    if (!all.length) {
      this.svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'fj-chart-empty' }, 'no results yet'));
      this.legend.replaceChildren();
      this.logDrawn = false;
      return;
    }
    const x = loadScale(all.map(p => p.x), M.left, W - M.right);
    const ys = all.flatMap(p => [p.y, p.lo ?? p.y, p.hi ?? p.y]).filter(v => Number.isFinite(v));
    const positive = ys.filter(v => v > 0);
    const log = this.yScale === 'log' ? positive.length > 0 : this.yScale === 'auto' && wantsLog(ys);
    const y = log
      ? logScale(Math.min(...positive), Math.max(...positive), H - M.bottom, M.top)
      : linear(0, (Math.max(...ys) || 0.01) * 1.05, H - M.bottom, M.top, 4);
    this.logDrawn = log;
    this.drawAxes(x, y, log);
    series.forEach((s, i) => this.drawSeries(s, seriesColour(i), x, y));
    this.legend.replaceChildren(
      ...(series.length > 1
        ? series.map((s, i) => {
            const item = document.createElement('span');
            item.className = 'fj-chart-key';
            item.style.setProperty('--fj-key', seriesColour(i));
            item.textContent = s.label;
            return item;
          })
        : [])
    );
  }

  /** The chart as a standalone SVG document: white background, legend below, own styles. */
  svgText(): string {
    const { W, H } = this;
    const copy = this.svg.cloneNode(true) as SVGSVGElement;
    const labels = this.series.length > 1 ? this.series.map(s => s.label) : [];
    const rowHeight = 16;
    const height = H + (labels.length ? labels.length * rowHeight + 8 : 0);
    copy.setAttribute('xmlns', SVG);
    copy.setAttribute('viewBox', `0 0 ${W} ${height}`);
    copy.setAttribute('width', String(W * 2));
    copy.setAttribute('height', String(height * 2));
    copy.prepend(el('rect', { x: 0, y: 0, width: W, height, fill: '#ffffff' }));
    copy.prepend(el('style', {}, EXPORT_STYLE));
    labels.forEach((label, i) => {
      const top = H + 4 + i * rowHeight;
      const key = el('g', { class: 'fj-chart-legend-item' });
      key.append(el('rect', { x: M.left, y: top + 2, width: 10, height: 10, fill: seriesColour(i) }));
      key.append(el('text', { x: M.left + 16, y: top + 11, class: 'fj-chart-legend-text' }, label));
      copy.append(key);
    });
    return new XMLSerializer().serializeToString(copy);
  }

  private drawAxes(x: Scale, y: Scale, log: boolean): void {
    const { W, H } = this;
    const g = el('g', { class: 'fj-chart-axes' });
    g.append(el('line', { x1: M.left, y1: H - M.bottom, x2: W - M.right, y2: H - M.bottom }));
    g.append(el('line', { x1: M.left, y1: M.top, x2: M.left, y2: H - M.bottom }));
    for (const t of x.ticks) {
      const px = x(t);
      if (px < M.left - 1 || px > W - M.right + 1) {
        continue;
      }
      g.append(el('line', { x1: px, y1: H - M.bottom, x2: px, y2: H - M.bottom + 4 }));
      g.append(el('text', { x: px, y: H - M.bottom + 15, 'text-anchor': 'middle' }, x.format(t)));
    }
    for (const t of y.ticks) {
      const py = y(t);
      g.append(el('line', { x1: M.left - 4, y1: py, x2: W - M.right, y2: py, class: 'fj-chart-grid' }));
      g.append(el('text', { x: M.left - 6, y: py + 4, 'text-anchor': 'end' }, y.format(t)));
    }
    g.append(el('text', { x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle', class: 'fj-chart-label' }, 'traffic load (Erlang)'));
    g.append(
      el(
        'text',
        { x: 12, y: (M.top + H - M.bottom) / 2, 'text-anchor': 'middle', class: 'fj-chart-label', transform: `rotate(-90 12 ${(M.top + H - M.bottom) / 2})` },
        log ? `${this.title} (log)` : this.title
      )
    );
    this.svg.append(g);
  }

  private drawSeries(s: Series, colour: string, x: Scale, y: Scale): void {
    const g = el('g', { class: 'fj-chart-series', 'data-series': s.id, stroke: colour, fill: colour });
    const banded = this.bands ? s.points.filter(hasInterval) : [];
    if (banded.length > 1) {
      const edge = [...banded.map(p => `${x(p.x)},${y(p.hi!)}`), ...banded.reverse().map(p => `${x(p.x)},${y(p.lo!)}`)];
      g.append(el('polygon', { points: edge.join(' '), stroke: 'none', 'fill-opacity': 0.18, class: 'fj-chart-band' }));
    }
    if (s.points.length > 1) {
      g.append(el('polyline', { points: s.points.map(p => `${x(p.x)},${y(p.y)}`).join(' '), fill: 'none', 'stroke-width': 1.5 }));
    }
    for (const p of s.points) {
      if (banded.length <= 1 && hasInterval(p)) {
        const px = x(p.x);
        g.append(el('line', { x1: px, y1: y(p.lo), x2: px, y2: y(p.hi), 'stroke-width': 1 }));
        g.append(el('line', { x1: px - 3, y1: y(p.lo), x2: px + 3, y2: y(p.lo), 'stroke-width': 1 }));
        g.append(el('line', { x1: px - 3, y1: y(p.hi), x2: px + 3, y2: y(p.hi), 'stroke-width': 1 }));
      }
      const dot = el('circle', { cx: x(p.x), cy: y(p.y), r: 3, class: 'fj-chart-point' });
      dot.append(el('title', {}, `${p.x} Erlang: ${p.y.toPrecision(4)}`));
      g.append(dot);
    }
    if (s.pending) {
      g.append(el('circle', { cx: x(s.pending.x), cy: y(s.pending.y), r: 3.5, fill: 'none', 'stroke-dasharray': '2 1.5', class: 'fj-chart-pending' }));
    }
    this.svg.append(g);
  }
}

function hasInterval(p: Point): p is Point & { lo: number; hi: number } {
  return p.lo !== null && p.lo !== undefined && p.hi !== null && p.hi !== undefined;
}
