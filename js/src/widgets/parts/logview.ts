import { displayName } from '../../common/format';
import type { LogData, Subscription } from '../../common/stream';
import { isActive } from '../../common/types';
import type { Connection } from './connection';
import { appendMarked, LogBuffer, LogSearch, lineLevel } from './logbuffer';
import { RunFeed, type RunRecord } from './runfeed';
import { button, errorText, h, Notice, saveBlob, setText, transportNote } from './ui';
import { VirtualList } from './vlist';

export const LINE_HEIGHT = 17;
/** Bytes read per page of history. */
const PAGE_BYTES = 1 << 20;

export interface LogViewOptions {
  /** Lines of the end shown first (0: read the whole log from the start). */
  tailLines: number;
  /** The run as the kernel last read it. */
  initial?: RunRecord | null;
}

/**
 * LogViewer: a run's log, live. The last lines first, earlier pages when scrolled to
 * the top (never the whole file at once), then live data through the stream. Follow
 * (stick to the end) with pause / resume, search with highlighted matches and
 * next / previous, ERROR / WARNING lines coloured, download of the whole file.
 */
export class LogView {
  readonly node: HTMLElement;
  readonly buffer = new LogBuffer();
  readonly search: LogSearch;
  readonly list: VirtualList;
  private readonly feed: RunFeed;
  private sub: Subscription | null = null;
  private follow = true;
  private loadingEarlier = false;
  private started = false;
  private disposed = false;
  private finishTimer: ReturnType<typeof setTimeout> | undefined;
  /** A next / previous asked for before the search had found anything. */
  private pendingStep: 0 | 1 | -1 = 0;
  private readonly stops: Array<() => void> = [];
  private readonly titleEl = h('span', { class: 'fj-log-title' });
  private readonly infoEl = h('span', { class: 'fj-log-info' });
  private readonly followButton = button('Pause', 'follow', 'Pause / resume following the end of the log');
  private readonly searchInput = h('input', {
    class: 'fj-input fj-log-search',
    attrs: { type: 'search', placeholder: 'Search the log', 'aria-label': 'Search the log' }
  });
  private readonly countEl = h('span', { class: 'fj-log-count' });
  private readonly earlierEl = h('div', { class: 'fj-log-earlier' });
  private readonly notice = new Notice();

  constructor(private readonly connection: Connection, readonly runId: string, private readonly options: LogViewOptions) {
    this.feed = RunFeed.retain(connection, runId, options.initial);
    this.list = new VirtualList(LINE_HEIGHT, (el, i) => this.renderLine(el, i), () => this.onScroll(), 'fj-log-lines');
    this.search = new LogSearch(this.buffer, () => this.onSearchChange());
    const prev = button('↑', 'previous', 'Previous match (Shift+Enter)');
    const next = button('↓', 'next', 'Next match (Enter)');
    const download = button('Download', 'download', 'Download the whole log');
    this.node = h(
      'div',
      { class: 'fj-widget fj-log', attrs: { 'data-run-id': runId } },
      h('div', { class: 'fj-toolbar' }, this.titleEl, h('span', { class: 'fj-spacer' }), this.searchInput, prev, next, this.countEl, this.followButton, download),
      this.earlierEl,
      this.list.node,
      h('div', { class: 'fj-log-foot' }, this.infoEl, transportNote(connection.kind, connection.reason)),
      this.notice.node
    );
    this.notice.clear();
    this.earlierEl.hidden = true;
    let debounce: ReturnType<typeof setTimeout> | undefined;
    this.searchInput.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.search.set(this.searchInput.value), 150);
    });
    this.searchInput.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        clearTimeout(debounce);
        const direction = ev.shiftKey ? -1 : 1;
        if (this.search.query !== this.searchInput.value) {
          // Go to the first match as soon as the search has found one.
          this.pendingStep = direction;
          this.search.set(this.searchInput.value);
        } else if (!this.search.matches.length && this.search.searching) {
          this.pendingStep = direction;
        } else {
          this.goTo(direction);
        }
        ev.preventDefault();
      }
    });
    prev.addEventListener('click', () => this.goTo(-1));
    next.addEventListener('click', () => this.goTo(1));
    this.followButton.addEventListener('click', () => this.setFollow(!this.follow));
    download.addEventListener('click', () => void this.download());
    this.earlierEl.addEventListener('click', () => void this.loadEarlier());
    this.stops.push(this.feed.changed.connect(() => this.onRunChange()));
    void this.start();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.finishTimer);
    this.sub?.close();
    this.stops.forEach(stop => stop());
    this.feed.release();
    this.list.dispose();
    this.node.remove();
  }

  setFollow(on: boolean): void {
    this.follow = on;
    setText(this.followButton, on ? 'Pause' : 'Follow');
    this.followButton.setAttribute('aria-pressed', String(!on));
    this.node.dataset.follow = String(on);
    if (on) {
      this.list.scrollToBottom();
    }
  }

  private async start(): Promise<void> {
    const api = this.connection.api;
    let offset = 0;
    try {
      if (this.options.tailLines > 0) {
        const tail = await api.logTail(this.runId, this.options.tailLines);
        if (this.disposed) {
          return;
        }
        this.buffer.reset(tail.offset, tail.next_offset, tail.data);
        offset = tail.next_offset;
      }
    } catch (err) {
      this.notice.show(`cannot read the log: ${errorText(err)}`);
    }
    this.started = true;
    this.changed(0);
    this.sub = this.connection.stream.subscribe(this.runId, { log: chunk => this.onLog(chunk) }, { channels: ['logs'], logOffset: offset });
  }

  /** Once the run is over, read what is left and stop following. */
  private onRunChange(): void {
    this.drawInfo();
    const run = this.feed.run;
    if (this.sub && run && !isActive(run.status) && this.finishTimer === undefined) {
      this.finishTimer = setTimeout(() => void this.finish(), 2000);
    }
  }

  private async finish(): Promise<void> {
    this.sub?.close();
    this.sub = null;
    try {
      for (;;) {
        const chunk = await this.connection.api.logs(this.runId, { offset: this.buffer.nextOffset });
        if (this.disposed || chunk.next_offset <= this.buffer.nextOffset) {
          break;
        }
        this.changed(this.buffer.append(chunk.offset, chunk.next_offset, chunk.data));
      }
    } catch {
      /* what we have stays */
    }
  }

  private onLog(chunk: LogData): void {
    const added = this.buffer.append(chunk.offset, chunk.nextOffset, chunk.data);
    this.changed(added);
  }

  private changed(added: number): void {
    this.list.setCount(this.buffer.count);
    if (added) {
      this.search.appended();
    }
    if (this.follow) {
      this.list.scrollToBottom();
    }
    this.drawInfo();
  }

  private onScroll(): void {
    // Scrolling up pauses following; Follow resumes it.
    if (this.follow && !this.list.atBottom()) {
      this.setFollow(false);
    }
    if (this.list.firstVisible() < 5 && this.buffer.hasEarlier) {
      void this.loadEarlier();
    }
  }

  /** Read the page before the first loaded byte and put it on top, keeping the view still. */
  async loadEarlier(): Promise<void> {
    if (this.loadingEarlier || !this.buffer.hasEarlier || !this.started) {
      return;
    }
    this.loadingEarlier = true;
    setText(this.earlierEl, 'loading earlier lines…');
    try {
      let size = PAGE_BYTES;
      let added = 0;
      while (this.buffer.hasEarlier && !this.disposed) {
        const start = this.buffer.startOffset;
        const from = Math.max(0, start - size);
        const chunk = await this.connection.api.logs(this.runId, { offset: from, limit: start - from });
        if (this.disposed || this.buffer.startOffset !== start) {
          return;
        }
        added = this.buffer.prepend(chunk.offset, chunk.data);
        if (added || this.buffer.startOffset < start) {
          break;
        }
        size *= 4; // one line longer than the page
      }
      this.search.prepended(added);
      this.list.setCount(this.buffer.count, added);
    } catch (err) {
      this.notice.show(`cannot read earlier lines: ${errorText(err)}`);
    } finally {
      this.loadingEarlier = false;
      this.drawInfo();
    }
  }

  private goTo(direction: 1 | -1): void {
    const line = this.search.step(direction, this.list.firstVisible());
    if (line >= 0) {
      this.setFollow(false);
      this.list.scrollToRow(line);
    }
    this.drawCount();
    this.list.refresh();
  }

  private onSearchChange(): void {
    if (this.pendingStep && this.search.matches.length) {
      const direction = this.pendingStep;
      this.pendingStep = 0;
      this.goTo(direction);
      return;
    }
    this.drawCount();
    this.list.refresh();
  }

  private drawCount(): void {
    const s = this.search;
    if (!s.query) {
      setText(this.countEl, '');
      return;
    }
    const n = s.matches.length;
    const where = s.current >= 0 ? `${s.current + 1}/${n}` : `${n}`;
    setText(this.countEl, `${where} match${n === 1 ? '' : 'es'}${s.searching ? '…' : ''}`);
  }

  private drawInfo(): void {
    const run = this.feed.run;
    setText(this.titleEl, run ? `Log of ${displayName(run)} (${run.status})` : `Log of run ${this.runId}`);
    const lines = this.buffer.count;
    const live = run && isActive(run.status) ? ' · live' : '';
    setText(this.infoEl, `${lines.toLocaleString()} lines${live}`);
    this.earlierEl.hidden = !this.buffer.hasEarlier;
    if (this.buffer.hasEarlier && !this.loadingEarlier) {
      const kib = Math.ceil(this.buffer.startOffset / 1024).toLocaleString();
      setText(this.earlierEl, `${kib} KiB earlier: scroll up or click to load`);
    }
  }

  private renderLine(el: HTMLElement, index: number): void {
    const text = this.buffer.line(index);
    const level = lineLevel(text);
    const search = this.search;
    const hit = search.query !== '' && (search.isMatch(index) || (index >= this.buffer.lines.length && text.toLowerCase().includes(search.query.toLowerCase())));
    const current = hit && search.current >= 0 && search.matches[search.current] === index;
    const className = `fj-vlist-row fj-log-line${level ? ` fj-log-${level}` : ''}${current ? ' fj-log-current' : ''}`;
    if (el.className !== className) {
      el.className = className;
    }
    el.dataset.line = String(index);
    if (!hit) {
      if (el.childElementCount || el.textContent !== text) {
        el.textContent = text;
      }
      return;
    }
    el.replaceChildren();
    appendMarked(el, text, search.query, 'fj-log-mark');
  }

  private async download(): Promise<void> {
    try {
      const response = await this.connection.api.artifact(this.runId, 'logs/sim.log', { download: true });
      saveBlob(await response.blob(), `${this.runId}-sim.log`);
    } catch (err) {
      this.notice.show(`cannot download the log: ${errorText(err)}`);
    }
  }
}
