import type { Run } from './types';

/** A sweep's runs summed up: what its one row in a list shows. */
export interface SweepAggregate {
  /** Grid points (a run that was rerun gives way to its rerun). */
  total: number;
  done: number;
  running: number;
  pending: number;
  failed: number;
  cancelled: number;
  /** Mean progress of the points, 0-100. */
  percent: number;
  /** Seconds until every point has run, at the pace of the running ones (null: unknown). */
  etaSeconds: number | null;
}

/** The runs no other run of ``runs`` reran: a sweep's latest attempt at each point. */
export function latestAttempts(runs: readonly Run[]): Run[] {
  const superseded = new Set<string>();
  for (const run of runs) {
    if (run.rerun_of) {
      superseded.add(run.rerun_of);
    }
  }
  return superseded.size ? runs.filter(run => !superseded.has(run.id)) : [...runs];
}

/**
 * Counts, mean progress and an ETA from the runs' folded progress alone (the status
 * channel's), so a sweep's row needs no subscription to its runs' events.
 *
 * The ETA: the longest time left of a running run, plus the waiting runs in waves of
 * as many as run at once, each as long as a running run takes in all (its elapsed time
 * and its time left, from its percent and ETA).
 */
export function aggregateSweep(runs: readonly Run[]): SweepAggregate {
  const points = latestAttempts(runs);
  const agg: SweepAggregate = { total: points.length, done: 0, running: 0, pending: 0, failed: 0, cancelled: 0, percent: 0, etaSeconds: null };
  let percentSum = 0;
  let longestLeft = 0;
  let durationSum = 0;
  let durations = 0;
  for (const run of points) {
    const percent = run.status === 'COMPLETED' ? 100 : Math.max(0, Math.min(100, run.progress.percent || 0));
    percentSum += percent;
    switch (run.status) {
      case 'COMPLETED':
        agg.done += 1;
        break;
      case 'FAILED':
        agg.failed += 1;
        break;
      case 'CANCELLED':
        agg.cancelled += 1;
        break;
      case 'PENDING':
        agg.pending += 1;
        break;
      default: {
        agg.running += 1;
        const eta = run.progress.eta_seconds;
        if (typeof eta === 'number' && eta >= 0) {
          longestLeft = Math.max(longestLeft, eta);
          // A run's whole duration is its ETA over the share left; near the end the ETA
          // (to 0.1 s) is too coarse for that, so only runs not yet 90 % done count.
          if (percent > 0 && percent <= 90 && eta > 0) {
            durationSum += eta / (1 - percent / 100);
            durations += 1;
          }
        }
      }
    }
  }
  agg.percent = points.length ? percentSum / points.length : 0;
  if (!agg.running && !agg.pending) {
    agg.etaSeconds = 0;
  } else if (durations || (!agg.pending && longestLeft > 0)) {
    const waves = agg.pending ? Math.ceil(agg.pending / Math.max(1, agg.running)) : 0;
    agg.etaSeconds = longestLeft + waves * (durations ? durationSum / durations : 0);
  }
  return agg;
}

/** "3 done · 2 running · 1 failed" (the parts that are not zero). */
export function aggregateLabel(agg: SweepAggregate): string {
  const parts: string[] = [];
  for (const [n, word] of [
    [agg.done, 'done'],
    [agg.running, 'running'],
    [agg.pending, 'pending'],
    [agg.failed, 'failed'],
    [agg.cancelled, 'cancelled']
  ] as const) {
    if (n) {
      parts.push(`${n} ${word}`);
    }
  }
  return parts.join(' · ') || 'no runs';
}

/** How many runs a grid expands to (the product of its axes' lengths). */
export function gridSize(grid: Readonly<Record<string, readonly unknown[]>>): number {
  const axes = Object.values(grid);
  return axes.length ? axes.reduce((n, values) => n * values.length, 1) : 0;
}
