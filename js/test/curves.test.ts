import { describe, expect, it } from 'vitest';
import { configDiff, parseIni } from '../src/common/ini';
import { curvesCsv, shortKey, type SweepCurves } from '../src/common/curves';

describe('INI configs', () => {
  it('reads sections, keys, comments and continued values', () => {
    const text = '# frozen\n[general_settings]\nerlang_start = 300\nMax_Iters: 4\n\n[s]\nlist = a,\n  b\n; note\n';
    expect(parseIni(text)).toEqual({ general_settings: { erlang_start: '300', max_iters: '4' }, s: { list: 'a,\nb' } });
  });

  it('lists only the keys that differ, absent ones included', () => {
    const a = { g: { x: '1', y: '2' }, r: { k: '3' } };
    const b = { g: { x: '1', y: '5' } };
    const c = { g: { x: '1', y: '2' }, r: { k: '3' } };
    expect(configDiff([a, b, c])).toEqual([
      { section: 'g', key: 'y', values: ['2', '5', '2'] },
      { section: 'r', key: 'k', values: ['3', undefined, '3'] }
    ]);
    expect(configDiff([a, c])).toEqual([]);
  });
});

describe('sweep curves', () => {
  it('export as CSV with the grouped keys as columns', () => {
    const data = {
      sweep_id: 'abc',
      by: ['routing_settings.k_paths'],
      varying: ['routing_settings.k_paths'],
      grid: { 'routing_settings.k_paths': [1, 2] },
      runs: 2,
      with_results: 2,
      curves: [{ label: 'k_paths = 1', values: { 'routing_settings.k_paths': 1 }, points: [{ erlang: 100, blocking_mean: 0.1, ci_lower: null, ci_upper: null }] }]
    } as SweepCurves;
    expect(curvesCsv(data)).toBe('curve,routing_settings.k_paths,erlang,blocking_mean,ci_lower,ci_upper\nk_paths = 1,1,100,0.1,,\n');
    expect(shortKey('routing_settings.k_paths')).toBe('k_paths');
  });
});
