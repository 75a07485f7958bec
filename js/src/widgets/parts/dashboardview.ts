import { displayName, formatAgo, progressLabel } from '../../common/format';
import { RunStore, type StoreChange } from '../../common/store';
import { isActive, RUN_STATUSES, type Run, type RunStatus } from '../../common/types';
import type { AnyModel } from './anywidget';
import { BlockingChart, resultPoints, type Series } from './chart';
import type { Connection } from './connection';
import { executorText } from './runview';
import type { RunRecord } from './runfeed';
import { Bar, button, errorText, h, Notice, setText, transportNote } from './ui';
import { VirtualList } from './vlist';

const ROW_HEIGHT = 30;
const REFRESH_MS = 100;

export interface DashboardFilters {
  status?: RunStatus[];
  tag?: string | null;
  name?: string;
}

interface RowParts {
  check: HTMLInputElement;
  name: HTMLElement;
  status: HTMLElement;
  bar: Bar;
  label: HTMLElement;
  exec: HTMLElement;
  created: HTMLElement;
  tags: HTMLElement;
  cancel: HTMLButtonElement;
  rerun: HTMLButtonElement;
  remove: HTMLButtonElement;
}

/** The shared run store of a connection (one listing per page and server). */
function retainStore(connection: Connection): { store: RunStore; release(): void } {
  const key = 'run-store';
  let entry = connection.shared.get(key) as { store: RunStore; refs: number } | undefined;
  if (!entry) {
    entry = { store: new RunStore({ api: connection.api, stream: connection.stream }), refs: 0 };
    connection.shared.set(key, entry);
    entry.store.load().catch(() => undefined);
  }
  entry.refs += 1;
  const held = entry;
  return {
    store: held.store,
    release() {
      held.refs -= 1;
      if (held.refs <= 0) {
        connection.shared.delete(key);
        held.store.dispose();
      }
    }
  };
}

/**
 * Dashboard: every run with live status and progress (a virtualized table: hundreds
 * of runs cost what is on screen), filters by status, tag and name, cancel / delete /
 * rerun, and several runs selected to compare their blocking curves in one chart.
 */
export class DashboardView {
  readonly node: HTMLElement;
  readonly list: VirtualList;
  private readonly store: RunStore;
  private readonly releaseStore: () => void;
  private rows: Run[] = [];
  private readonly selected = new Set<string>();
  private statuses = new Set<RunStatus>();
  private tag: string | null = null;
  private search = '';
  private confirmDelete: string | null = null;
  private readonly parts = new WeakMap<HTMLElement, RowParts>();
  private readonly chips = new Map<RunStatus, HTMLButtonElement>();
  private readonly searchInput = h('input', { class: 'fj-input', attrs: { type: 'search', placeholder: 'Filter by name', 'aria-label': 'Filter by name' } });
  private readonly tagSelect = h('select', { class: 'fj-input', attrs: { 'aria-label': 'Filter by tag' } });
  private readonly countEl = h('span', { class: 'fj-muted' });
  private readonly compareEl = h('div', { class: 'fj-compare' });
  private readonly compareTitle = h('div', { class: 'fj-compare-title' });
  private readonly chart = new BlockingChart();
  private readonly notice = new Notice();
  private readonly results = new Map<string, { seq: number; series: Series | null }>();
  private compareTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly stops: Array<() => void> = [];
  private tagsKey = '';

  constructor(private readonly connection: Connection, private readonly model: AnyModel) {
    const held = retainStore(connection);
    this.store = held.store;
    this.releaseStore = held.release;
    this.list = new VirtualList(ROW_HEIGHT, (el, i) => this.renderRow(el, i), undefined, 'fj-dash-rows');
    const chipBar = h('div', { class: 'fj-chips', attrs: { role: 'group', 'aria-label': 'Filter by status' } });
    for (const status of RUN_STATUSES) {
      const chip = h('button', { class: 'fj-chip', attrs: { type: 'button', 'data-status': status, 'aria-pressed': 'false' } });
      chip.addEventListener('click', () => {
        if (this.statuses.has(status)) {
          this.statuses.delete(status);
        } else {
          this.statuses.add(status);
        }
        this.filtersChanged();
      });
      this.chips.set(status, chip);
      chipBar.append(chip);
    }
    const clear = button('Clear selection', 'clear-selection');
    clear.addEventListener('click', () => this.setSelected([]));
    this.node = h(
      'div',
      { class: 'fj-widget fj-dash' },
      h('div', { class: 'fj-toolbar' }, h('span', { class: 'fj-log-title', text: 'FUSION runs' }), this.countEl, h('span', { class: 'fj-spacer' }), this.searchInput, this.tagSelect),
      chipBar,
      h(
        'div',
        { class: 'fj-dash-head fj-dash-grid' },
        h('span', { text: '' }),
        h('span', { text: 'Run' }),
        h('span', { text: 'Status' }),
        h('span', { text: 'Progress' }),
        h('span', { text: 'Where' }),
        h('span', { text: 'Created' }),
        h('span', { text: 'Tags' }),
        h('span', { text: '' })
      ),
      this.list.node,
      this.notice.node,
      h('div', { class: 'fj-compare-box' }, h('div', { class: 'fj-toolbar' }, this.compareTitle, h('span', { class: 'fj-spacer' }), clear), this.compareEl),
      transportNote(connection.kind, connection.reason)
    );
    this.notice.clear();
    this.compareEl.append(this.chart.node);
    this.applyFilters((model.get('filters') ?? {}) as DashboardFilters);
    this.selected.clear();
    for (const id of (model.get('selected') ?? []) as string[]) {
      this.selected.add(id);
    }
    let debounce: ReturnType<typeof setTimeout> | undefined;
    this.searchInput.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        this.search = this.searchInput.value;
        this.filtersChanged();
      }, 150);
    });
    this.tagSelect.addEventListener('change', () => {
      this.tag = this.tagSelect.value || null;
      this.filtersChanged();
    });
    const onFilters = () => {
      this.applyFilters((model.get('filters') ?? {}) as DashboardFilters);
      this.requery();
    };
    const onSelected = () => this.setSelected((model.get('selected') ?? []) as string[], false);
    model.on('change:filters', onFilters);
    model.on('change:selected', onSelected);
    this.stops.push(
      () => model.off('change:filters', onFilters),
      () => model.off('change:selected', onSelected),
      this.store.changed.connect(change => this.onStore(change)),
      this.store.loadStateChanged.connect(state => {
        if (state === 'error') {
          this.notice.show(`cannot list runs: ${errorText(this.store.loadError)}`);
        } else if (state === 'ready') {
          this.notice.clear();
        }
      })
    );
    this.requery();
    this.drawCompare();
  }

  dispose(): void {
    clearTimeout(this.compareTimer);
    clearTimeout(this.refreshTimer);
    this.stops.forEach(stop => stop());
    this.list.dispose();
    this.releaseStore();
    this.node.remove();
  }

  /** The runs shown now (after filters), newest first. */
  get shown(): readonly Run[] {
    return this.rows;
  }

  private applyFilters(f: DashboardFilters): void {
    this.statuses = new Set((f.status ?? []).filter(s => RUN_STATUSES.includes(s)));
    this.tag = f.tag || null;
    this.search = f.name ?? '';
    this.searchInput.value = this.search;
  }

  private filtersChanged(): void {
    this.model.set('filters', { status: [...this.statuses], tag: this.tag, name: this.search });
    this.model.save_changes();
    this.requery();
  }

  private onStore(change: StoreChange): void {
    if (change.structural) {
      this.requery();
    } else if (this.refreshTimer === undefined) {
      // Progress of many runs: redraw the rows at most ten times a second.
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = undefined;
        this.list.refresh();
      }, REFRESH_MS);
    }
    for (const id of change.ids) {
      if (this.selected.has(id)) {
        this.scheduleCompare();
        break;
      }
    }
  }

  private requery(): void {
    this.rows = this.store.query({ statuses: this.statuses, tag: this.tag, search: this.search });
    // As tall as the rows, between 3 and 12 of them.
    this.list.node.style.height = `${Math.max(3, Math.min(12, this.rows.length)) * ROW_HEIGHT + 2}px`;
    this.list.setCount(this.rows.length);
    this.list.refresh();
    this.drawCounts();
    this.drawTags();
  }

  private drawCounts(): void {
    const counts = this.store.counts();
    for (const [status, chip] of this.chips) {
      setText(chip, `${status.toLowerCase()} ${counts[status] ?? 0}`);
      chip.setAttribute('aria-pressed', String(this.statuses.has(status)));
    }
    setText(this.countEl, `${this.rows.length} of ${this.store.size} runs`);
  }

  private drawTags(): void {
    const tags = this.store.tags();
    const key = tags.join('\0') + '\u0001' + (this.tag ?? '');
    if (key === this.tagsKey) {
      return;
    }
    this.tagsKey = key;
    const options = [h('option', { text: 'any tag', attrs: { value: '' } }), ...tags.map(t => h('option', { text: t, attrs: { value: t } }))];
    this.tagSelect.replaceChildren(...options);
    this.tagSelect.value = this.tag ?? '';
  }

  private rowParts(el: HTMLElement): RowParts {
    let parts = this.parts.get(el);
    if (parts) {
      return parts;
    }
    const check = h('input', { attrs: { type: 'checkbox', 'aria-label': 'Select to compare' } });
    const bar = new Bar('progress', 'fj-bar-small');
    parts = {
      check,
      name: h('span', { class: 'fj-dash-name' }),
      status: h('span', { class: 'fj-status' }),
      bar,
      label: h('span', { class: 'fj-dash-plabel' }),
      exec: h('span', { class: 'fj-dash-exec' }),
      created: h('span', { class: 'fj-muted' }),
      tags: h('span', { class: 'fj-dash-tags' }),
      cancel: button('Cancel', 'cancel', 'Cancel this run', 'fj-danger'),
      rerun: button('Rerun', 'rerun', 'A new run with the same config'),
      remove: button('Delete', 'delete', 'Forget this run (its files stay)')
    };
    el.classList.add('fj-dash-grid', 'fj-dash-row');
    el.append(
      h('span', {}, parts.check),
      parts.name,
      h('span', {}, parts.status),
      h('span', { class: 'fj-dash-progress' }, bar.node, parts.label),
      parts.exec,
      parts.created,
      parts.tags,
      h('span', { class: 'fj-actions' }, parts.cancel, parts.rerun, parts.remove)
    );
    const idOf = () => el.dataset.runId ?? '';
    parts.check.addEventListener('change', () => {
      const id = idOf();
      const next = new Set(this.selected);
      if (parts!.check.checked) {
        next.add(id);
      } else {
        next.delete(id);
      }
      this.setSelected([...next]);
    });
    parts.cancel.addEventListener('click', () => void this.act(idOf(), 'cancel'));
    parts.rerun.addEventListener('click', () => void this.act(idOf(), 'rerun'));
    parts.remove.addEventListener('click', () => void this.act(idOf(), 'delete'));
    this.parts.set(el, parts);
    return parts;
  }

  private renderRow(el: HTMLElement, index: number): void {
    // The store replaces a run's record when it changes: look the current one up.
    const listed = this.rows[index];
    const run = (listed && (this.store.get(listed.id) ?? listed)) as RunRecord | undefined;
    const parts = this.rowParts(el);
    if (!run) {
      el.hidden = true;
      return;
    }
    // Unchanged attributes are not written again: each write restyles the row.
    if (el.dataset.runId !== run.id) {
      el.dataset.runId = run.id;
    }
    if (el.dataset.status !== run.status) {
      el.dataset.status = run.status;
    }
    parts.check.checked = this.selected.has(run.id);
    setText(parts.name, displayName(run));
    const title = `${run.id} · ${run.template}`;
    if (parts.name.title !== title) {
      parts.name.title = title;
    }
    setText(parts.status, run.status);
    parts.bar.set(run.status === 'COMPLETED' ? 100 : run.progress.percent);
    setText(parts.label, progressLabel(run.status === 'COMPLETED' ? { ...run, progress: { ...run.progress, percent: 100 } } : run));
    setText(parts.exec, executorText(run));
    setText(parts.created, formatAgo(run.created_at));
    setText(parts.tags, run.tags.join(', '));
    const active = isActive(run.status);
    parts.cancel.hidden = !active;
    parts.cancel.disabled = !!run.cancel_requested;
    parts.remove.hidden = active;
    setText(parts.remove, this.confirmDelete === run.id ? 'Confirm' : 'Delete');
  }

  private async act(id: string, action: 'cancel' | 'rerun' | 'delete'): Promise<void> {
    const api = this.connection.api;
    try {
      if (action === 'delete' && this.confirmDelete !== id) {
        this.confirmDelete = id;
        this.list.refresh();
        return;
      }
      this.confirmDelete = null;
      if (action === 'cancel') {
        this.store.upsert(await api.cancelRun(id));
      } else if (action === 'rerun') {
        this.store.upsert(await api.rerunRun(id));
      } else {
        await api.deleteRun(id);
        this.store.remove(id);
        this.setSelected([...this.selected].filter(s => s !== id));
      }
      this.notice.clear();
    } catch (err) {
      this.notice.show(`${action} failed: ${errorText(err)}`);
      this.list.refresh();
    }
  }

  setSelected(ids: string[], sync = true): void {
    this.selected.clear();
    ids.forEach(id => this.selected.add(id));
    if (sync) {
      this.model.set('selected', [...ids]);
      this.model.save_changes();
    }
    this.list.refresh();
    this.drawCompare();
  }

  private scheduleCompare(): void {
    if (this.compareTimer === undefined) {
      this.compareTimer = setTimeout(() => {
        this.compareTimer = undefined;
        this.drawCompare();
      }, 1000);
    }
  }

  /** Fetch the results of the selected runs (again when their progress moved) and chart them. */
  private drawCompare(): void {
    const ids = [...this.selected];
    setText(this.compareTitle, ids.length ? `Blocking probability of ${ids.length} selected run${ids.length > 1 ? 's' : ''}` : 'Select runs to compare their blocking curves');
    this.compareEl.hidden = !ids.length;
    for (const id of [...this.results.keys()]) {
      if (!this.selected.has(id)) {
        this.results.delete(id);
      }
    }
    const api = this.connection.api;
    const pending: Promise<void>[] = [];
    for (const id of ids) {
      const run = this.store.get(id);
      const seq = run ? run.progress.seq * 10 + (isActive(run.status) ? 0 : 1) : -1;
      const have = this.results.get(id);
      if (have && have.seq === seq) {
        continue;
      }
      this.results.set(id, { seq, series: have?.series ?? null });
      pending.push(
        api
          .results(id)
          .then(table => {
            const points = resultPoints(table.rows);
            this.results.set(id, { seq, series: { id, label: run ? displayName(run) : id, points } });
          })
          .catch(err => {
            this.notice.show(`cannot read the results of ${id}: ${errorText(err)}`);
          })
      );
    }
    const draw = () => this.chart.update(ids.map(id => this.results.get(id)?.series).filter((s): s is Series => !!s));
    draw();
    if (pending.length) {
      void Promise.all(pending).then(draw);
    }
  }
}
