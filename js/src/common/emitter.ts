/** A minimal typed event source (no Lumino: the widgets run outside JupyterLab too). */
export class Emitter<T> {
  private listeners = new Set<(value: T) => void>();

  /** Listen; returns the function that stops listening. */
  connect(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (err) {
        console.error('fusion: listener failed', err);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}

/** Run ``fn`` soon, coalescing: how the store batches change notifications. */
export type Scheduler = (fn: () => void) => void;

/** Next animation frame in a browser (batched with painting), else a macrotask. */
export const defaultScheduler: Scheduler = fn => {
  const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => number })
    .requestAnimationFrame;
  const doc = (globalThis as { document?: { visibilityState?: string } }).document;
  if (raf && doc?.visibilityState !== 'hidden') {
    raf(fn);
  } else {
    setTimeout(fn, 0);
  }
};

/**
 * Like defaultScheduler, but at most one run per ``minIntervalMs``: caps how often a
 * view repaints under a flood of updates (each repaint of a big page costs the
 * browser layout, paint and compositing, whatever changed), at the price of up to
 * ``minIntervalMs`` of added latency.
 */
export function throttledScheduler(minIntervalMs: number, now: () => number = () => Date.now()): Scheduler {
  let last = -Infinity;
  return fn => {
    const wait = last + minIntervalMs - now();
    const run = () => {
      last = now();
      fn();
    };
    if (wait <= 0) {
      defaultScheduler(run);
    } else {
      setTimeout(() => defaultScheduler(run), wait);
    }
  };
}
