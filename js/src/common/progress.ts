import type { RunProgress } from './types';

/**
 * An empty progress cache (what a new run has). Progress is folded by the engine
 * (fusion_jupyter/engine/progress.py) and read from run records and run_progress
 * messages; the front-ends never fold events themselves.
 */
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
