import type { ProgressEvent, RunProgress } from './types';

/** An empty progress cache (what a new run has). */
export function emptyProgress(): RunProgress {
  return {
    percent: 0,
    erlang: null,
    erlang_index: null,
    erlang_count: null,
    iteration: null,
    iteration_count: null,
    seq: -1
  };
}

function asInt(value: unknown, fallback: number | null): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

function asFloat(value: unknown, fallback: number | null): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

/**
 * Fold one progress event into a run's progress cache, exactly as the engine's
 * ProgressState does (fusion_jupyter/engine/progress.py), so a bar fed by the
 * stream shows what the server would report. Returns a new object.
 */
export function foldProgress(state: RunProgress, event: ProgressEvent): RunProgress {
  const next = { ...state };
  next.seq = Math.max(next.seq, asInt(event.seq, -1) ?? -1);
  switch (event.type) {
    case 'start': {
      const cfg = (event.config ?? {}) as Record<string, unknown>;
      next.erlang_count = asInt(cfg.total_erlangs, next.erlang_count);
      next.iteration_count = asInt(cfg.total_iterations, next.iteration_count);
      break;
    }
    case 'erlang_start':
      next.erlang = asFloat(event.erlang, next.erlang);
      next.erlang_index = asInt(event.erlang_index, next.erlang_index);
      next.erlang_count = asInt(event.total_erlangs, next.erlang_count);
      next.iteration = 0;
      break;
    case 'iteration':
      next.erlang = asFloat(event.erlang, next.erlang);
      next.iteration = asInt(event.iteration, next.iteration);
      next.iteration_count = asInt(event.total_iterations, next.iteration_count);
      break;
    case 'erlang_complete':
      if (next.iteration_count) {
        next.iteration = next.iteration_count;
      }
      break;
    case 'complete':
      next.percent = 100;
      return next;
    default:
      break;
  }
  next.percent = Math.max(next.percent, computePercent(next));
  return next;
}

function computePercent(p: RunProgress): number {
  if (!p.erlang_count || !p.iteration_count || p.erlang_index === null) {
    return p.percent;
  }
  const done = p.erlang_index * p.iteration_count + (p.iteration ?? 0);
  const pct = (100 * done) / (p.erlang_count * p.iteration_count);
  return Math.round(Math.min(99.9, pct) * 100) / 100;
}
