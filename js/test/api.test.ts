import { describe, expect, it, vi } from 'vitest';
import { encodePath, FusionApi, FusionApiError } from '../src/common/api';
import { runCodeCells, parseTime, formatBytes } from '../src/common/format';

function api(answer: (url: string, init?: RequestInit) => Response) {
  const fetch = vi.fn(async (url: string, init?: RequestInit) => answer(url, init));
  return { api: new FusionApi({ apiUrl: 'http://h/base/fusion/api', fetch }), fetch };
}

describe('FusionApi', () => {
  it('lists compact rows as runs, with empty values for what a row does not carry', async () => {
    const columns = ['id', 'name', 'status', 'template', 'tags', 'sweep_id', 'executor', 'created_at', 'error', 'percent', 'erlang', 'erlang_index', 'erlang_count', 'iteration', 'iteration_count', 'seq'];
    const rows = [['aaaaaaaaaaaa', 'k', 'RUNNING', 'minimal', ['t'], null, 'local', '2026-01-01T00:00:00Z', null, 40, 400, 1, 3, 2, 4, 7]];
    const { api: a, fetch } = api(() => new Response(JSON.stringify({ columns, rows, next_cursor: null })));
    const runs = await a.listAllRuns({ status: 'RUNNING' }, { compact: true });
    expect(fetch.mock.calls[0][0]).toBe('http://h/base/fusion/api/runs?view=compact&status=RUNNING&limit=500');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: 'aaaaaaaaaaaa', status: 'RUNNING', tags: ['t'], started_at: null, error: null });
    expect(runs[0].progress).toEqual({ percent: 40, erlang: 400, erlang_index: 1, erlang_count: 3, iteration: 2, iteration_count: 4, seq: 7 });
  });

  it('sends every call through the injected fetch with JSON bodies and queries', async () => {
    const { api: a, fetch } = api(() => new Response(JSON.stringify({ id: 'abc' }), { status: 201 }));
    await a.createRun({ template: 'minimal', overrides: { general_settings: { max_iters: 2 } }, name: 'n', tags: ['t'] });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('http://h/base/fusion/api/runs');
    expect(init!.method).toBe('POST');
    expect(JSON.parse(init!.body as string)).toEqual({ template: 'minimal', overrides: { general_settings: { max_iters: 2 } }, name: 'n', tags: ['t'] });
    await a.listRuns({ status: ['RUNNING', 'PENDING'], tag: 'x y' }, { limit: 5, cursor: 'c1' });
    expect(fetch.mock.calls[1][0]).toBe('http://h/base/fusion/api/runs?status=RUNNING%2CPENDING&tag=x+y&limit=5&cursor=c1');
    await a.deleteRun('abc', { purge: true });
    expect(fetch.mock.calls[2][0]).toBe('http://h/base/fusion/api/runs/abc?purge=true');
    expect(fetch.mock.calls[2][1]!.method).toBe('DELETE');
  });

  it('turns error answers into FusionApiError with code and details', async () => {
    const { api: a } = api(
      () => new Response(JSON.stringify({ error: { code: 'conflict', message: 'run already ended', details: { status: 'COMPLETED' } } }), { status: 409 })
    );
    const err = await a.cancelRun('abc').catch(e => e);
    expect(err).toBeInstanceOf(FusionApiError);
    expect(err).toMatchObject({ status: 409, code: 'conflict', message: 'run already ended', details: { status: 'COMPLETED' } });
  });

  it('reports a network failure as status 0', async () => {
    const a = new FusionApi({ apiUrl: 'http://h/fusion/api/', fetch: async () => { throw new TypeError('Failed to fetch'); } });
    await expect(a.health()).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('handles 204 and encodes artifact paths by segment', async () => {
    const { api: a, fetch } = api(() => new Response(null, { status: 204 }));
    await expect(a.deleteRun('x')).resolves.toBeUndefined();
    expect(encodePath('output/a b/300.0_erlang.json')).toBe('output/a%20b/300.0_erlang.json');
    const ok = new Response('data', { status: 206 });
    fetch.mockResolvedValueOnce(ok);
    await a.artifact('r1', 'output/x#1.csv', { download: true, range: [0, 9] });
    const [url, init] = fetch.mock.calls[1];
    expect(url).toBe('http://h/base/fusion/api/runs/r1/artifacts/output/x%231.csv?download=1');
    expect((init!.headers as Record<string, string>).Range).toBe('bytes=0-9');
  });
});

describe('formatting', () => {
  it('formats', () => {
    expect(runCodeCells('0123456789ab')).toEqual([
      'import fusion_jupyter as fj\nrun = fj.connect().get("0123456789ab")',
      'run.results()'
    ]);
    expect(parseTime('2026-01-01T00:00:00')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTime('2026-01-01T00:00:00+00:00')).toBe(Date.UTC(2026, 0, 1));
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});
