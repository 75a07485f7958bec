import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FusionApi } from '../src/common/api';
import { RunStore } from '../src/common/store';
import { StreamClient } from '../src/common/stream';
import { FakeSocket, ManualTimers, makeRun } from './fakes';

/** A fake REST server for GET runs: newest first, cursor = index. */
function fakeApi(runs: () => any[]) {
  const calls: string[] = [];
  const fetch = vi.fn(async (url: string) => {
    const u = new URL(url);
    calls.push(u.pathname + u.search);
    const status = u.searchParams.get('status')?.split(',');
    const limit = Number(u.searchParams.get('limit') ?? 100);
    const start = Number(u.searchParams.get('cursor') ?? 0);
    const all = runs()
      .filter(r => !status || status.includes(r.status))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    const page = all.slice(start, start + limit);
    const next = start + limit < all.length ? String(start + limit) : null;
    return new Response(JSON.stringify({ runs: page, next_cursor: next }), { status: 200 });
  });
  return { api: new FusionApi({ apiUrl: 'http://h/fusion/api/', fetch }), calls };
}

const ts = (i: number) => `2026-01-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000000`;

function setup(serverRuns: any[], opts: { maxFinished?: number } = {}) {
  const timers = new ManualTimers();
  const stream = new StreamClient({
    url: 'ws://h/s',
    createSocket: u => new FakeSocket(u),
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    random: () => 0.5
  });
  const { api, calls } = fakeApi(() => serverRuns);
  const flushes: Array<() => void> = [];
  const store = new RunStore({ api, stream, scheduler: fn => flushes.push(fn), ...opts });
  const flush = () => flushes.splice(0).forEach(f => f());
  stream.connect();
  return { store, stream, timers, calls, flush };
}

beforeEach(() => {
  FakeSocket.all = [];
});

describe('RunStore', () => {
  it('lists newest first and keeps every active run plus maxFinished finished ones', async () => {
    const runs = Array.from({ length: 30 }, (_, i) =>
      makeRun(`r${String(i).padStart(2, '0')}`, { created_at: ts(i), status: i % 10 === 0 ? 'RUNNING' : 'COMPLETED' })
    );
    const { store } = setup(runs, { maxFinished: 5 });
    await store.load();
    expect(store.all()[0].id).toBe('r29');
    const shown = store.query({ maxFinished: 5 });
    expect(shown.filter(r => r.status === 'RUNNING').map(r => r.id)).toEqual(['r20', 'r10', 'r00']);
    expect(shown.filter(r => r.status === 'COMPLETED')).toHaveLength(5);
    expect(store.loadState).toBe('ready');
  });

  it('pages through the listing and shows the first page before the rest', async () => {
    const runs = Array.from({ length: 1200 }, (_, i) => makeRun(`r${i}`, { created_at: ts(i), status: 'COMPLETED' }));
    const { store, calls } = setup(runs, { maxFinished: 1000 });
    const sizes: number[] = [];
    store.changed.connect(() => sizes.push(store.size));
    const done = store.load();
    await done;
    expect(store.size).toBe(1200);
    const pages = calls.filter(c => !c.includes('status='));
    expect(pages[0]).toContain('limit=100');
    expect(pages.length).toBe(4); // 100 + 500 + 500 + 100 (max = maxFinished + 200)
  });

  it('filters by status, tag and name search', async () => {
    const runs = [
      makeRun('a1', { name: 'Baseline k3', tags: ['paper'], status: 'COMPLETED', created_at: ts(1) }),
      makeRun('b2', { name: 'sweep-k1', tags: ['sweep', 'paper'], status: 'FAILED', created_at: ts(2) }),
      makeRun('c3', { name: 'other', tags: [], status: 'RUNNING', created_at: ts(3) })
    ];
    const { store } = setup(runs);
    await store.load();
    expect(store.query({ statuses: new Set(['FAILED', 'COMPLETED'] as const) }).map(r => r.id)).toEqual(['b2', 'a1']);
    expect(store.query({ tag: 'paper' }).map(r => r.id)).toEqual(['b2', 'a1']);
    expect(store.query({ search: 'BASE' }).map(r => r.id)).toEqual(['a1']);
    expect(store.query({ search: 'c3' }).map(r => r.id)).toEqual(['c3']);
    expect(store.tags()).toEqual(['paper', 'sweep']);
    expect(store.counts()).toMatchObject({ COMPLETED: 1, FAILED: 1, RUNNING: 1 });
  });

  it('follows status messages: new runs, changes, deletions; status never goes back', async () => {
    const { store, flush } = setup([]);
    await store.load();
    const ws = FakeSocket.last();
    ws.open();
    const changes: any[] = [];
    store.changed.connect(c => changes.push({ ids: [...c.ids], structural: c.structural }));
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'PENDING' }) }]);
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'RUNNING' }) }]);
    flush();
    expect(changes).toEqual([{ ids: ['x'], structural: true }]); // coalesced into one notification
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'PENDING' }) }]); // stale
    expect(store.get('x')!.status).toBe('RUNNING');
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'CANCELLING' }) }]);
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'RUNNING' }) }]); // stale
    expect(store.get('x')!.status).toBe('CANCELLING');
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'CANCELLED' }) }]);
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'COMPLETED' }) }]); // terminal is final
    expect(store.get('x')!.status).toBe('CANCELLED');
    ws.frame([{ type: 'status', run_id: 'x', run: makeRun('x', { status: 'CANCELLED', deleted: true }) }]);
    expect(store.get('x')).toBeUndefined();
  });

  it('takes the folded progress of active runs from the status channel, subscribing to no run', async () => {
    const running = makeRun('r', { status: 'RUNNING', progress: { ...makeRun('r').progress, seq: 1 } });
    const { store, flush } = setup([running]);
    await store.load();
    const ws = FakeSocket.last();
    ws.open();
    expect(ws.subscribes()).toEqual([]);
    const folded = { percent: 25, erlang: 300, erlang_index: 0, erlang_count: 2, iteration: 1, iteration_count: 2, seq: 4, eta_seconds: 30 };
    ws.frame([{ type: 'run_progress', run_id: 'r', progress: folded }]);
    flush();
    expect(store.get('r')!.progress).toMatchObject(folded);
    // An older one (a replay) does not move the bar back, nor does an older listing.
    ws.frame([{ type: 'run_progress', run_id: 'r', progress: { ...folded, percent: 10, seq: 2 } }]);
    store.upsert(makeRun('r', { status: 'RUNNING', progress: { ...makeRun('r').progress, percent: 0, seq: 1 } }));
    expect(store.get('r')!.progress.percent).toBe(25);
    ws.frame([{ type: 'status', run_id: 'r', run: makeRun('r', { status: 'COMPLETED', progress: { ...makeRun('r').progress, percent: 100, seq: 9 } }) }]);
    expect(store.get('r')!.progress.percent).toBe(100);
    expect(ws.subscribes()).toEqual([]);
  });

  it('keeps the live bar when a status change carries an older progress cache', async () => {
    const { store, flush } = setup([makeRun('r', { status: 'RUNNING' })]);
    await store.load();
    const ws = FakeSocket.last();
    ws.open();
    const folded = { percent: 25, erlang: 300, erlang_index: 0, erlang_count: 1, iteration: 1, iteration_count: 4, seq: 2 };
    ws.frame([{ type: 'run_progress', run_id: 'r', progress: folded }]);
    ws.frame([{ type: 'status', run_id: 'r', run: makeRun('r', { status: 'CANCELLED' }) }]);
    flush();
    expect(store.get('r')!.status).toBe('CANCELLED');
    expect(store.get('r')!.progress.percent).toBe(25);
  });

  it('re-lists after a reconnect: catches up changes and drops runs deleted meanwhile', async () => {
    const server = [
      makeRun('a', { status: 'RUNNING', created_at: ts(1) }),
      makeRun('b', { status: 'COMPLETED', created_at: ts(2) })
    ];
    const { store, timers } = setup(server);
    await store.load();
    let ws = FakeSocket.last();
    ws.open();
    ws.drop();
    // While disconnected: a finished, b deleted, c created.
    server[0] = makeRun('a', { status: 'COMPLETED', created_at: ts(1), progress: { ...makeRun('a').progress, percent: 100, seq: 5 } });
    server.splice(1, 1);
    server.push(makeRun('c', { status: 'RUNNING', created_at: ts(3) }));
    timers.advance(10_000);
    ws = FakeSocket.last();
    const reloaded = new Promise<void>(r => store.loadStateChanged.connect(s => s === 'ready' && r()));
    ws.open();
    await reloaded;
    expect(store.all().map(r => `${r.id}:${r.status}`)).toEqual(['c:RUNNING', 'a:COMPLETED']);
  });

  it('a load error is reported, not thrown away', async () => {
    const timers = new ManualTimers();
    const api = new FusionApi({
      apiUrl: 'http://h/fusion/api/',
      fetch: async () => new Response(JSON.stringify({ error: { code: 'boom', message: 'db down' } }), { status: 503 })
    });
    const store = new RunStore({ api, scheduler: fn => timers.setTimeout(fn, 0) });
    await expect(store.load()).rejects.toThrow('db down');
    expect(store.loadState).toBe('error');
  });
});
