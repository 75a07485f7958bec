import type { FusionApi, SweepSummary } from './api';
import { defaultScheduler, Emitter, type Scheduler } from './emitter';
import { emptyProgress } from './progress';
import type { StreamClient } from './stream';
import { ACTIVE_STATUSES, isActive, STATUS_RANK, TERMINAL_STATUSES, type Run, type RunProgress, type RunStatus } from './types';

export interface StoreChange {
  /** Runs whose record changed (progress, status, fields). */
  ids: ReadonlySet<string>;
  /** Membership, order or a status changed: filtered lists must be recomputed. */
  structural: boolean;
}

export interface RunQuery {
  statuses?: ReadonlySet<RunStatus> | null;
  tag?: string | null;
  /** Case-insensitive substring of the name or id. */
  search?: string | null;
  /** How many finished runs to include at most (active ones always are). */
  maxFinished?: number;
}

export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

export interface RunStoreOptions {
  api: Pick<FusionApi, 'listAllRuns'> & Partial<Pick<FusionApi, 'listSweeps'>>;
  stream?: StreamClient | null;
  scheduler?: Scheduler;
  /** How many finished runs the listing fetches (active ones are always fetched). */
  maxFinished?: number;
  /** Apply the folded progress of active runs (default true). */
  trackProgress?: boolean;
  /** List with the compact view (listing rows only; the runs panel). */
  compact?: boolean;
  /** Size of the first listing page (small: the first rows show sooner). */
  firstPageSize?: number;
  /** Also list the sweeps (their names and grids; the runs panel groups by sweep). */
  sweeps?: boolean;
}

function normalize(run: Run): Run {
  const progress = { ...emptyProgress(), ...(run.progress ?? {}) };
  return { ...run, tags: Array.isArray(run.tags) ? run.tags : [], progress };
}

/** Of two views of one run, the more recent: status never goes backwards, then progress. */
export function newer(current: Run | null | undefined, incoming: Run): boolean {
  if (!current) {
    return true;
  }
  const a = STATUS_RANK[current.status] ?? 0;
  const b = STATUS_RANK[incoming.status] ?? 0;
  if (b !== a) {
    return b > a;
  }
  if (TERMINAL_STATUSES.has(incoming.status) && current.status !== incoming.status) {
    // Two terminal statuses: a terminal status is final, so keep the first one seen.
    return false;
  }
  return true; // same status: the later view wins (live progress is kept, see upsert)
}

/**
 * Every run the client knows, newest first, kept live by the stream: status messages
 * and folded progress (percent, Erlang i of n, iteration, ETA), both sent for every
 * run on the status channel, so no run's events are subscribed to or folded here. Change notifications are coalesced to one per scheduler tick
 * (an animation frame in a browser), however many messages arrived.
 */
export class RunStore {
  readonly changed = new Emitter<StoreChange>();
  readonly loadStateChanged = new Emitter<LoadState>();

  private readonly runs = new Map<string, Run>();
  private readonly revs = new Map<string, number>();
  private sortedIds: string[] | null = null;
  private bySweep: Map<string, Run[]> | null = null;
  private readonly sweepInfo = new Map<string, SweepSummary>();
  private sweepsPending = false;
  private pendingIds = new Set<string>();
  private pendingStructural = false;
  private flushScheduled = false;
  private disconnect: Array<() => void> = [];
  private _loadState: LoadState = 'idle';
  private _loadError: unknown = null;
  private loadToken = 0;
  private disposed = false;
  private readonly scheduler: Scheduler;
  private readonly trackProgress: boolean;
  maxFinished: number;
  readonly firstPageSize: number;

  constructor(private readonly options: RunStoreOptions) {
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.maxFinished = options.maxFinished ?? 1000;
    this.trackProgress = options.trackProgress ?? true;
    this.firstPageSize = options.firstPageSize ?? 100;
    const stream = options.stream;
    if (stream) {
      this.disconnect.push(stream.status.connect(runs => runs.forEach(r => this.applyStatus(r))));
      if (this.trackProgress) {
        this.disconnect.push(stream.runProgress.connect(items => items.forEach(([id, p]) => this.applyProgress(id, p))));
      }
      this.disconnect.push(
        stream.connection.connect(change => {
          if (change.state === 'open' && change.reconnected) {
            void this.load();
          }
        })
      );
    }
  }

  get loadState(): LoadState {
    return this._loadState;
  }

  get loadError(): unknown {
    return this._loadError;
  }

  get size(): number {
    return this.runs.size;
  }

  get(id: string): Run | undefined {
    return this.runs.get(id);
  }

  /** Increases whenever the run's record changes (cheap change detection for views). */
  rev(id: string): number {
    return this.revs.get(id) ?? 0;
  }

  /** Every run, newest first (by created_at, then id). */
  all(): Run[] {
    if (!this.sortedIds) {
      this.sortedIds = [...this.runs.values()].sort(compareNewestFirst).map(r => r.id);
    }
    return this.sortedIds.map(id => this.runs.get(id)!);
  }

  query(q: RunQuery = {}): Run[] {
    const search = q.search?.trim().toLowerCase() || '';
    const maxFinished = q.maxFinished ?? Infinity;
    let finished = 0;
    const out: Run[] = [];
    for (const run of this.all()) {
      if (q.statuses && q.statuses.size && !q.statuses.has(run.status)) {
        continue;
      }
      if (q.tag && !run.tags.includes(q.tag)) {
        continue;
      }
      if (search && !run.name.toLowerCase().includes(search) && !run.id.includes(search)) {
        continue;
      }
      if (!isActive(run.status)) {
        if (finished >= maxFinished) {
          continue;
        }
        finished += 1;
      }
      out.push(run);
    }
    return out;
  }

  /** A sweep as last listed (name, grid), if known. */
  sweep(id: string): SweepSummary | undefined {
    return this.sweepInfo.get(id);
  }

  /** The runs of a sweep the store has, newest first. */
  sweepRuns(id: string): Run[] {
    if (!this.bySweep) {
      this.bySweep = new Map();
      for (const run of this.all()) {
        if (run.sweep_id) {
          const list = this.bySweep.get(run.sweep_id);
          if (list) {
            list.push(run);
          } else {
            this.bySweep.set(run.sweep_id, [run]);
          }
        }
      }
    }
    return (this.bySweep.get(id) ?? []).map(r => this.runs.get(r.id) ?? r);
  }

  /** List the newest sweeps again (a run of a sweep we have not seen arrived). */
  private refreshSweeps(): void {
    const list = this.options.api.listSweeps;
    if (this.sweepsPending || !list) {
      return;
    }
    this.sweepsPending = true;
    void list
      .call(this.options.api, { max: 100 })
      .then(sweeps => {
        sweeps.forEach(sweep => this.sweepInfo.set(sweep.id, sweep));
        this.touch('', true);
      })
      .catch(() => undefined)
      .finally(() => {
        this.sweepsPending = false;
      });
  }

  /** Forget a deleted sweep and its runs. */
  removeSweep(id: string): void {
    for (const run of this.sweepRuns(id)) {
      this.remove(run.id);
    }
    if (this.sweepInfo.delete(id)) {
      this.touch(id, true);
    }
  }

  tags(): string[] {
    const all = new Set<string>();
    for (const run of this.runs.values()) {
      run.tags.forEach(t => all.add(t));
    }
    return [...all].sort();
  }

  counts(): Record<RunStatus, number> {
    const counts: Record<RunStatus, number> = {
      PENDING: 0,
      RUNNING: 0,
      CANCELLING: 0,
      COMPLETED: 0,
      FAILED: 0,
      CANCELLED: 0
    };
    for (const run of this.runs.values()) {
      counts[run.status] = (counts[run.status] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * (Re)list runs from the server: active ones all, finished ones up to
   * ``maxFinished``; the first page is shown at once. Runs the server no longer has
   * (deleted while we were disconnected) are dropped.
   */
  async load(): Promise<void> {
    const token = ++this.loadToken;
    this.setLoadState('loading');
    const seen = new Set<string>();
    const take = (runs: Run[]) => {
      if (token !== this.loadToken || this.disposed) {
        return;
      }
      for (const run of runs) {
        seen.add(run.id);
        this.upsert(run);
      }
    };
    try {
      const api = this.options.api;
      const compact = this.options.compact ?? false;
      const active = api.listAllRuns({ status: [...ACTIVE_STATUSES] }, { pageSize: 500, compact, onPage: take });
      const recent = api.listAllRuns(
        {},
        { firstPageSize: this.firstPageSize, pageSize: 500, max: this.maxFinished + 200, compact, onPage: take }
      );
      const sweeps = this.options.sweeps && api.listSweeps ? api.listSweeps({ max: this.maxFinished }) : Promise.resolve(null);
      const [activeRuns, recentRuns, sweepList] = await Promise.all([active, recent, sweeps]);
      if (token !== this.loadToken || this.disposed) {
        return;
      }
      if (sweepList) {
        this.sweepInfo.clear();
        sweepList.forEach(sweep => this.sweepInfo.set(sweep.id, sweep));
        this.sortedIds = null;
        this.bySweep = null;
        this.touch('', true);
      }
      const complete = recentRuns.length < this.maxFinished + 200;
      const oldest = recentRuns.length ? recentRuns[recentRuns.length - 1] : undefined;
      const activeIds = new Set(activeRuns.map(r => r.id));
      for (const run of [...this.runs.values()]) {
        if (seen.has(run.id)) {
          continue;
        }
        const inRange = complete || (oldest && compareNewestFirst(run, oldest) < 0);
        if (inRange || (isActive(run.status) && !activeIds.has(run.id) && complete)) {
          this.remove(run.id);
        }
      }
      this.setLoadState('ready');
    } catch (err) {
      if (token === this.loadToken && !this.disposed) {
        this._loadError = err;
        this.setLoadState('error');
      }
      throw err;
    }
  }

  /** Add or update a run (from REST answers or status messages). */
  upsert(incoming: Run): void {
    if (this.disposed) {
      return;
    }
    if (incoming.deleted) {
      this.remove(incoming.id);
      return;
    }
    const current = this.runs.get(incoming.id);
    const run = normalize(incoming);
    if (run.sweep_id && !current && this.options.sweeps && this._loadState === 'ready' && !this.sweepInfo.has(run.sweep_id)) {
      this.refreshSweeps();
    }
    if (current && !newer(current, run)) {
      return;
    }
    if (current && current.progress.seq > run.progress.seq) {
      // Our live progress is ahead of the server's cached snapshot: keep it.
      const percent = run.status === 'COMPLETED' ? Math.max(run.progress.percent, current.progress.percent) : current.progress.percent;
      run.progress = { ...current.progress, percent };
    }
    this.runs.set(run.id, run);
    const structural =
      !current ||
      current.status !== run.status ||
      current.created_at !== run.created_at ||
      current.name !== run.name ||
      current.tags.join('\0') !== run.tags.join('\0');
    if (structural) {
      this.sortedIds = null;
      this.bySweep = null;
    }
    this.touch(run.id, structural);
  }

  applyStatus(run: Run): void {
    this.upsert(run);
  }

  /** Take a run's folded progress (from the status channel) when it is newer. */
  applyProgress(runId: string, progress: RunProgress): void {
    const run = this.runs.get(runId);
    if (!run || this.disposed || progress.seq <= run.progress.seq) {
      return;
    }
    this.runs.set(runId, { ...run, progress: { ...run.progress, ...progress } });
    this.touch(runId, false);
  }

  remove(id: string): void {
    if (!this.runs.delete(id)) {
      return;
    }
    this.sortedIds = null;
    this.bySweep = null;
    this.touch(id, true);
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.disconnect.forEach(d => d());
    this.changed.clear();
    this.loadStateChanged.clear();
  }

  private setLoadState(state: LoadState): void {
    this._loadState = state;
    if (state !== 'error') {
      this._loadError = null;
    }
    this.loadStateChanged.emit(state);
  }

  private touch(id: string, structural: boolean): void {
    this.revs.set(id, (this.revs.get(id) ?? 0) + 1);
    this.pendingIds.add(id);
    this.pendingStructural = this.pendingStructural || structural;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.scheduler(() => this.flush());
    }
  }

  /** Send the coalesced notification now (also what the scheduler calls). */
  flush(): void {
    this.flushScheduled = false;
    if (this.disposed || (!this.pendingIds.size && !this.pendingStructural)) {
      return;
    }
    const change: StoreChange = { ids: this.pendingIds, structural: this.pendingStructural };
    this.pendingIds = new Set();
    this.pendingStructural = false;
    this.changed.emit(change);
  }
}

export function compareNewestFirst(a: Run, b: Run): number {
  if (a.created_at !== b.created_at) {
    return a.created_at < b.created_at ? 1 : -1;
  }
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
