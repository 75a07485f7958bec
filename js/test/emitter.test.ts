import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Emitter, throttledScheduler } from '../src/common/emitter';

describe('emitter and schedulers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps listeners apart: one throwing does not stop the others', () => {
    const e = new Emitter<number>();
    const got: number[] = [];
    e.connect(() => {
      throw new Error('boom');
    });
    const off = e.connect(v => got.push(v));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    e.emit(1);
    off();
    e.emit(2);
    expect(got).toEqual([1]);
  });

  it('throttledScheduler runs at once, then no sooner than the interval after', () => {
    let now = 1000;
    const schedule = throttledScheduler(33, () => now);
    const runs: number[] = [];
    schedule(() => runs.push(now));
    vi.advanceTimersByTime(0);
    expect(runs).toEqual([1000]);
    now = 1010;
    schedule(() => runs.push(now));
    vi.advanceTimersByTime(0);
    expect(runs).toEqual([1000]); // 23 ms to go
    now = 1033;
    vi.advanceTimersByTime(23);
    vi.advanceTimersByTime(20); // then the next frame
    expect(runs).toEqual([1000, 1033]);
  });
});
