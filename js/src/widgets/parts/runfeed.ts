import { defaultScheduler, Emitter } from '../../common/emitter';
import { emptyProgress } from '../../common/progress';
import { newer } from '../../common/store';
import type { Subscription } from '../../common/stream';
import { isActive, type ProgressEvent, type Run, type RunProgress } from '../../common/types';
import type { Point } from './chart';
import type { Connection } from './connection';

/** A run record as the widgets show it. */
export type RunRecord = Run;

function num(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

/**
 * Blocking probability against Erlang, folded from progress events: one point per
 * finished load (mean and confidence interval of ``erlang_complete``), and the mean
 * of the iterations so far of the load in progress.
 */
export class BlockingCurve {
  readonly done = new Map<number, Point>();
  private current: { erlang: number; sum: number; count: number } | null = null;

  apply(event: ProgressEvent): boolean {
    const metrics = (event.metrics ?? {}) as Record<string, unknown>;
    const erlang = num(event.erlang);
    if (erlang === null) {
      return false;
    }
    if (event.type === 'iteration') {
      const p = num(metrics.blocking_prob);
      if (p === null || this.done.has(erlang)) {
        return false;
      }
      if (!this.current || this.current.erlang !== erlang) {
        this.current = { erlang, sum: 0, count: 0 };
      }
      this.current.sum += p;
      this.current.count += 1;
      return true;
    }
    if (event.type === 'erlang_complete') {
      const mean = num(metrics.mean_blocking) ?? (this.current?.erlang === erlang ? this.current.sum / this.current.count : null);
      if (this.current?.erlang === erlang) {
        this.current = null;
      }
      if (mean === null) {
        return false;
      }
      this.done.set(erlang, { x: erlang, y: mean, lo: num(metrics.ci_lower), hi: num(metrics.ci_upper) });
      return true;
    }
    return false;
  }

  /** Points from a results table (``run.results()``): erlang, blocking_mean, ci_lower, ci_upper. */
  setRows(rows: Record<string, unknown>[]): void {
    for (const row of rows) {
      const x = num(row.erlang);
      const y = num(row.blocking_mean);
      if (x !== null && y !== null) {
        this.done.set(x, { x, y, lo: num(row.ci_lower), hi: num(row.ci_upper) });
      }
    }
  }

  points(): Point[] {
    return [...this.done.values()].sort((a, b) => a.x - b.x);
  }

  pending(): Point | null {
    const c = this.current;
    return c && c.count ? { x: c.erlang, y: c.sum / c.count } : null;
  }
}

/**
 * One run, live: its record (REST, then status messages), its progress as the engine
 * folded it (the record's, then run_progress messages) and its blocking curve (the
 * only reader of the raw progress events). Every view of the run on a connection
 * shares one feed, so one stream subscription.
 */
export class RunFeed {
  readonly changed = new Emitter<void>();
  run: RunRecord | null = null;
  progress: RunProgress = emptyProgress();
  readonly curve = new BlockingCurve();
  /** Why the run could not be read ('' when it could). */
  error = '';
  private refs = 0;
  private sub: Subscription | null = null;
  private readonly stops: Array<() => void> = [];
  private scheduled = false;
  private resultsAsked = false;
  /** When ``progress`` arrived (ms, performance.now()): its ETA counts down from then. */
  private progressAt = 0;
  /** Seq of the last event the curve took. */
  private lastSeq = -1;
  private finalSeen = false;

  private constructor(readonly connection: Connection, readonly runId: string) {}

  /**
   * The shared feed of a run on a connection (call ``release`` when done); ``initial``
   * is the run as the kernel last read it (shown until fresher data arrives).
   */
  static retain(connection: Connection, runId: string, initial?: RunRecord | null): RunFeed {
    const key = `run-feed:${runId}`;
    let feed = connection.shared.get(key) as RunFeed | undefined;
    if (!feed) {
      feed = new RunFeed(connection, runId);
      connection.shared.set(key, feed);
      if (initial && initial.id === runId) {
        feed.setRun(initial);
      }
      feed.start();
    }
    feed.refs += 1;
    return feed;
  }

  release(): void {
    this.refs -= 1;
    if (this.refs > 0) {
      return;
    }
    this.connection.shared.delete(`run-feed:${this.runId}`);
    this.sub?.close();
    this.stops.forEach(stop => stop());
    this.changed.clear();
  }

  get percent(): number {
    return this.run?.status === 'COMPLETED' ? 100 : this.progress.percent;
  }

  /** Seconds left as the engine estimated them, less the time since (null: unknown). */
  get etaSeconds(): number | null {
    const eta = this.progress.eta_seconds;
    if (eta === null || eta === undefined || !this.run || !isActive(this.run.status)) {
      return null;
    }
    return Math.max(0, eta - (performance.now() - this.progressAt) / 1000);
  }

  private start(): void {
    const { stream } = this.connection;
    if (this.run && !isActive(this.run.status)) {
      // Finished: its history once, no live subscription.
      void this.loadHistory();
    } else {
      this.sub = stream.subscribe(this.runId, { progress: events => this.apply(events) }, { channels: ['progress'], after: -1 });
    }
    this.stops.push(
      stream.runProgress.connect(items => {
        for (const [runId, progress] of items) {
          if (runId === this.runId && this.setProgress(progress)) {
            this.notify();
          }
        }
      }),
      stream.status.connect(runs => {
        for (const run of runs) {
          if (run.id === this.runId) {
            this.setRun(run);
            if (run.error_truncated) {
              void this.refresh(); // status messages carry no log: read the whole error
            }
          }
        }
      }),
      stream.connection.connect(change => {
        if (change.state === 'open' && change.reconnected) {
          void this.refresh();
        }
      })
    );
    void this.refresh();
  }

  private async loadHistory(): Promise<void> {
    try {
      let page = await this.connection.api.progress(this.runId, this.lastSeq);
      while (page.events.length) {
        this.apply(page.events);
        page = await this.connection.api.progress(this.runId, this.lastSeq);
      }
    } catch (err) {
      this.error = `cannot read the progress: ${err instanceof Error ? err.message : String(err)}`;
      this.notify();
    }
  }

  /** Stop the live subscription once the run is over and its last event is in. */
  private maybeStop(): void {
    if (this.sub && this.finalSeen && this.run && !isActive(this.run.status)) {
      this.sub.close();
      this.sub = null;
    }
  }

  async refresh(): Promise<void> {
    try {
      this.setRun(await this.connection.api.getRun(this.runId));
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
      this.notify();
    }
  }

  setRun(run: RunRecord): void {
    if (run.deleted) {
      this.error = 'this run was deleted';
    } else {
      this.error = '';
      // A REST answer sent before the run ended can land after the status message
      // that ended it: keep the terminal record (its error with it).
      if (newer(this.run, run)) {
        this.run = run;
      }
      if (run.progress) {
        this.setProgress(run.progress);
      }
    }
    this.maybeLoadResults();
    this.maybeStop();
    this.notify();
  }

  /** Take the engine's folded progress when it is newer than what we have. */
  private setProgress(progress: RunProgress): boolean {
    if (progress.seq <= this.progress.seq) {
      return false;
    }
    this.progress = { ...emptyProgress(), ...progress };
    this.progressAt = performance.now();
    return true;
  }

  /** Raw events: for the blocking curve, and to know the last one is in. */
  private apply(events: ProgressEvent[]): void {
    for (const event of events) {
      if (event.seq <= this.lastSeq) {
        continue; // the same event from two sources (live and history)
      }
      this.lastSeq = event.seq;
      this.curve.apply(event);
      this.finalSeen = this.finalSeen || event.type === 'complete' || event.type === 'error';
    }
    this.maybeStop();
    this.notify();
  }

  /** A finished run whose events carried no results (e.g. FUSION's log-only progress). */
  private maybeLoadResults(): void {
    const run = this.run;
    if (this.resultsAsked || !run || run.status !== 'COMPLETED' || this.curve.done.size) {
      return;
    }
    this.resultsAsked = true;
    this.connection.api
      .results(this.runId)
      .then(table => {
        if (!this.curve.done.size) {
          this.curve.setRows(table.rows);
          this.notify();
        }
      })
      .catch(() => undefined);
  }

  /** Coalesce change notifications to one per animation frame. */
  private notify(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      defaultScheduler(() => {
        this.scheduled = false;
        this.changed.emit();
      });
    }
  }
}
