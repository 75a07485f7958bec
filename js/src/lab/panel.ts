import {
  addIcon,
  deleteIcon,
  folderIcon,
  listIcon,
  notebookIcon,
  refreshIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { FusionApiError } from '../common/api';
import { displayName, formatAgo, progressLabel } from '../common/format';
import type { StoreChange } from '../common/store';
import type { ConnectionChange } from '../common/stream';
import { ACTIVE_STATUSES, isActive, RUN_STATUSES, type Run, type RunStatus } from '../common/types';
import { CommandIDs } from './commands';
import type { FusionConnection } from './connection';
import { h, iconButton, setText, textButton } from './dom';
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
  meta: HTMLElement;
  cancel: HTMLButtonElement;
  del: HTMLButtonElement;
}

/**
 * The left-sidebar panel: every run, newest first, live.
 *
 * Rows are virtualized (only the visible ones plus a margin exist in the DOM, and
 * they are recycled), so opening the panel costs the same with 10 or 10,000 runs.
 * The store notifies once per animation frame with the ids that changed; a progress
 * update touches only that row's bar.
 */
export class RunsPanel extends Widget {
  selectedId: string | null = null;
  private statusFilter = '';
  private tagFilter = '';
  private searchText = '';
  private visibleRuns: string[] = [];
  private rows = new Map<string, RowView>();
  private pool: RowView[] = [];
  private dirty = true;
  private renderQueued = false;
  private tickTimer: number | null = null;
  private readonly disconnect: Array<() => void> = [];

  private readonly listEl: HTMLElement;
  private readonly spacerEl: HTMLElement;
  private readonly emptyEl: HTMLElement;
  private readonly summaryEl: HTMLElement;
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

    this.summaryEl = h('div', { class: 'jp-FusionRuns-summary' });
    this.errorEl = h('div', { class: 'jp-FusionRuns-error' });
    this.errorEl.hidden = true;
    this.spacerEl = h('div', { class: 'jp-FusionRuns-spacerRows' });
    this.emptyEl = h('div', { class: 'jp-FusionRuns-empty', text: 'Loading runs…' });
    this.listEl = h('div', { class: 'jp-FusionRuns-list', attrs: { role: 'list', tabindex: '0' } }, this.spacerEl);
    this.node.append(header, filters, this.summaryEl, this.errorEl, this.emptyEl, this.listEl);

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

  /** Select a run and scroll it into view. */
  select(id: string | null, reveal = true): void {
    this.selectedId = id;
    for (const row of this.rows.values()) {
      row.el.classList.toggle('jp-mod-selected', row.id === id);
    }
    if (id && reveal) {
      const index = this.visibleRuns.indexOf(id);
      if (index >= 0) {
        const top = index * ROW_HEIGHT;
        if (top < this.listEl.scrollTop || top + ROW_HEIGHT > this.listEl.scrollTop + this.listEl.clientHeight) {
          this.listEl.scrollTop = Math.max(0, top - ROW_HEIGHT);
        }
        this.queueRender();
      }
    }
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
    for (const id of change.ids) {
      const row = this.rows.get(id);
      const run = this.conn.store.get(id);
      if (row && run) {
        this.updateRow(row, run);
      }
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
    const tags = this.conn.store.tags();
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
    this.visibleRuns = runs.map(r => r.id);
    const counts = this.conn.store.counts();
    const parts = [`${runs.length} shown`];
    if (counts.RUNNING) {
      parts.push(`${counts.RUNNING} running`);
    }
    if (counts.PENDING) {
      parts.push(`${counts.PENDING} pending`);
    }
    setText(this.summaryEl, parts.join(' · '));
    this.updateEmpty();
    this.dirty = true;
    this.queueRender();
  }

  private updateEmpty(): void {
    const store = this.conn.store;
    let text = '';
    if (!this.visibleRuns.length) {
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

  // ------------------------------------------------------------------ rendering

  private queueRender(): void {
    if (this.renderQueued) {
      return;
    }
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  private render(): void {
    if (!this.isVisible) {
      return;
    }
    // Read the geometry first, then write: no forced synchronous layout.
    const viewTop = this.listEl.scrollTop;
    const viewHeight = this.listEl.clientHeight || 600;
    const n = this.visibleRuns.length;
    const height = `${n * ROW_HEIGHT}px`;
    if (this.spacerEl.style.height !== height) {
      this.spacerEl.style.height = height;
    }
    const start = Math.max(0, Math.floor(viewTop / ROW_HEIGHT) - OVERSCAN);
    const end = Math.min(n, Math.ceil((viewTop + viewHeight) / ROW_HEIGHT) + OVERSCAN);
    const keep = new Set<string>();
    for (let i = start; i < end; i++) {
      keep.add(this.visibleRuns[i]);
    }
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        this.rows.delete(id);
        row.el.hidden = true;
        delete row.el.dataset.runId;
        row.id = '';
        this.pool.push(row);
      }
    }
    const store = this.conn.store;
    for (let i = start; i < end; i++) {
      const id = this.visibleRuns[i];
      const run = store.get(id);
      if (!run) {
        continue;
      }
      let row = this.rows.get(id);
      if (!row) {
        row = this.pool.pop() ?? this.createRow();
        row.id = id;
        row.rev = -1;
        row.key = '';
        row.el.hidden = false;
        this.rows.set(id, row);
      }
      if (row.index !== i) {
        row.index = i;
        row.el.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
        row.el.setAttribute('aria-posinset', String(i + 1));
      }
      if (row.rev !== store.rev(id) || this.dirty) {
        this.updateRow(row, run);
      }
    }
    this.dirty = false;
    // Marks for benchmarks/sidebar_bench.py: first rows on screen, and the full listing.
    if (!this.marked.first && this.rows.size) {
      this.marked.first = true;
      performance.mark('fusion:rendered-first');
    }
    if (!this.marked.all && this.rows.size && store.loadState === 'ready') {
      this.marked.all = true;
      performance.mark('fusion:rendered-all');
    }
  }

  private marked = { first: false, all: false };

  private createRow(): RowView {
    const name = h('span', { class: 'jp-FusionRun-name' });
    const status = h('span', { class: 'jp-FusionRun-status' });
    const ago = h('span', { class: 'jp-FusionRun-ago' });
    const fill = h('div', { class: 'jp-FusionRun-fill' });
    const bar = h('div', { class: 'jp-FusionRun-bar', attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' } }, fill);
    const pct = h('span', { class: 'jp-FusionRun-pct' });
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
      h('div', { class: 'jp-FusionRun-line2' }, bar, pct),
      h('div', { class: 'jp-FusionRun-line3' }, meta, actions)
    );
    el.style.height = `${ROW_HEIGHT}px`;
    this.listEl.append(el);
    return { el, id: '', rev: -1, key: '', index: -1, name, status, ago, fill, pct, meta, cancel, del };
  }

  private updateRow(row: RowView, run: Run): void {
    row.rev = this.conn.store.rev(run.id);
    const el = row.el;
    const changedRun = el.dataset.runId !== run.id;
    if (changedRun) {
      el.dataset.runId = run.id;
    }
    const key = `${run.status}\0${run.name}\0${run.tags.join(',')}\0${run.error ?? ''}`;
    if (changedRun || row.key !== key) {
      // What does not depend on progress: only when the run, its status or fields change.
      row.key = key;
      el.dataset.status = run.status;
      el.title = runTooltip(run);
      setText(row.name, displayName(run));
      setText(row.status, run.status);
      setText(row.ago, formatAgo(run.created_at));
      const meta = [run.template, ...run.tags.map(t => `#${t}`)];
      if (run.status === 'FAILED' && run.error) {
        meta.push(firstLine(run.error));
      }
      setText(row.meta, meta.join(' · '));
      const active = isActive(run.status);
      row.cancel.hidden = !active;
      row.del.hidden = active;
    }
    const selected = run.id === this.selectedId;
    if (el.classList.contains('jp-mod-selected') !== selected) {
      el.classList.toggle('jp-mod-selected', selected);
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

  private refreshTimes(): void {
    for (const row of this.rows.values()) {
      const run = this.conn.store.get(row.id);
      if (run) {
        setText(row.ago, formatAgo(run.created_at));
      }
    }
  }

  // ------------------------------------------------------------------ interaction

  private onClick = (event: MouseEvent): void => {
    const target = event.target as HTMLElement;
    const button = target.closest<HTMLElement>('[data-action]');
    const rowEl = target.closest<HTMLElement>('.jp-FusionRun');
    const id = rowEl?.dataset.runId;
    if (id) {
      this.select(id, false);
    }
    if (!button) {
      return;
    }
    event.stopPropagation();
    const action = button.dataset.action;
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
      void this.commands.execute(command, args).catch(err => console.error(`fusion: ${command} failed`, err));
    }
  };

  private onDblClick = (event: MouseEvent): void => {
    const rowEl = (event.target as HTMLElement).closest<HTMLElement>('.jp-FusionRun');
    if (rowEl?.dataset.runId && !(event.target as HTMLElement).closest('[data-action]')) {
      void this.commands.execute(CommandIDs.openLog, { id: rowEl.dataset.runId });
    }
  };

  private onKeyDown = (event: KeyboardEvent): void => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp' && event.key !== 'Enter') {
      return;
    }
    event.preventDefault();
    const index = this.selectedId ? this.visibleRuns.indexOf(this.selectedId) : -1;
    if (event.key === 'Enter') {
      if (this.selectedId) {
        void this.commands.execute(CommandIDs.openLog, { id: this.selectedId });
      }
      return;
    }
    const next = Math.max(0, Math.min(this.visibleRuns.length - 1, index + (event.key === 'ArrowDown' ? 1 : -1)));
    if (this.visibleRuns[next]) {
      this.select(this.visibleRuns[next]);
    }
  };
}

function titleCase(s: string): string {
  return s.charAt(0) + s.slice(1).toLowerCase();
}

function firstLine(text: string): string {
  const line = text.split('\n').find(l => l.trim()) ?? '';
  return line.length > 120 ? line.slice(0, 117) + '…' : line;
}

function runTooltip(run: Run): string {
  const lines = [`${displayName(run)} (${run.id})`, `${run.status} · ${run.template} · ${run.executor}`, `created ${run.created_at}`];
  if (run.error) {
    lines.push(run.error.slice(0, 500));
  }
  return lines.join('\n');
}

