import { beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamClient, streamUrl, type Backfill } from '../src/common/stream';
import { FakeSocket, ManualTimers, progressMsg } from './fakes';

function client(extra: Partial<ConstructorParameters<typeof StreamClient>[0]> = {}) {
  const timers = new ManualTimers();
  const c = new StreamClient({
    url: 'ws://h/fusion/api/stream',
    createSocket: url => new FakeSocket(url),
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    random: () => 0.5, // no jitter
    ...extra
  });
  return { c, timers };
}

beforeEach(() => {
  FakeSocket.all = [];
});

describe('StreamClient', () => {
  it('subscribes on open with after and log_offset, and batches a frame into one call', () => {
    const { c } = client();
    const got: number[][] = [];
    c.subscribe('r1', { progress: evs => got.push(evs.map(e => e.seq)) }, { after: 4, channels: ['progress', 'logs'], logOffset: 100 });
    const ws = FakeSocket.last();
    expect(ws.sent).toEqual([]); // not open yet: nothing sent, nothing lost
    ws.open();
    expect(ws.subscribes()).toEqual([
      { op: 'subscribe', run_id: 'r1', channels: ['logs', 'progress'], after: 4, log_offset: 100 }
    ]);
    ws.frame([progressMsg('r1', 5), progressMsg('r1', 6), progressMsg('r1', 7)]);
    expect(got).toEqual([[5, 6, 7]]);
  });

  it('drops duplicate and stale progress events by seq', () => {
    const { c } = client();
    const got: number[] = [];
    c.subscribe('r1', { progress: evs => got.push(...evs.map(e => e.seq)) }, { after: 1 });
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([progressMsg('r1', 0), progressMsg('r1', 1), progressMsg('r1', 2), progressMsg('r1', 3)]);
    ws.frame([progressMsg('r1', 3), progressMsg('r1', 2), progressMsg('r1', 4)]);
    expect(got).toEqual([2, 3, 4]);
  });

  it('ignores messages of runs nobody subscribed to', () => {
    const { c } = client();
    const spy = vi.fn();
    c.subscribe('r1', { progress: spy });
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([progressMsg('other', 0)]);
    expect(spy).not.toHaveBeenCalled();
  });

  it('delivers log bytes once, trimming an overlap by bytes (UTF-8 aware)', () => {
    const { c } = client();
    const chunks: string[] = [];
    c.subscribe('r1', { log: ch => chunks.push(`${ch.offset}-${ch.nextOffset}:${ch.data}`) }, { channels: ['logs'] });
    const ws = FakeSocket.last();
    ws.open();
    // "é" is two bytes: "aé\n" is bytes 0..4
    ws.frame([{ type: 'log', run_id: 'r1', offset: 0, next_offset: 4, data: 'aé\n' }]);
    // A replay overlapping the first 4 bytes, then new data.
    ws.frame([{ type: 'log', run_id: 'r1', offset: 0, next_offset: 7, data: 'aé\nbc\n' }]);
    ws.frame([{ type: 'log', run_id: 'r1', offset: 0, next_offset: 7, data: 'aé\nbc\n' }]);
    expect(chunks).toEqual(['0-4:aé\n', '4-7:bc\n']);
  });

  it('merges consecutive log chunks of one frame', () => {
    const { c } = client();
    const chunks: string[] = [];
    c.subscribe('r1', { log: ch => chunks.push(ch.data) }, { channels: ['logs'] });
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([
      { type: 'log', run_id: 'r1', offset: 0, next_offset: 2, data: 'a\n' },
      { type: 'log', run_id: 'r1', offset: 2, next_offset: 4, data: 'b\n' }
    ]);
    expect(chunks).toEqual(['a\nb\n']);
  });

  it('emits status messages once per frame', () => {
    const { c } = client();
    const calls: string[][] = [];
    c.status.connect(runs => calls.push(runs.map(r => `${r.id}:${r.status}`)));
    c.connect();
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([
      { type: 'status', run_id: 'a', run: { id: 'a', status: 'RUNNING' } },
      { type: 'status', run_id: 'b', run: { id: 'b', status: 'PENDING' } }
    ]);
    expect(calls).toEqual([['a:RUNNING', 'b:PENDING']]);
  });

  it('reconnects with exponential backoff and resumes after what it has', () => {
    const { c, timers } = client({ initialDelayMs: 100, maxDelayMs: 1000 });
    const states: string[] = [];
    c.connection.connect(ch => states.push(ch.state + (ch.reconnected ? '+' : '')));
    const got: number[] = [];
    const logs: string[] = [];
    c.subscribe('r1', { progress: evs => got.push(...evs.map(e => e.seq)), log: ch => logs.push(ch.data) }, {
      channels: ['progress', 'logs']
    });
    let ws = FakeSocket.last();
    ws.open();
    ws.frame([progressMsg('r1', 0), progressMsg('r1', 1), { type: 'log', run_id: 'r1', offset: 0, next_offset: 3, data: 'ab\n' }]);
    ws.drop();
    // Attempts fail: delays grow 100, 200, 400, 800, 1000 (capped).
    for (let i = 0; i < 5; i++) {
      timers.advance(timers.delays[timers.delays.length - 1]);
      FakeSocket.last().drop();
    }
    expect(timers.delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    timers.advance(1000);
    ws = FakeSocket.last();
    ws.open();
    expect(ws.subscribes()).toEqual([
      { op: 'subscribe', run_id: 'r1', channels: ['logs', 'progress'], after: 1, log_offset: 3 }
    ]);
    // The server replays from there; an overlapping replay is deduplicated.
    ws.frame([progressMsg('r1', 1), progressMsg('r1', 2), { type: 'log', run_id: 'r1', offset: 3, next_offset: 5, data: 'c\n' }]);
    expect(got).toEqual([0, 1, 2]);
    expect(logs).toEqual(['ab\n', 'c\n']);
    expect(states[0]).toBe('connecting');
    expect(states[states.length - 1]).toBe('open+');
    // After a successful open the backoff starts over.
    ws.drop();
    expect(timers.delays[timers.delays.length - 1]).toBe(100);
  });

  it('applies jitter within bounds', () => {
    const { c, timers } = client({ initialDelayMs: 1000, jitter: 0.2, random: () => 1 });
    c.connect();
    FakeSocket.last().drop();
    expect(timers.delays).toEqual([1200]);
  });

  it('shares one server subscription between subscribers and unsubscribes with the last', () => {
    const { c } = client();
    const a: number[] = [];
    const b: number[] = [];
    const sa = c.subscribe('r1', { progress: evs => a.push(...evs.map(e => e.seq)) });
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([progressMsg('r1', 0)]);
    const sb = c.subscribe('r1', { progress: evs => b.push(...evs.map(e => e.seq)) }, { after: 0 });
    expect(ws.subscribes()).toHaveLength(1); // same channels: no new subscribe
    ws.frame([progressMsg('r1', 1)]);
    expect(a).toEqual([0, 1]);
    expect(b).toEqual([1]);
    sa.close();
    expect(ws.sent.filter(m => m.op === 'unsubscribe')).toEqual([]);
    sb.close();
    expect(ws.sent.filter(m => m.op === 'unsubscribe')).toEqual([{ op: 'unsubscribe', run_id: 'r1' }]);
    expect(c.subscribedRuns).toEqual([]);
  });

  it('catches a late subscriber up through REST, holding live events meanwhile', async () => {
    let resolve!: (v: any) => void;
    const backfill: Backfill = {
      progress: vi.fn(() => new Promise<any>(r => (resolve = r))),
      logs: vi.fn()
    };
    const { c } = client({ backfill });
    c.subscribe('r1', {});
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([progressMsg('r1', 0), progressMsg('r1', 1), progressMsg('r1', 2)]);
    const late: number[] = [];
    c.subscribe('r1', { progress: evs => late.push(...evs.map(e => e.seq)) }, { after: -1 });
    expect(backfill.progress).toHaveBeenCalledWith('r1', -1);
    ws.frame([progressMsg('r1', 3)]); // live, while the catch-up is on its way
    expect(late).toEqual([]);
    resolve({ events: [0, 1, 2, 3].map(seq => ({ type: 'iteration', seq })), last_seq: 3 });
    await new Promise(r => setTimeout(r, 0));
    expect(late).toEqual([0, 1, 2, 3]);
    ws.frame([progressMsg('r1', 4)]);
    expect(late).toEqual([0, 1, 2, 3, 4]);
  });

  it('resubscribes with the union of channels when a subscriber wants logs', () => {
    const { c } = client();
    c.subscribe('r1', {});
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([progressMsg('r1', 0)]);
    const s = c.subscribe('r1', { log: () => undefined }, { channels: ['logs'], logOffset: 10 });
    expect(ws.subscribes()[1]).toEqual({ op: 'subscribe', run_id: 'r1', channels: ['logs', 'progress'], after: 0, log_offset: 10 });
    s.close();
    expect(ws.subscribes()[2]).toEqual({ op: 'subscribe', run_id: 'r1', channels: ['progress'], after: 0, log_offset: 10 });
  });

  it('tells listeners about lagged notices and keeps order after the catch-up', () => {
    const { c } = client();
    const lagged = vi.fn();
    const got: number[] = [];
    c.subscribe('r1', { lagged, progress: evs => got.push(...evs.map(e => e.seq)) });
    const ws = FakeSocket.last();
    ws.open();
    ws.frame([progressMsg('r1', 0), { type: 'lagged', run_id: 'r1', after: 0 }, progressMsg('r1', 1), progressMsg('r1', 2)]);
    expect(lagged).toHaveBeenCalledWith(0, 'r1');
    expect(got).toEqual([0, 1, 2]);
  });

  it('stops for good when disposed', () => {
    const { c, timers } = client();
    c.connect();
    const ws = FakeSocket.last();
    ws.open();
    c.dispose();
    expect(ws.readyState).toBe(3);
    expect(timers.pending).toBe(0);
    expect(c.connectionState).toBe('closed');
  });

  it('reconnects at once on demand', () => {
    const { c, timers } = client({ initialDelayMs: 5000 });
    c.connect();
    FakeSocket.last().drop();
    expect(FakeSocket.all).toHaveLength(1);
    c.reconnectNow();
    expect(FakeSocket.all).toHaveLength(2);
    expect(timers.pending).toBe(0);
  });

  it('builds the stream URL from the API URL', () => {
    expect(streamUrl('http://h:8888/base/fusion/api/', 'tok')).toBe('ws://h:8888/base/fusion/api/stream?token=tok');
    expect(streamUrl('https://h/fusion/api')).toBe('wss://h/fusion/api/stream');
  });
});
