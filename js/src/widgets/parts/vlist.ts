import { h } from './ui';

/** Browsers cap an element's height (Chrome ~33 M px, Firefox ~17 M px): stay well below. */
const MAX_SPACER_PX = 8_000_000;

/**
 * A virtualized list of fixed-height rows: only the rows on screen (plus a few) exist
 * in the DOM, whatever the count, so a million rows cost what forty do. Past
 * MAX_SPACER_PX of content the scrollbar maps proportionally onto the rows.
 */
export class VirtualList {
  readonly node: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rows: HTMLElement;
  private readonly pool: HTMLElement[] = [];
  private count = 0;
  private first = 0;
  /**
   * scrollTop as last set or seen in a scroll event: reading the element's own after
   * the rows were written would force a layout of the whole page every frame.
   */
  private top = 0;
  private frame = 0;
  private viewHeight = 0;
  private readonly resize: ResizeObserver | null;

  constructor(
    private readonly rowHeight: number,
    private readonly renderRow: (el: HTMLElement, index: number) => void,
    private readonly onScroll: () => void = () => undefined,
    className = ''
  ) {
    this.spacer = h('div', { class: 'fj-vlist-spacer' });
    this.rows = h('div', { class: 'fj-vlist-rows' });
    this.node = h('div', { class: `fj-vlist ${className}`.trim(), attrs: { tabindex: '0' } }, this.spacer, this.rows);
    this.node.addEventListener('scroll', () => {
      this.top = this.node.scrollTop; // read here, while layout is clean
      this.schedule();
      this.onScroll();
    }, { passive: true });
    this.resize = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => {
      this.viewHeight = this.node.clientHeight;
      this.schedule();
    });
    this.resize?.observe(this.node);
  }

  get size(): number {
    return this.count;
  }

  private get scaled(): boolean {
    return this.count * this.rowHeight > MAX_SPACER_PX;
  }

  private get height(): number {
    return this.viewHeight || this.node.clientHeight || 300;
  }

  /** Change the number of rows; ``shiftTop`` rows were inserted above (keep the view still). */
  setCount(count: number, shiftTop = 0): void {
    const top = this.firstVisible();
    this.count = count;
    const height = `${Math.min(count * this.rowHeight, MAX_SPACER_PX)}px`;
    if (this.spacer.style.height !== height) {
      this.spacer.style.height = height;
    }
    const max = Math.max(0, Math.min(count * this.rowHeight, MAX_SPACER_PX) - this.height);
    if (this.top > max) {
      this.top = max; // the browser clamps scrollTop when the content shrinks
    }
    if (shiftTop) {
      this.scrollToRow(top + shiftTop, 'start');
    }
    this.schedule();
  }

  /** The index of the first row on screen (fractional rows rounded down). */
  firstVisible(): number {
    return Math.floor(this.firstFraction());
  }

  visibleRows(): number {
    return Math.ceil(this.height / this.rowHeight);
  }

  atBottom(): boolean {
    return this.top + this.height >= Math.min(this.count * this.rowHeight, MAX_SPACER_PX) - 2;
  }

  atTop(): boolean {
    return this.top <= 2;
  }

  scrollToBottom(): void {
    this.setScrollTop(Math.min(this.count * this.rowHeight, MAX_SPACER_PX) - this.height);
  }

  private setScrollTop(value: number): void {
    const max = Math.max(0, Math.min(this.count * this.rowHeight, MAX_SPACER_PX) - this.height);
    this.top = Math.max(0, Math.min(max, value));
    this.node.scrollTop = this.top;
    this.schedule();
  }

  scrollToRow(index: number, align: 'start' | 'center' = 'center'): void {
    const rows = this.visibleRows();
    const target = Math.max(0, align === 'center' ? index - Math.floor(rows / 2) : index);
    if (!this.scaled) {
      this.setScrollTop(target * this.rowHeight);
    } else {
      const maxScroll = MAX_SPACER_PX - this.height;
      const span = Math.max(1, this.count - rows);
      this.setScrollTop((Math.min(target, span) / span) * maxScroll);
    }
  }

  /** Redraw the visible rows (their content changed). */
  refresh(): void {
    this.schedule();
  }

  /** Draw now (tests and benchmarks call it to measure the work of a frame). */
  renderNow(): void {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    this.render();
  }

  dispose(): void {
    this.resize?.disconnect();
    if (this.frame) {
      cancelAnimationFrame(this.frame);
    }
  }

  private firstFraction(): number {
    const scrollTop = this.top;
    if (!this.scaled) {
      return scrollTop / this.rowHeight;
    }
    const maxScroll = MAX_SPACER_PX - this.height;
    const span = Math.max(0, this.count - this.visibleRows());
    return maxScroll > 0 ? (scrollTop / maxScroll) * span : 0;
  }

  private schedule(): void {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  private render(): void {
    const fraction = this.firstFraction();
    const first = Math.max(0, Math.min(Math.floor(fraction), Math.max(0, this.count - 1)));
    const wanted = Math.min(this.visibleRows() + 2, Math.max(0, this.count - first));
    while (this.pool.length < wanted) {
      const row = h('div', { class: 'fj-vlist-row' });
      row.style.height = `${this.rowHeight}px`;
      this.pool.push(row);
      this.rows.append(row);
    }
    for (let i = 0; i < this.pool.length; i++) {
      const row = this.pool[i];
      if (i < wanted) {
        row.hidden = false;
        this.renderRow(row, first + i);
      } else {
        row.hidden = true;
      }
    }
    const top = this.scaled ? this.top - (fraction - first) * this.rowHeight : first * this.rowHeight;
    const transform = `translateY(${top}px)`;
    if (this.rows.style.transform !== transform) {
      this.rows.style.transform = transform;
    }
    this.first = first;
  }

  get firstRendered(): number {
    return this.first;
  }
}
