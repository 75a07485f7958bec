import {
  addIcon,
  caretDownIcon,
  caretRightIcon,
  deleteIcon,
  folderIcon,
  listIcon,
  notebookIcon,
  launchIcon,
  refreshIcon,
  runIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { FusionApiError } from '../common/api';
import { displayName, formatAgo, formatDuration, progressLabel } from '../common/format';
import type { StoreChange } from '../common/store';
import { aggregateLabel, aggregateSweep } from '../common/sweeps';
import type { ConnectionChange } from '../common/stream';
import { ACTIVE_STATUSES, isActive, RUN_STATUSES, type Run, type RunStatus } from '../common/types';
import { CommandIDs } from './commands';
import type { FusionConnection } from './connection';
import { frameCoalesced, h, iconButton, setText, textButton } from './dom';
import { runsIcon } from './icons';

export const ROW_HEIGHT = 68;
const OVERSCAN = 8;

interface RowView {
  el: HTMLElement;
  id: string;
  rev: number;
  /** Status and fields last rendered (what is not progress). */
  key: string;
  index: number;
  name: HTMLElement;
  status: HTMLElement;
  ago: HTMLElement;
  fill: HTMLElement;
  pct: HTMLElement;
  reason: HTMLElement;
  meta: HTMLElement;
  cancel: HTMLButtonElement;
  del: HTMLButtonElement;
}

/** A sweep's one row: aggregate progress of its runs, actions on them all. */
interface SweepRowView {
  el: HTMLElement;
  id: string;
  /** Everything it shows, last rendered (it is recomputed from the runs, cheaply). */
  key: string;
  index: number;
  caret: HTMLButtonElement;
  name: HTMLElement;
  size: HTMLElement;
  ago: HTMLElement;
  fill: HTMLElement;
  counts: HTMLElement;
  meta: HTMLElement;
  cancel: HTMLButtonElement;
  rerunFailed: HTMLButtonElement;
  del: HTMLButtonElement;
}

/** One line of the list: a run (``child``: beneath its sweep's row) or a sweep. */
interface Item {
  kind: 'run' | 'sweep';
  id: string;
  child: boolean;
}

/**
 * The left-sidebar panel: every run, newest first, live; a sweep is one collapsible
 * row (its runs' counts, aggregate progress and ETA) with its runs beneath it.
 *
 * Rows are virtualized (only the visible ones plus a margin exist in the DOM, and
 * they are recycled), so opening the panel costs the same with 10 or 10,000 runs.
 * The store notifies once per animation frame with the ids that changed; a progress
 * update touches only that row's bar (and its sweep's row).
 */
export class RunsPanel extends Widget {
  selectedId: string | null = null;
  /** The sweep whose row is selected (its runs' commands take ``selectedId``). */
  selectedSweepId: string | null = null;
  /** Runs picked with Ctrl/Cmd-click, for Compare. */
  readonly picked = new Set<string>();
  private readonly expanded = new Set<string>();
  private statusFilter = '';
  private tagFilter = '';
  private searchText = '';
  private items: Item[] = [];
  private visibleRuns: string[] = [];
  private rows = new Map<string, RowView>();
  private pool: RowView[] = [];
  private sweepRows = new Map<string, SweepRowView>();
  private sweepPool: SweepRowView[] = [];
  private dirty = true;
  private readonly queueRender = frameCoalesced(() => this.render());
  private tickTimer: number | null = null;
  private noticeTimer: number | null = null;
  private readonly disconnect: Array<() => void> = [];

  private readonly listEl: HTMLElement;
  private readonly spacerEl: HTMLElement;
  private readonly emptyEl: HTMLElement;
  private readonly summaryEl: HTMLElement;
  private readonly summaryText: HTMLElement;
  private readonly compareButton: HTMLButtonElement;
  private readonly noticeEl: HTMLElement;
  private readonly connEl: HTMLElement;
  private readonly statusSelect: HTMLSelectElement;
  private readonly tagSelect: HTMLSelectElement;
  private readonly searchInput: HTMLInputElement;
  private readonly errorEl: HTMLElement;

  constructor(
    private readonly conn: FusionConnection,
    private readonly commands: CommandRegistry,
    private maxFinished: number
  ) {
    super();
    this.id = 'fusion-runs-panel';
    this.addClass('jp-FusionRuns');
    this.title.icon = runsIcon;
    this.title.caption = 'FUSION runs';

    this.connEl = h('span', { class: 'jp-FusionRuns-conn', text: 'Connecting…', attrs: { 'data-state': 'connecting' } });
    const header = h(
      'div',
      { class: 'jp-FusionRuns-header' },
      h('h2', { class: 'jp-FusionRuns-title', text: 'FUSION runs' }),
      this.connEl,
      h('span', { class: 'jp-FusionRuns-spacer' }),
      iconButton(addIcon, 'New run', 'new-run', 'jp-FusionRuns-new'),
      iconButton(refreshIcon, 'Reload the run list', 'refresh')
    );

    this.searchInput = h('input', {
      class: 'jp-FusionRuns-search jp-mod-styled',
      attrs: { type: 'search', placeholder: 'Search by name or id', 'aria-label': 'Search runs by name' }
    });
    this.statusSelect = h('select', { class: 'jp-FusionRuns-statusFilter jp-mod-styled', attrs: { 'aria-label': 'Filter by status' } });
    for (const [value, label] of [['', 'Any status'], ['active', 'Active'], ...RUN_STATUSES.map(s => [s, titleCase(s)])]) {
      this.statusSelect.append(h('option', { text: label, attrs: { value } }));
    }
    this.tagSelect = h('select', { class: 'jp-FusionRuns-tagFilter jp-mod-styled', attrs: { 'aria-label': 'Filter by tag' } });
    const filters = h('div', { class: 'jp-FusionRuns-filters' }, this.searchInput, h('div', { class: 'jp-FusionRuns-selects' }, this.statusSelect, this.tagSelect));

    this.summaryText = h('span', { class: 'jp-FusionRuns-summaryText' });
    this.compareButton = textButton('Compare', 'compare', 'jp-FusionRuns-compare', 'Compare the runs picked with Ctrl/Cmd-click');
    this.compareButton.hidden = true;
    this.summaryEl = h('div', { class: 'jp-FusionRuns-summary' }, this.summaryText, this.compareButton);
    this.noticeEl = h('div', { class: 'jp-FusionRuns-notice', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.noticeEl.hidden = true;
    this.errorEl = h('div', { class: 'jp-FusionRuns-error' });
    this.errorEl.hidden = true;
    this.spacerEl = h('div', { class: 'jp-FusionRuns-spacerRows' });
    this.emptyEl = h('div', { class: 'jp-FusionRuns-empty', text: 'Loading runs…' });
    this.listEl = h('div', { class: 'jp-FusionRuns-list', attrs: { role: 'list', tabindex: '0' } }, this.spacerEl);
    this.node.append(header, filters, this.summaryEl, this.noticeEl, this.errorEl, this.emptyEl, this.listEl);

    this.node.addEventListener('click', this.onClick);
    this.listEl.addEventListener('dblclick', this.onDblClick);
    this.listEl.addEventListener('scroll', () => this.queueRender(), { passive: true });
    this.listEl.addEventListener('keydown', this.onKeyDown);
    this.searchInput.addEventListener('input', () => {
      this.searchText = this.searchInput.value;
      this.refilter();
    });
    this.statusSelect.addEventListener('change', () => {
      this.statusFilter = this.statusSelect.value;
      this.refilter();
    });
    this.tagSelect.addEventListener('change', () => {
      this.tagFilter = this.tagSelect.value;
      this.refilter();
    });

    const { store, stream } = conn;
    this.disconnect.push(store.changed.connect(this.onStoreChanged));
    this.disconnect.push(
      store.loadStateChanged.connect(() => {
        this.showLoadState();
        this.queueRender();
      })
    );
    this.disconnect.push(stream.connection.connect(this.onConnection));
    this.onConnection({ state: stream.connectionState });
    this.rebuildTags();
    this.refilter();
  }

  /** Show at most this many finished runs (the setting); reloads if more are wanted. */
  setMaxFinished(n: number): void {
    if (n === this.maxFinished) {
      return;
    }
    const more = n > this.conn.store.maxFinished;
    this.maxFinished = n;
    this.conn.store.maxFinished = Math.max(this.conn.store.maxFinished, n);
    if (more) {
      void this.conn.store.load().catch(() => undefined);
    }
    this.refilter();
  }

  /** Select a run and scroll it into view (its sweep's row is expanded to show it). */
  select(id: string | null, reveal = true): void {
    this.selectedId = id;
    this.selectedSweepId = null;
    const sweepId = id ? this.conn.store.get(id)?.sweep_id : null;
    if (sweepId && reveal && !this.expanded.has(sweepId)) {
      this.expanded.add(sweepId);
      this.refilter();
    }
    this.markSelection();
    if (id && reveal) {
      this.reveal(this.items.findIndex(item => item.kind === 'run' && item.id === id));
    }
  }

  /** Expand or collapse a sweep's row. */
  toggleSweep(id: string, open = !this.expanded.has(id)): void {
    if (open) {
      this.expanded.add(id);
    } else {
      this.expanded.delete(id);
    }
    this.refilter();
  }

  /** Whether a sweep's row shows its runs beneath it. */
  isExpanded(id: string): boolean {
    return this.expanded.has(id);
  }

  /** A short message under the filters (what an action did), gone after a few seconds. */
  notify(text: string, error = false): void {
    setText(this.noticeEl, text);
    this.noticeEl.classList.toggle('jp-mod-error', error);
    this.noticeEl.hidden = false;
    if (this.noticeTimer !== null) {
      window.clearTimeout(this.noticeTimer);
    }
    this.noticeTimer = window.setTimeout(() => {
      this.noticeEl.hidden = true;
      this.noticeTimer = null;
    }, 6000);
  }

  /** Ids of the runs shown with the current filters, in order. */
  get shownRunIds(): readonly string[] {
    return this.visibleRuns;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.disconnect.forEach(d => d());
    if (this.tickTimer !== null) {
      window.clearInterval(this.tickTimer);
    }
    if (this.noticeTimer !== null) {
      window.clearTimeout(this.noticeTimer);
    }
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.queueRender();
    if (this.tickTimer === null) {
      // Relative times ("3 min ago") age; refresh the visible rows' labels now and then.
      this.tickTimer = window.setInterval(() => this.refreshTimes(), 30_000);
    }
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    if (this.tickTimer !== null) {
      window.clearInterval(this.tickTimer);
      this.tickTimer = null;
    }
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.queueRender();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.queueRender();
  }

  // ------------------------------------------------------------------ store events

  private onStoreChanged = (change: StoreChange): void => {
    if (change.structural) {
      this.rebuildTags();
      this.refilter();
      return;
    }
    // Progress or field updates: only the rows on screen need touching.
    const store = this.conn.store;
    const sweeps = new Set<string>();
    for (const id of change.ids) {
      const run = store.get(id);
      if (!run) {
        continue;
      }
      const row = this.rows.get(id);
      if (row) {
        this.updateRow(row, run);
      }
      if (run.sweep_id && this.sweepRows.has(run.sweep_id)) {
        sweeps.add(run.sweep_id);
      }
    }
    for (const id of sweeps) {
      this.updateSweepRow(this.sweepRows.get(id)!);
    }
  };

  private onConnection = (change: ConnectionChange): void => {
    const labels: Record<string, string> = {
      idle: 'Offline',
      connecting: 'Connecting…',
      open: 'Live',
      reconnecting: 'Reconnecting…',
      closed: 'Offline'
    };
    this.connEl.dataset.state = change.state;
    setText(this.connEl, labels[change.state] ?? change.state);
    this.connEl.title =
      change.state === 'open'
        ? 'Live updates from the server'
        : change.state === 'reconnecting' && change.delayMs !== undefined
          ? `Connection lost; retrying in ${Math.round(change.delayMs / 100) / 10} s`
          : '';
  };

  private showLoadState(): void {
    const store = this.conn.store;
    if (store.loadState === 'error') {
      const err = store.loadError;
      const message = err instanceof FusionApiError ? err.message : String(err);
      this.errorEl.replaceChildren(
        h('span', { text: `Cannot list runs: ${message}` }),
        textButton('Retry', 'refresh')
      );
      this.errorEl.hidden = false;
    } else {
      this.errorEl.hidden = true;
    }
    this.updateEmpty();
  }

  private rebuildTags(): void {
    // A sweep's own tag (sweep:<id>) is what its row already groups by.
    const tags = this.conn.store.tags().filter(t => !t.startsWith('sweep:'));
    const current = this.tagSelect.value || this.tagFilter;
    const options = [['', 'Any tag'], ...tags.map(t => [t, `#${t}`])];
    if (this.tagSelect.options.length === options.length && options.every(([v], i) => this.tagSelect.options[i].value === v)) {
      return;
    }
    this.tagSelect.replaceChildren(...options.map(([value, label]) => h('option', { text: label, attrs: { value } })));
    this.tagSelect.value = tags.includes(current) ? current : '';
    this.tagFilter = this.tagSelect.value;
  }

  private refilter(): void {
    let statuses: Set<RunStatus> | null = null;
    if (this.statusFilter === 'active') {
      statuses = new Set<RunStatus>(ACTIVE_STATUSES);
    } else if (this.statusFilter) {
      statuses = new Set<RunStatus>([this.statusFilter as RunStatus]);
    }
    const runs = this.conn.store.query({
      statuses,
      tag: this.tagFilter || null,
      search: this.searchText,
      maxFinished: this.maxFinished
    });
    this.items = groupBySweep(runs, this.expanded);
    this.visibleRuns = runs.map(r => r.id);
    for (const id of [...this.picked]) {
      if (!this.conn.store.get(id)) {
        this.picked.delete(id);
      }
    }
    const counts = this.conn.store.counts();
    const sweeps = this.items.filter(item => item.kind === 'sweep').length;
    const parts = [`${runs.length} shown`];
    if (sweeps) {
      parts.push(`${sweeps} sweep${sweeps > 1 ? 's' : ''}`);
    }
    if (counts.RUNNING) {
      parts.push(`${counts.RUNNING} running`);
    }
    if (counts.PENDING) {
      parts.push(`${counts.PENDING} pending`);
    }
    setText(this.summaryText, parts.join(' · '));
    this.updateCompare();
    this.updateEmpty();
    this.dirty = true;
    this.queueRender();
  }

  private updateEmpty(): void {
    const store = this.conn.store;
    let text = '';
    if (!this.items.length) {
      if (store.loadState === 'loading' && store.size === 0) {
        text = 'Loading runs…';
      } else if (store.size === 0 && store.loadState !== 'error') {
        text = 'No runs yet. Start one with “New run”.';
      } else if (store.size > 0) {
        text = 'No run matches the filters.';
      }
    }
    setText(this.emptyEl, text);
    this.emptyEl.hidden = !text;
  }

  private updateCompare(): void {
    const n = this.picked.size;
    this.compareButton.hidden = n < 2;
    setText(this.compareButton, `Compare ${n} runs`);
  }

  // ------------------------------------------------------------------ rendering

  private reveal(index: number): void {
    if (index < 0) {
      return;
    }
    const top = index * ROW_HEIGHT;
    if (top < this.listEl.scrollTop || top + ROW_HEIGHT > this.listEl.scrollTop + this.listEl.clientHeight) {
      this.listEl.scrollTop = Math.max(0, top - ROW_HEIGHT);
    }
    this.queueRender();
  }

  private render(): void {
    if (!this.isVisible) {
      return;
    }
    // Read the geometry first, then write: no forced synchronous layout.
    const viewTop = this.listEl.scrollTop;
    const viewHeight = this.listEl.clientHeight || 600;
    const n = this.items.length;
    const height = `${n * ROW_HEIGHT}px`;
    if (this.spacerEl.style.height !== height) {
      this.spacerEl.style.height = height;
    }
    const start = Math.max(0, Math.floor(viewTop / ROW_HEIGHT) - OVERSCAN);
    const end = Math.min(n, Math.ceil((viewTop + viewHeight) / ROW_HEIGHT) + OVERSCAN);
    const keepRuns = new Set<string>();
    const keepSweeps = new Set<string>();
    for (let i = start; i < end; i++) {
      const item = this.items[i];
      (item.kind === 'run' ? keepRuns : keepSweeps).add(item.id);
    }
    recycle(this.rows, this.pool, keepRuns);
    recycle(this.sweepRows, this.sweepPool, keepSweeps);
    const store = this.conn.store;
    for (let i = start; i < end; i++) {
      const item = this.items[i];
      if (item.kind === 'sweep') {
        this.renderSweep(item, i);
        continue;
      }
      const run = store.get(item.id);
      if (!run) {
        continue;
      }
      let row = this.rows.get(item.id);
      if (!row) {
        row = this.pool.pop() ?? this.createRow();
        row.id = item.id;
        row.rev = -1;
        row.key = '';
        row.el.hidden = false;
        this.rows.set(item.id, row);
      }
      if (row.index !== i) {
        row.index = i;
        row.el.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
        row.el.setAttribute('aria-posinset', String(i + 1));
      }
      row.el.classList.toggle('jp-mod-child', item.child);
      if (row.rev !== store.rev(item.id) || this.dirty) {
        this.updateRow(row, run);
      }
    }
    this.dirty = false;
    // Marks for benchmarks/sidebar_bench.py: first rows on screen, and the full listing.
    if (!this.marked.first && (this.rows.size || this.sweepRows.size)) {
      this.marked.first = true;
      performance.mark('fusion:rendered-first');
    }
    if (!this.marked.all && (this.rows.size || this.sweepRows.size) && store.loadState === 'ready') {
      this.marked.all = true;
      performance.mark('fusion:rendered-all');
    }
  }

  private renderSweep(item: Item, index: number): void {
    let row = this.sweepRows.get(item.id);
    if (!row) {
      row = this.sweepPool.pop() ?? this.createSweepRow();
      row.id = item.id;
      row.key = '';
      row.el.hidden = false;
      row.el.dataset.sweepId = item.id;
      this.sweepRows.set(item.id, row);
    }
    if (row.index !== index) {
      row.index = index;
      row.el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      row.el.setAttribute('aria-posinset', String(index + 1));
    }
    if (this.dirty || !row.key) {
      this.updateSweepRow(row);
    }
  }

  private marked = { first: false, all: false };

  private createRow(): RowView {
    const name = h('span', { class: 'jp-FusionRun-name', attrs: { 'data-action': 'open', role: 'link', title: 'Open the run' } });
    const status = h('span', { class: 'jp-FusionRun-status' });
    const ago = h('span', { class: 'jp-FusionRun-ago' });
    const fill = h('div', { class: 'jp-FusionRun-fill' });
    const bar = h('div', { class: 'jp-FusionRun-bar', attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' } }, fill);
    const pct = h('span', { class: 'jp-FusionRun-pct' });
    // A failed run's reason takes the bar's line: it is what the row is for.
    const reason = h('span', { class: 'jp-FusionRun-reason' });
    const meta = h('span', { class: 'jp-FusionRun-meta' });
    const cancel = iconButton(stopIcon, 'Cancel run', 'cancel', 'jp-FusionRun-cancel');
    const del = iconButton(deleteIcon, 'Delete run', 'delete', 'jp-FusionRun-delete');
    const actions = h(
      'span',
      { class: 'jp-FusionRun-actions' },
      iconButton(listIcon, 'Open log', 'log', 'jp-FusionRun-log'),
      iconButton(folderIcon, 'Open artifacts', 'artifacts', 'jp-FusionRun-artifacts'),
      iconButton(notebookIcon, 'Insert code into the notebook', 'insert-code', 'jp-FusionRun-insert'),
      iconButton(refreshIcon, 'Rerun (a new run with the same config)', 'rerun', 'jp-FusionRun-rerun'),
      cancel,
      del
    );
    const el = h(
      'div',
      { class: 'jp-FusionRun', attrs: { role: 'listitem' } },
      h('div', { class: 'jp-FusionRun-line1' }, h('span', { class: 'jp-FusionRun-dot' }), name, status, ago),
      h('div', { class: 'jp-FusionRun-line2' }, bar, pct, reason),
      h('div', { class: 'jp-FusionRun-line3' }, meta, actions)
    );
    el.style.height = `${ROW_HEIGHT}px`;
    this.listEl.append(el);
    return { el, id: '', rev: -1, key: '', index: -1, name, status, ago, fill, pct, reason, meta, cancel, del };
  }

  private createSweepRow(): SweepRowView {
    const caret = iconButton(caretRightIcon, 'Show the runs', 'toggle', 'jp-FusionSweep-caret');
    const name = h('span', { class: 'jp-FusionRun-name jp-FusionSweep-name', attrs: { 'data-action': 'open-sweep', role: 'link', title: 'Open the sweep' } });
    const size = h('span', { class: 'jp-FusionRun-status jp-FusionSweep-size' });
    const ago = h('span', { class: 'jp-FusionRun-ago' });
    const fill = h('div', { class: 'jp-FusionRun-fill' });
    const bar = h('div', { class: 'jp-FusionRun-bar', attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' } }, fill);
    const counts = h('span', { class: 'jp-FusionRun-pct jp-FusionSweep-counts' });
    const meta = h('span', { class: 'jp-FusionRun-meta' });
    const cancel = iconButton(stopIcon, 'Cancel every active run of the sweep', 'cancel-sweep', 'jp-FusionSweep-cancel');
    const rerunFailed = iconButton(runIcon, 'Rerun the failed runs of the sweep', 'rerun-failed-sweep', 'jp-FusionSweep-rerunFailed');
    const del = iconButton(deleteIcon, 'Delete the sweep and its runs', 'delete-sweep', 'jp-FusionSweep-delete');
    const actions = h(
      'span',
      { class: 'jp-FusionRun-actions' },
      iconButton(launchIcon, 'Open the sweep', 'open-sweep', 'jp-FusionSweep-open'),
      rerunFailed,
      cancel,
      del
    );
    const el = h(
      'div',
      { class: 'jp-FusionSweep', attrs: { role: 'listitem' } },
      h('div', { class: 'jp-FusionRun-line1' }, caret, name, size, ago),
      h('div', { class: 'jp-FusionRun-line2' }, bar, counts),
      h('div', { class: 'jp-FusionRun-line3' }, meta, actions)
    );
    el.style.height = `${ROW_HEIGHT}px`;
    this.listEl.append(el);
    return { el, id: '', key: '', index: -1, caret, name, size, ago, fill, counts, meta, cancel, rerunFailed, del };
  }

  private updateRow(row: RowView, run: Run): void {
    row.rev = this.conn.store.rev(run.id);
    const el = row.el;
    const changedRun = el.dataset.runId !== run.id;
    if (changedRun) {
      el.dataset.runId = run.id;
    }
    const key = `${run.status}\0${run.name}\0${run.tags.join(',')}\0${run.error ?? ''}\0${el.classList.contains('jp-mod-child')}`;
    if (changedRun || row.key !== key) {
      // What does not depend on progress: only when the run, its status or fields change.
      row.key = key;
      el.dataset.status = run.status;
      el.title = runTooltip(run);
      // Beneath its sweep's row, a run is its grid point ("k_paths=2"): the rest is the sweep's name.
      setText(row.name, el.classList.contains('jp-mod-child') ? gridPoint(run) : displayName(run));
      setText(row.status, run.status);
      setText(row.ago, formatAgo(run.created_at));
      const tags = run.tags.filter(t => !t.startsWith('sweep:'));
      setText(row.meta, [run.template, ...tags.map(t => `#${t}`)].join(' · '));
      const reason = run.status === 'FAILED' ? firstLine(run.error ?? '') || 'failed (no reason recorded)' : '';
      setText(row.reason, reason);
      row.reason.title = run.error ?? '';
      const active = isActive(run.status);
      row.cancel.hidden = !active;
      row.del.hidden = active;
    }
    const selected = run.id === this.selectedId;
    if (el.classList.contains('jp-mod-selected') !== selected) {
      el.classList.toggle('jp-mod-selected', selected);
    }
    const picked = this.picked.has(run.id);
    if (el.classList.contains('jp-mod-picked') !== picked) {
      el.classList.toggle('jp-mod-picked', picked);
    }
    // The bar: a compositor-only transform (no layout), and its value as data/ARIA.
    const pct = Math.max(0, Math.min(100, run.progress.percent || 0));
    const value = String(pct);
    if (el.dataset.percent !== value) {
      el.dataset.percent = value;
      row.fill.style.transform = `scaleX(${pct / 100})`;
      row.fill.parentElement!.setAttribute('aria-valuenow', value);
    }
    setText(row.pct, progressLabel(run));
  }

  private updateSweepRow(row: SweepRowView): void {
    const store = this.conn.store;
    const runs = store.sweepRuns(row.id);
    const agg = aggregateSweep(runs);
    const info = store.sweep(row.id);
    const open = this.expanded.has(row.id);
    const active = agg.running + agg.pending > 0;
    const eta = active && agg.etaSeconds !== null ? ` · ETA ${formatDuration(agg.etaSeconds)}` : '';
    const counts = aggregateLabel(agg) + eta;
    const name = sweepName(row.id, info?.name, info?.template, runs);
    const status = agg.failed ? 'FAILED' : active ? 'RUNNING' : agg.cancelled && !agg.done ? 'CANCELLED' : 'COMPLETED';
    const selected = row.id === this.selectedSweepId;
    const key = [counts, name, open, selected, Math.round(agg.percent * 10)].join('\0');
    if (row.key === key) {
      return;
    }
    row.key = key;
    const el = row.el;
    el.dataset.status = status;
    el.dataset.done = String(agg.done);
    el.dataset.running = String(agg.running);
    el.dataset.pending = String(agg.pending);
    el.dataset.failed = String(agg.failed);
    el.dataset.cancelled = String(agg.cancelled);
    el.setAttribute('aria-expanded', String(open));
    el.classList.toggle('jp-mod-selected', selected);
    row.caret.replaceChildren((open ? caretDownIcon : caretRightIcon).element({ tag: 'span', className: 'jp-FusionButton-icon', elementSize: 'normal' }));
    row.caret.title = open ? 'Hide the runs' : 'Show the runs';
    row.caret.setAttribute('aria-label', row.caret.title);
    setText(row.name, name);
    setText(row.size, `${agg.total} run${agg.total === 1 ? '' : 's'}`);
    setText(row.ago, formatAgo(info?.created_at ?? runs[runs.length - 1]?.created_at));
    setText(row.counts, counts);
    setText(row.meta, gridLabel(info?.grid) || `sweep ${row.id}`);
    el.title = `${name} (sweep ${row.id})\n${counts}`;
    row.fill.style.transform = `scaleX(${agg.percent / 100})`;
    row.fill.parentElement!.setAttribute('aria-valuenow', String(Math.round(agg.percent)));
    row.cancel.hidden = !active;
    row.rerunFailed.hidden = !agg.failed;
    row.del.hidden = active;
  }

  private refreshTimes(): void {
    for (const row of this.rows.values()) {
      const run = this.conn.store.get(row.id);
      if (run) {
        setText(row.ago, formatAgo(run.created_at));
      }
    }
  }

  private markSelection(): void {
    for (const row of this.rows.values()) {
      row.el.classList.toggle('jp-mod-selected', row.id === this.selectedId);
      row.el.classList.toggle('jp-mod-picked', this.picked.has(row.id));
    }
    for (const row of this.sweepRows.values()) {
      row.key = '';
      this.updateSweepRow(row);
    }
  }

  // ------------------------------------------------------------------ interaction

  private run(command: string, args: Record<string, unknown>): void {
    void this.commands.execute(command, args as never).catch(err => console.error(`fusion: ${command} failed`, err));
  }

  private onClick = (event: MouseEvent): void => {
    const target = event.target as HTMLElement;
    const button = target.closest<HTMLElement>('[data-action]');
    const sweepEl = target.closest<HTMLElement>('.jp-FusionSweep');
    if (sweepEl?.dataset.sweepId) {
      this.onSweepClick(sweepEl.dataset.sweepId, button?.dataset.action, event);
      return;
    }
    const rowEl = target.closest<HTMLElement>('.jp-FusionRun');
    const id = rowEl?.dataset.runId;
    if (id && (event.ctrlKey || event.metaKey)) {
      // Ctrl/Cmd-click picks runs to compare, and does nothing else.
      if (!this.picked.delete(id)) {
        this.picked.add(id);
      }
      this.markSelection();
      this.updateCompare();
      return;
    }
    if (id) {
      this.select(id, false);
    }
    if (!button) {
      return;
    }
    event.stopPropagation();
    const action = button.dataset.action;
    if (action === 'compare') {
      this.compare();
      return;
    }
    if (action === 'open' && id) {
      // The run tab when it exists (another plugin registers it), else the log.
      this.run(this.commands.hasCommand(CommandIDs.openRun) ? CommandIDs.openRun : CommandIDs.openLog, { id });
      return;
    }
    const args = id ? { id } : {};
    const commandFor: Record<string, string> = {
      'new-run': CommandIDs.newRun,
      refresh: CommandIDs.refresh,
      cancel: CommandIDs.cancel,
      delete: CommandIDs.delete,
      rerun: CommandIDs.rerun,
      log: CommandIDs.openLog,
      artifacts: CommandIDs.openArtifacts,
      'insert-code': CommandIDs.insertCode
    };
    const command = action ? commandFor[action] : undefined;
    if (command) {
      this.run(command, args);
    }
  };

  private onSweepClick(id: string, action: string | undefined, event: MouseEvent): void {
    event.stopPropagation();
    this.selectedId = null;
    this.selectedSweepId = id;
    this.markSelection();
    const commandFor: Record<string, string> = {
      'cancel-sweep': CommandIDs.cancelSweep,
      'rerun-failed-sweep': CommandIDs.rerunFailedSweep,
      'delete-sweep': CommandIDs.deleteSweep
    };
    if (action === 'toggle' || (action === 'open-sweep' && !this.commands.hasCommand(CommandIDs.openSweep))) {
      this.toggleSweep(id);
    } else if (action === 'open-sweep') {
      this.run(CommandIDs.openSweep, { id });
    } else if (action && commandFor[action]) {
      this.run(commandFor[action], { id });
    }
  }

  /** Open the compare tab on the picked runs (when its plugin is there). */
  compare(): void {
    const ids = [...this.picked];
    if (ids.length < 2) {
      return;
    }
    if (this.commands.hasCommand(CommandIDs.compareRuns)) {
      this.run(CommandIDs.compareRuns, { ids });
    } else {
      this.notify('Comparing runs needs the compare tab, which is not installed.', true);
    }
  }

  private onDblClick = (event: MouseEvent): void => {
    const rowEl = (event.target as HTMLElement).closest<HTMLElement>('.jp-FusionRun');
    if (rowEl?.dataset.runId && !(event.target as HTMLElement).closest('[data-action]')) {
      void this.commands.execute(CommandIDs.openLog, { id: rowEl.dataset.runId });
    }
  };

  private onKeyDown = (event: KeyboardEvent): void => {
    const keys = ['ArrowDown', 'ArrowUp', 'ArrowLeft', 'ArrowRight', 'Enter'];
    if (!keys.includes(event.key)) {
      return;
    }
    event.preventDefault();
    const index = this.items.findIndex(item =>
      item.kind === 'sweep' ? item.id === this.selectedSweepId : item.id === this.selectedId && !this.selectedSweepId
    );
    const current = this.items[index];
    if (current?.kind === 'sweep' && event.key !== 'ArrowDown' && event.key !== 'ArrowUp') {
      this.toggleSweep(current.id, event.key === 'Enter' ? undefined : event.key === 'ArrowRight');
      return;
    }
    if (event.key === 'Enter') {
      if (this.selectedId) {
        void this.commands.execute(CommandIDs.openLog, { id: this.selectedId });
      }
      return;
    }
    if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      return;
    }
    const next = Math.max(0, Math.min(this.items.length - 1, index + (event.key === 'ArrowDown' ? 1 : -1)));
    const item = this.items[next];
    if (!item) {
      return;
    }
    if (item.kind === 'sweep') {
      this.selectedId = null;
      this.selectedSweepId = item.id;
      this.markSelection();
      this.reveal(next);
    } else {
      this.select(item.id);
    }
  };
}

/** Runs in order, a sweep's runs folded into one item where its first run is (and
 *  listed beneath it when it is expanded). */
export function groupBySweep(runs: readonly Run[], expanded: ReadonlySet<string>): Item[] {
  const top: Item[] = [];
  const members = new Map<string, string[]>();
  for (const run of runs) {
    if (!run.sweep_id) {
      top.push({ kind: 'run', id: run.id, child: false });
      continue;
    }
    const list = members.get(run.sweep_id);
    if (list) {
      list.push(run.id);
    } else {
      members.set(run.sweep_id, [run.id]);
      top.push({ kind: 'sweep', id: run.sweep_id, child: false });
    }
  }
  const items: Item[] = [];
  for (const item of top) {
    items.push(item);
    if (item.kind === 'sweep' && expanded.has(item.id)) {
      for (const id of members.get(item.id) ?? []) {
        items.push({ kind: 'run', id, child: true });
      }
    }
  }
  return items;
}

function recycle<R extends { el: HTMLElement; id: string }>(rows: Map<string, R>, pool: R[], keep: ReadonlySet<string>): void {
  for (const [id, row] of rows) {
    if (!keep.has(id)) {
      rows.delete(id);
      row.el.hidden = true;
      delete row.el.dataset.runId;
      delete row.el.dataset.sweepId;
      row.id = '';
      pool.push(row);
    }
  }
}

/** A sweep's name: its own, else its template's, else its runs' without the grid point. */
function sweepName(id: string, name: string | undefined, template: string | undefined, runs: readonly Run[]): string {
  if (name) {
    return name;
  }
  const fromRun = runs[0]?.name.replace(/ \[[^\]]*\]$/, '');
  return fromRun || template || `sweep ${id}`;
}

/** A sweep's run by its grid point, keys without their section ("k_paths=2, erlang_start=300"). */
function gridPoint(run: Run): string {
  const point = /\[([^\]]*)\]$/.exec(run.name)?.[1];
  if (!point) {
    return displayName(run);
  }
  return point
    .split(', ')
    .map(part => part.replace(/^[^=.]*\./, ''))
    .join(', ');
}

/** "k_paths × 3 · erlang_start × 4": the grid's axes and their lengths. */
function gridLabel(grid: Record<string, unknown> | undefined): string {
  if (!grid) {
    return '';
  }
  return Object.entries(grid)
    .map(([key, values]) => `${key.split('.').pop()} × ${Array.isArray(values) ? values.length : 1}`)
    .join(' · ');
}

function titleCase(s: string): string {
  return s.charAt(0) + s.slice(1).toLowerCase();
}

function firstLine(text: string): string {
  const line = text.split('\n').find(l => l.trim()) ?? '';
  return line.length > 200 ? line.slice(0, 197) + '…' : line;
}

function runTooltip(run: Run): string {
  const lines = [`${displayName(run)} (${run.id})`, `${run.status} · ${run.template} · ${run.executor}`, `created ${run.created_at}`];
  if (run.error) {
    lines.push(run.error.slice(0, 500));
  }
  return lines.join('\n');
}
