import { describe, expect, it } from 'vitest';
import type { Artifact, ProgressEvent } from '../../../common/types';
import { loadable, sortArtifacts, variableName } from '../artifactview';
import { loadScale, wantsLog } from '../chart';
import { parseTags } from '../launcherview';
import { BlockingCurve } from '../runfeed';
import { newer } from '../../../common/store';
import { executorText } from '../runview';

describe('blocking curve', () => {
  const ev = (seq: number, type: string, erlang: number, metrics: Record<string, number>): ProgressEvent => ({ type, seq, erlang, metrics });

  it('has a point per finished load and the running mean of the current one', () => {
    const c = new BlockingCurve();
    c.apply(ev(1, 'iteration', 300, { blocking_prob: 0.01 }));
    c.apply(ev(2, 'iteration', 300, { blocking_prob: 0.03 }));
    expect(c.pending()).toEqual({ x: 300, y: 0.02 });
    c.apply(ev(3, 'erlang_complete', 300, { mean_blocking: 0.021, ci_lower: 0.015, ci_upper: 0.027 }));
    expect(c.pending()).toBeNull();
    expect(c.points()).toEqual([{ x: 300, y: 0.021, lo: 0.015, hi: 0.027 }]);
    c.setRows([{ erlang: 200, blocking_mean: 0.001, ci_lower: null, ci_upper: null }]);
    expect(c.points().map(p => p.x)).toEqual([200, 300]);
  });

  it('uses the mean of the iterations when the load has no summary (training runs)', () => {
    const c = new BlockingCurve();
    c.apply(ev(1, 'iteration', 400, { blocking_prob: 0.2 }));
    c.apply(ev(2, 'erlang_complete', 400, {}));
    expect(c.points()).toEqual([{ x: 400, y: 0.2, lo: null, hi: null }]);
  });
});

describe('run records', () => {
  it('keeps a terminal record when an older active snapshot arrives after it', () => {
    const failed = { id: 'a', status: 'FAILED', error: 'exited with code 3' } as any;
    const running = { id: 'a', status: 'RUNNING', error: null } as any;
    expect(newer(failed, running)).toBe(false);
    expect(newer(running, failed)).toBe(true);
    expect(newer(null, running)).toBe(true);
    expect(newer(failed, { ...failed, status: 'CANCELLED' })).toBe(false); // final
  });
});

describe('run view helpers', () => {
  it('says where a run executes, with Slurm details', () => {
    const base = { executor: 'local', pid: 12, host: 'vm', status: 'RUNNING' } as any;
    expect(executorText(base)).toBe('local · pid 12 on vm');
    const slurm = { executor: 'slurm', job_id: '4711', node: 'c3', pending_reason: 'Resources', status: 'PENDING' } as any;
    expect(executorText(slurm)).toBe('slurm · job 4711 · node c3 · waiting: Resources');
    expect(executorText({ ...slurm, status: 'COMPLETED' })).toBe('slurm · job 4711 · node c3');
  });

  it('puts one load alone in the middle of its axis, as its only tick', () => {
    const one = loadScale([200], 0, 100);
    expect(one.ticks).toEqual([200]);
    expect(one(200)).toBe(50);
    const many = loadScale([100, 300], 0, 100);
    expect(many.ticks[0]).toBe(100);
    expect(many.ticks[many.ticks.length - 1]).toBe(300);
  });

  it('uses a log scale only for positive values spanning a wide range', () => {
    expect(wantsLog([0.001, 0.5])).toBe(true);
    expect(wantsLog([0.01, 0.02])).toBe(false);
    expect(wantsLog([0, 0.5])).toBe(false);
  });
});

describe('artifact helpers', () => {
  const a = (path: string, size: number, modified: string): Artifact => ({ path, size, modified, kind: 'other' });

  it('names variables after files', () => {
    expect(variableName('output/results.csv')).toBe('results');
    expect(variableName('output/300.0_erlang.json')).toBe('erlang_300_0');
    expect(variableName('9.csv')).toBe('df_9');
    expect(variableName('my-file.v2.parquet')).toBe('my_file_v2');
  });

  it('knows what pandas loads', () => {
    expect(loadable('a/b.CSV')).toBe(true);
    expect(loadable('x.parquet')).toBe(true);
    expect(loadable('config.ini')).toBe(false);
  });

  it('sorts by any column, both ways', () => {
    const items = [a('b', 10, '2026-01-02T00:00:00Z'), a('a', 30, '2026-01-01T00:00:00Z'), a('c', 20, '2026-01-03T00:00:00Z')];
    expect(sortArtifacts(items, 'path', true).map(x => x.path)).toEqual(['a', 'b', 'c']);
    expect(sortArtifacts(items, 'size', false).map(x => x.path)).toEqual(['a', 'c', 'b']);
    expect(sortArtifacts(items, 'modified', true).map(x => x.path)).toEqual(['a', 'b', 'c']);
  });

  it('sorts numbers in paths naturally', () => {
    const loads = ['1000.0', '1200.0', '400.0', '600.0', '800.0'].map(e => a(`output/${e}_erlang.json`, 1, '2026-01-01T00:00:00Z'));
    expect(sortArtifacts(loads, 'path', true).map(x => x.path.split('/')[1].split('_')[0])).toEqual(['400.0', '600.0', '800.0', '1000.0', '1200.0']);
  });

  it('splits tags', () => {
    expect(parseTags(' a, b ,,a ')).toEqual(['a', 'b']);
  });
});
