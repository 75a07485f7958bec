import type { SocketLike } from '../src/common/stream';

/** A WebSocket stand-in: the test opens, feeds frames to and closes it. */
export class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: any[] = [];
  onopen: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  static last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }

  send(data: string): void {
    if (this.readyState !== 1) {
      throw new Error('not open');
    }
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  frame(messages: unknown[]): void {
    this.onmessage?.({ data: JSON.stringify(messages) });
  }

  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }

  subscribes(): any[] {
    return this.sent.filter(m => m.op === 'subscribe');
  }
}

/** Timers the test advances by hand. */
export class ManualTimers {
  now = 0;
  private queue: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  delays: number[] = [];

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.nextId++;
    this.delays.push(ms);
    this.queue.push({ at: this.now + ms, fn, id });
    return id;
  };

  clearTimeout = (id: number): void => {
    this.queue = this.queue.filter(t => t.id !== id);
  };

  advance(ms: number): void {
    this.now += ms;
    for (;;) {
      const due = this.queue.filter(t => t.at <= this.now).sort((a, b) => a.at - b.at)[0];
      if (!due) {
        return;
      }
      this.queue = this.queue.filter(t => t !== due);
      due.fn();
    }
  }

  get pending(): number {
    return this.queue.length;
  }
}

export function makeRun(id: string, overrides: Record<string, any> = {}): any {
  return {
    id,
    name: overrides.name ?? `run-${id}`,
    template: 'minimal',
    status: 'PENDING',
    executor: 'local',
    tags: [],
    sweep_id: null,
    created_at: '2026-01-01T00:00:00.000000',
    started_at: null,
    completed_at: null,
    exit_code: null,
    error: null,
    progress: {
      percent: 0,
      erlang: null,
      erlang_index: null,
      erlang_count: null,
      iteration: null,
      iteration_count: null,
      seq: -1
    },
    ...overrides
  };
}

export function progressMsg(runId: string, seq: number, event: Record<string, any> = { type: 'iteration' }) {
  return { type: 'progress', run_id: runId, seq, event: { ...event, seq } };
}
