import { describe, expect, it } from 'vitest';
import type { FusionApi } from '../../../common/api';
import { Emitter } from '../../../common/emitter';
import { emptyProgress } from '../../../common/progress';
import type { RunListener, StreamClient } from '../../../common/stream';
import type { ProgressEvent, Run, RunProgress } from '../../../common/types';
import type { Connection } from '../connection';
import { RunFeed } from '../runfeed';

const RUN_ID = 'aaaaaaaaaaaa';

function running(progress: Partial<RunProgress> = {}): Run {
  return {
    id: RUN_ID,
    name: 'r',
    template: 'minimal',
    status: 'RUNNING',
    executor: 'local',
    tags: [],
    sweep_id: null,
    rerun_of: null,
    created_at: '2026-01-01T00:00:00Z',
    error: null,
    progress: { ...emptyProgress(), ...progress }
  };
}

/** A connection whose stream the test drives: its run_progress messages and raw events. */
function connection(run: Run) {
  const listeners: RunListener[] = [];
  const stream = {
    status: new Emitter<Run[]>(),
    runProgress: new Emitter<Array<[string, RunProgress]>>(),
    connection: new Emitter<unknown>(),
    subscribe(_runId: string, listener: RunListener) {
      listeners.push(listener);
      return { close: () => undefined };
    }
  };
  const api = {
    getRun: async () => run,
    progress: async () => ({ events: [], last_seq: -1 }),
    results: async () => ({ columns: [], rows: [] })
  };
  const conn = {
    kind: 'direct',
    reason: '',
    shared: new Map(),
    stream: stream as unknown as StreamClient,
    api: api as unknown as FusionApi
  } satisfies Connection;
  const events = (list: ProgressEvent[]) => listeners.forEach(l => l.progress?.(list, RUN_ID));
  return { conn, stream, events };
}

const folded = (percent: number, seq: number, eta: number | null = null): RunProgress => ({
  ...emptyProgress(),
  percent,
  seq,
  erlang: 300,
  erlang_index: 0,
  erlang_count: 2,
  iteration: 1,
  iteration_count: 4,
  eta_seconds: eta
});

describe('run feed', () => {
  it("shows the engine's folded progress; raw events only draw the curve", () => {
    const run = running({ percent: 10, seq: 2 });
    const { conn, stream, events } = connection(run);
    const feed = RunFeed.retain(conn, RUN_ID, run);
    expect(feed.percent).toBe(10);

    events([{ type: 'iteration', seq: 3, erlang: 300, iteration: 2, total_iterations: 4, metrics: { blocking_prob: 0.1 } }]);
    expect(feed.progress).toMatchObject({ percent: 10, seq: 2, iteration: null }); // not folded here
    expect(feed.curve.pending()).toEqual({ x: 300, y: 0.1 });

    stream.runProgress.emit([[RUN_ID, folded(50, 5, 30)]]);
    expect(feed.percent).toBe(50);
    expect(feed.progress.iteration).toBe(1);
    const eta = feed.etaSeconds;
    expect(eta).not.toBeNull();
    expect(eta!).toBeLessThanOrEqual(30);
    expect(eta!).toBeGreaterThan(25);

    stream.runProgress.emit([[RUN_ID, folded(40, 4)]]); // older
    stream.runProgress.emit([['bbbbbbbbbbbb', folded(90, 9)]]); // another run
    expect(feed.percent).toBe(50);

    stream.status.emit([{ ...run, status: 'COMPLETED', progress: folded(100, 8) }]);
    expect(feed.percent).toBe(100);
    expect(feed.etaSeconds).toBeNull();
    feed.release();
  });
});
