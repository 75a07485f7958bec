import { describe, expect, it } from 'vitest';
import { aggregateLabel, aggregateSweep, gridSize, latestAttempts } from '../src/common/sweeps';
import { parseList, rangeCount, rangeValues } from '../src/lab/gridbuilder';
import type { Run } from '../src/common/types';

function run(id: string, status: Run['status'], extra: Partial<Run> = {}, progress: Partial<Run['progress']> = {}): Run {
  return {
    id,
    name: id,
    template: 't',
    status,
    executor: 'local',
    tags: [],
    sweep_id: 's',
    created_at: '2026-01-01T00:00:00Z',
    started_at: null,
    completed_at: null,
    exit_code: null,
    error: null,
    progress: { percent: 0, erlang: null, erlang_index: null, erlang_count: null, iteration: null, iteration_count: null, seq: -1, ...progress },
    ...extra
  } as Run;
}

describe('sweep aggregate', () => {
  it('counts each grid point once: a rerun replaces the run it reran', () => {
    const runs = [run('a', 'COMPLETED'), run('b', 'FAILED'), run('c', 'RUNNING', { rerun_of: 'b' }, { percent: 50, eta_seconds: 10 })];
    expect(latestAttempts(runs).map(r => r.id)).toEqual(['a', 'c']);
    const agg = aggregateSweep(runs);
    expect([agg.total, agg.done, agg.running, agg.failed]).toEqual([2, 1, 1, 0]);
    expect(agg.percent).toBe(75);
    expect(aggregateLabel(agg)).toBe('1 done · 1 running');
  });

  it('estimates the time left from the running runs, waiting ones in waves', () => {
    const runs = [
      run('a', 'RUNNING', {}, { percent: 50, eta_seconds: 10 }), // 20 s a run
      run('b', 'RUNNING', {}, { percent: 75, eta_seconds: 5 }), // 20 s a run
      run('c', 'PENDING'),
      run('d', 'PENDING'),
      run('e', 'PENDING')
    ];
    // 10 s for the slowest running one, then 3 waiting in 2 waves of 20 s.
    expect(aggregateSweep(runs).etaSeconds).toBe(50);
    expect(aggregateSweep([run('x', 'PENDING')]).etaSeconds).toBeNull();
    // Runs nearly done tell no duration (their ETA is rounded to 0): waiting runs make it unknown.
    const late = [run('a', 'RUNNING', {}, { percent: 99.9, eta_seconds: 0 }), run('b', 'PENDING')];
    expect(aggregateSweep(late).etaSeconds).toBeNull();
    expect(aggregateSweep([run('a', 'RUNNING', {}, { percent: 95, eta_seconds: 2 })]).etaSeconds).toBe(2);
    expect(aggregateSweep([run('x', 'COMPLETED')]).etaSeconds).toBe(0);
  });

  it('sizes a grid as the product of its axes', () => {
    expect(gridSize({ a: [1, 2], b: [1, 2, 3] })).toBe(6);
    expect(gridSize({})).toBe(0);
  });
});

describe('grid builder values', () => {
  it('types a list by the key and names a bad value', () => {
    expect(parseList('1, 2,3', 'int')).toEqual({ values: [1, 2, 3], error: null });
    expect(parseList('1, x', 'float').error).toBe('"x" is not a number');
    expect(parseList('1.5', 'int').error).toBe('"1.5" is not an integer');
    expect(parseList('a, b', 'str').values).toEqual(['a', 'b']);
    expect(parseList(' , ', 'str').error).toBe('give at least one value');
  });

  it('counts a range without making it, and rounds its steps', () => {
    expect(rangeCount(0.1, 0.5, 0.1)).toBe(5);
    expect(rangeValues(0.1, 0.5, 0.1, 100)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(rangeCount(1, 1e9, 1)).toBe(1e9);
    expect(rangeValues(1, 1e9, 1, 3)).toEqual([1, 2, 3]);
    expect(rangeCount(5, 1, 1)).toBe(0);
    expect(rangeCount(1, 5, 0)).toBe(0);
  });
});
