import { downloadIcon, searchIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { FusionApiError } from '../common/api';
import { displayName } from '../common/format';
import type { LogData, Subscription } from '../common/stream';
import { isActive } from '../common/types';
import type { FusionConnection } from './connection';
import { appendMarked, lineLevel } from '../widgets/parts/logbuffer';
import { frameCoalesced, h, iconButton, saveBlob, setText, textButton } from './dom';

const LINE_HEIGHT = 18;
const OVERSCAN = 20;
const EARLIER_BYTES = 1 << 20;

/**
 * A run's log in a main-area tab: the last lines at once, earlier ones on demand,
 * then live through the stream (logs channel, resumed from the byte offset it has).
 * Searchable (matches highlighted, next/previous), follows the end unless scrolled
 * up, ERROR / WARNING lines coloured. Lines are virtualized: only what is on screen
 * is in the DOM, so a long log costs memory for its text only.
 */
export class LogView extends Widget {
  private lines: string[] = [];
  /** Text after the last newline, waiting for the rest of its line. */
  private partial = '';
  /** Byte offset of the first loaded byte, and of the next expected one. */
  private startOffset = 0;
  private nextOffset = 0;
  private sub: Subscription | null = null;
  private follow = true;
  private query = '';
  private matches: number[] = [];
  private current = -1;
  private pendingScrollToEnd = false;
  private readonly renderNextFrame = frameCoalesced(() => this.render());
  private disconnectStore: (() => void) | null = null;

  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly searchInput: HTMLInputElement;
  private readonly countEl: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly earlierEl: HTMLElement;
  private readonly followBox: HTMLInputElement;

  constructor(
    private readonly conn: FusionConnection,
    readonly runId: string,
    private readonly tailLines: number
  ) {
    super();
    this.addClass('jp-FusionLog');
    this.id = `fusion-log-${runId}`;
    this.title.closable = true;
    this.updateTitle();

    this.searchInput = h('input', {
      class: 'jp-FusionLog-search jp-mod-styled',
      attrs: { type: 'search', placeholder: 'Search the log', 'aria-label': 'Search the log' }
    });
    this.countEl = h('span', { class: 'jp-FusionLog-count' });
    this.statusEl = h('span', { class: 'jp-FusionLog-status' });
    this.followBox = h('input', { attrs: { type: 'checkbox', 'aria-label': 'Follow the end of the log' } });
    this.followBox.checked = true;
    const toolbar = h(
      'div',
      { class: 'jp-FusionLog-toolbar' },
      searchIcon.element({ tag: 'span', className: 'jp-FusionLog-searchIcon' }),
      this.searchInput,
      textButton('↑', 'prev', 'jp-FusionLog-prev', 'Previous match (Shift+Enter)'),
      textButton('↓', 'next', 'jp-FusionLog-next', 'Next match (Enter)'),
      this.countEl,
      h('span', { class: 'jp-FusionRuns-spacer' }),
      h('label', { class: 'jp-FusionLog-follow' }, this.followBox, ' Follow'),
      iconButton(downloadIcon, 'Download the whole log', 'download'),
      this.statusEl
    );
    this.earlierEl = h('div', { class: 'jp-FusionLog-earlier' });
    this.earlierEl.hidden = true;
    this.spacer = h('div', { class: 'jp-FusionLog-spacer' });
    this.body = h('div', { class: 'jp-FusionLog-lines' });
    this.scroller = h('div', { class: 'jp-FusionLog-scroller', attrs: { tabindex: '0' } }, this.earlierEl, this.spacer, this.body);
    this.node.append(toolbar, this.scroller);

    toolbar.addEventListener('click', this.onToolbarClick);
    this.earlierEl.addEventListener('click', () => void this.loadEarlier());
    this.searchInput.addEventListener('input', () => this.setQuery(this.searchInput.value));
    this.searchInput.addEventListener('keydown', e => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.step(e.shiftKey ? -1 : 1);
      }
    });
    this.followBox.addEventListener('change', () => {
      this.follow = this.followBox.checked;
      if (this.follow) {
        this.scrollToEnd();
      }
    });
    this.scroller.addEventListener('scroll', this.onScroll, { passive: true });
    this.disconnectStore = conn.store.changed.connect(change => {
      if (change.ids.has(runId)) {
        this.updateTitle();
      }
    });
    void this.start();
  }

  /** Every line loaded so far (tests, search). */
  get text(): string {
    return this.lines.join('\n') + (this.partial ? '\n' + this.partial : '');
  }

  get lineCount(): number {
    return this.lines.length + (this.partial ? 1 : 0);
  }

  /** Search (case-insensitive); highlights matches and jumps to the first. */
  setQuery(query: string): void {
    this.query = query;
    if (this.searchInput.value !== query) {
      this.searchInput.value = query;
    }
    this.recomputeMatches();
    this.current = this.matches.length ? 0 : -1;
    if (this.current >= 0) {
      this.follow = false;
      this.followBox.checked = false;
      this.scrollToLine(this.matches[0]);
    }
    this.updateCount();
    this.queueRender();
  }

  step(delta: number): void {
    if (!this.matches.length) {
      return;
    }
    this.current = (this.current + delta + this.matches.length) % this.matches.length;
    this.follow = false;
    this.followBox.checked = false;
    this.scrollToLine(this.matches[this.current]);
    this.updateCount();
    this.queueRender();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.sub?.close();
    this.sub = null;
    this.disconnectStore?.();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.queueRender();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.queueRender();
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.scroller.focus();
  }

  // ------------------------------------------------------------------ data

  private async start(): Promise<void> {
    setText(this.statusEl, 'Loading…');
    try {
      const chunk = await this.conn.api.logTail(this.runId, this.tailLines);
      if (this.isDisposed) {
        return;
      }
      this.startOffset = chunk.offset;
      this.nextOffset = chunk.offset;
      this.append({ offset: chunk.offset, nextOffset: chunk.next_offset, data: chunk.data });
      this.showEarlier();
      setText(this.statusEl, '');
    } catch (err) {
      if (this.isDisposed) {
        return;
      }
      const notYet = err instanceof FusionApiError && err.status === 404 && this.conn.store.get(this.runId);
      if (!notYet) {
        setText(this.statusEl, err instanceof Error ? err.message : String(err));
      }
    }
    // Live from where the tail ended (or from 0 when nothing was there yet).
    this.sub = this.conn.stream.subscribe(
      this.runId,
      { log: chunk => this.append(chunk) },
      { channels: ['logs'], logOffset: this.nextOffset }
    );
  }

  private append(chunk: LogData): void {
    if (chunk.nextOffset <= this.nextOffset && chunk.offset < this.nextOffset) {
      return;
    }
    this.nextOffset = chunk.nextOffset;
    const text = this.partial + chunk.data;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    const firstNew = this.lines.length;
    for (const line of parts) {
      this.lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (this.query) {
      const q = this.query.toLowerCase();
      for (let i = firstNew; i < this.lines.length; i++) {
        if (this.lines[i].toLowerCase().includes(q)) {
          this.matches.push(i);
        }
      }
      this.updateCount();
    }
    this.queueRender(this.follow);
  }

  private showEarlier(): void {
    this.earlierEl.hidden = this.startOffset <= 0;
    setText(this.earlierEl, `Earlier output (${this.startOffset.toLocaleString()} bytes) not loaded — click to load more`);
  }

  private async loadEarlier(): Promise<void> {
    if (this.startOffset <= 0) {
      return;
    }
    const from = Math.max(0, this.startOffset - EARLIER_BYTES);
    const chunk = await this.conn.api.logs(this.runId, { offset: from, limit: this.startOffset - from });
    let earlier = chunk.data.split('\n');
    if (from > 0) {
      earlier = earlier.slice(1); // probably cut mid-line: start at the next full line
      this.startOffset = from + new TextEncoder().encode(chunk.data.split('\n')[0] + '\n').length;
    } else {
      this.startOffset = 0;
    }
    // The last element is the (partial) line the loaded text already starts with.
    const tail = earlier.pop() ?? '';
    if (tail && this.lines.length) {
      this.lines[0] = tail + this.lines[0];
    }
    const before = this.scroller.scrollTop;
    this.lines = [...earlier, ...this.lines];
    this.recomputeMatches();
    this.updateCount();
    this.showEarlier();
    this.scroller.scrollTop = before + earlier.length * LINE_HEIGHT;
    this.queueRender();
  }

  private recomputeMatches(): void {
    this.matches = [];
    const q = this.query.toLowerCase();
    if (!q) {
      return;
    }
    for (let i = 0; i < this.lines.length; i++) {
      if (this.lines[i].toLowerCase().includes(q)) {
        this.matches.push(i);
      }
    }
    if (this.partial.toLowerCase().includes(q)) {
      this.matches.push(this.lines.length);
    }
  }

  private updateCount(): void {
    setText(
      this.countEl,
      this.query ? (this.matches.length ? `${this.current + 1} of ${this.matches.length}` : 'no match') : ''
    );
  }

  private updateTitle(): void {
    const run = this.conn.store.get(this.runId);
    const name = run ? displayName(run) : this.runId;
    this.title.label = `Log: ${name}`;
    this.title.caption = `Log of FUSION run ${this.runId}${run ? ` (${run.status})` : ''}`;
    this.node.dataset.status = run?.status ?? '';
    this.node.classList.toggle('jp-mod-active', !!run && isActive(run.status));
  }

  // ------------------------------------------------------------------ view

  private onToolbarClick = (event: MouseEvent): void => {
    const action = (event.target as HTMLElement).closest<HTMLElement>('[data-action]')?.dataset.action;
    if (action === 'prev') {
      this.step(-1);
    } else if (action === 'next') {
      this.step(1);
    } else if (action === 'download') {
      void this.download();
    }
  };

  private async download(): Promise<void> {
    const parts: string[] = [];
    let offset = 0;
    for (;;) {
      const chunk = await this.conn.api.logs(this.runId, { offset, limit: 8 << 20 });
      parts.push(chunk.data);
      if (chunk.next_offset <= offset || chunk.next_offset >= chunk.size) {
        break;
      }
      offset = chunk.next_offset;
    }
    saveBlob(new Blob(parts, { type: 'text/plain' }), `${this.runId}-sim.log`);
  }

  private onScroll = (): void => {
    const atEnd = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - LINE_HEIGHT;
    if (this.follow !== atEnd) {
      this.follow = atEnd;
      this.followBox.checked = atEnd;
    }
    this.queueRender();
  };

  private scrollToLine(index: number): void {
    const top = index * LINE_HEIGHT + this.spacerOffset();
    const view = this.scroller.clientHeight || 400;
    if (top < this.scroller.scrollTop || top > this.scroller.scrollTop + view - 2 * LINE_HEIGHT) {
      this.scroller.scrollTop = Math.max(0, top - view / 3);
    }
  }

  private scrollToEnd(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  private spacerOffset(): number {
    return this.earlierEl.hidden ? 0 : this.earlierEl.offsetHeight;
  }

  private queueRender(toEnd = false): void {
    this.pendingScrollToEnd ||= toEnd;
    this.renderNextFrame();
  }

  private render(): void {
    if (!this.isVisible) {
      return;
    }
    const total = this.lineCount;
    this.spacer.style.height = `${total * LINE_HEIGHT}px`;
    if (this.pendingScrollToEnd && this.follow) {
      this.scrollToEnd();
    }
    this.pendingScrollToEnd = false;
    const offset = this.spacerOffset();
    const top = Math.max(0, this.scroller.scrollTop - offset);
    const view = this.scroller.clientHeight || 600;
    const start = Math.max(0, Math.floor(top / LINE_HEIGHT) - OVERSCAN);
    const end = Math.min(total, Math.ceil((top + view) / LINE_HEIGHT) + OVERSCAN);
    this.body.style.transform = `translateY(${offset + start * LINE_HEIGHT}px)`;
    const q = this.query.toLowerCase();
    const currentLine = this.current >= 0 ? this.matches[this.current] : -1;
    const frag = document.createDocumentFragment();
    for (let i = start; i < end; i++) {
      const text = i < this.lines.length ? this.lines[i] : this.partial;
      const el = document.createElement('div');
      const level = lineLevel(text);
      el.className = 'jp-FusionLog-line' + (level ? ` jp-mod-${level}` : '') + (i === currentLine ? ' jp-mod-current' : '');
      el.dataset.line = String(i + 1);
      if (q && text.toLowerCase().includes(q)) {
        appendMarked(el, text, q);
      } else {
        el.textContent = text || '\u200b';
      }
      frag.append(el);
    }
    this.body.replaceChildren(frag);
  }
}
