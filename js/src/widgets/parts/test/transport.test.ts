import { describe, expect, it } from 'vitest';
import type { AnyModel, Handler } from '../anywidget';
import { ChannelSocket, channelFetch, continuing, KernelChannel } from '../channel';
import { chooseTransport } from '../connection';
import { sameServer } from '../page';

class FakeModel implements AnyModel {
  sent: any[] = [];
  private handlers = new Map<string, Set<Handler>>();
  state: Record<string, unknown> = {};
  get(name: string): any {
    return this.state[name];
  }
  set(name: string, value: unknown): void {
    this.state[name] = value;
  }
  save_changes(): void {}
  on(event: string, handler: Handler): void {
    if (!this.handlers.has(event)) {
      this.handlers.set(event, new Set());
    }
    this.handlers.get(event)!.add(handler);
  }
  off(event?: string | null, handler?: Handler | null): void {
    if (event && handler) {
      this.handlers.get(event)?.delete(handler);
    }
  }
  send(content: unknown, _callbacks?: unknown, buffers?: unknown): void {
    this.sent.push({ content, buffers });
  }
  /** A custom message from the kernel. */
  receive(content: unknown, buffers: unknown[] = []): void {
    this.handlers.get('msg:custom')?.forEach(h => h(content, buffers));
  }
}

const tick = () => new Promise(resolve => setTimeout(resolve, 0));

describe('transport choice', () => {
  const page = { root: 'http://localhost:8888/user/a/', token: 't' };

  it('is direct only when the kernel uses the page server', () => {
    expect(chooseTransport({ server_url: 'http://127.0.0.1:8888/user/a/' }, page).kind).toBe('direct');
    expect(chooseTransport({ server_url: '' }, page)).toMatchObject({ kind: 'relay', reason: expect.stringContaining('embedded') });
    expect(chooseTransport({ server_url: 'http://127.0.0.1:9999/user/a/' }, page).kind).toBe('relay');
    expect(chooseTransport({ server_url: 'http://127.0.0.1:8888/user/a/' }, null).kind).toBe('relay');
    expect(chooseTransport({ server_url: 'http://127.0.0.1:8888/user/a/', mode: 'relay' }, page).kind).toBe('relay');
    expect(chooseTransport({ server_url: '', mode: 'direct' }, page).kind).toBe('direct');
  });

  it('compares servers by scheme, port, path and host (loopback names alike)', () => {
    expect(sameServer('http://127.0.0.1:8888/', 'http://localhost:8888')).toBe(true);
    expect(sameServer('http://127.0.0.1:8888/a/', 'http://127.0.0.1:8888/b/')).toBe(false);
    expect(sameServer('https://h:443/', 'https://h/')).toBe(true);
    expect(sameServer('http://h:80/', 'https://h/')).toBe(false);
    expect(sameServer('http://a:1/', 'http://b:1/')).toBe(false);
    expect(sameServer('nonsense', 'http://b:1/')).toBe(false);
  });
});

describe('kernel channel', () => {
  it('answers requests by id and turns HTTP replies into Responses', async () => {
    const model = new FakeModel();
    const channel = new KernelChannel(model);
    const fetch = channelFetch(channel, 'http://kernel.invalid/fusion/api/');
    const pending = fetch('http://kernel.invalid/fusion/api/runs/ab/artifacts/out%20put/a.csv?download=1', {
      method: 'GET',
      headers: { Range: 'bytes=0-1' }
    });
    const sent = model.sent[0].content;
    expect(sent).toMatchObject({ kind: 'fusion', op: 'http', method: 'GET', path: 'runs/ab/artifacts/out%20put/a.csv', query: { download: '1' } });
    expect(sent.headers.range).toBe('bytes=0-1');
    model.receive({ kind: 'fusion-reply', id: sent.id, status: 206, headers: { 'Content-Type': 'text/csv' } }, [new TextEncoder().encode('ab')]);
    const response = await pending;
    expect(response.status).toBe(206);
    expect(await response.text()).toBe('ab');

    const json = fetch('http://kernel.invalid/fusion/api/runs/zz');
    model.receive({ kind: 'fusion-reply', id: model.sent[1].content.id, status: 404, json: { error: { message: 'no run' } } });
    const r = await json;
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: { message: 'no run' } });
  });

  it('calls kernel commands and rejects on error answers', async () => {
    const model = new FakeModel();
    const channel = new KernelChannel(model);
    const ok = channel.call<{ name: string }>('load', { path: 'a.csv', name: 'df' });
    model.receive({ kind: 'fusion-reply', id: model.sent[0].content.id, status: 200, json: { name: 'df' } });
    expect(await ok).toEqual({ name: 'df' });
    const bad = channel.call('load', { name: '1' });
    model.receive({ kind: 'fusion-reply', id: model.sent[1].content.id, status: 400, json: { error: { message: 'bad name' } } });
    await expect(bad).rejects.toThrow('bad name');
    const pending = channel.call('x');
    channel.dispose();
    await expect(pending).rejects.toThrow('closed');
  });
});

describe('relay socket', () => {
  const notice = (after = -1) => ({ type: 'subscribed', run_id: 'r', after, log_offset: 0 });
  const p = (seq: number) => ({ type: 'progress', run_id: 'r', seq, event: { type: 'iteration', seq } });

  it('uses what the kernel relayed early when it continues from the subscription', async () => {
    const model = new FakeModel();
    const channel = new KernelChannel(model);
    model.receive({ kind: 'fusion-frame', messages: [notice(), p(0), p(1)] });
    model.receive({ kind: 'fusion-frame', messages: [p(2)] });
    expect(channel.early.length).toBe(4);
    const socket = new ChannelSocket(channel);
    const got: any[] = [];
    socket.onmessage = ev => got.push(...ev.data);
    await tick();
    expect(socket.readyState).toBe(1);
    socket.send(JSON.stringify({ op: 'subscribe', run_id: 'r', channels: ['progress'], after: -1, log_offset: 0 }));
    model.receive({ kind: 'fusion-frame', messages: [p(3)] });
    await tick();
    expect(got.filter(m => m.type === 'progress').map(m => m.seq)).toEqual([0, 1, 2, 3]);
    expect(JSON.parse(model.sent[0].content.data).op).toBe('subscribe');
  });

  it('waits for the acknowledgement when early messages have a gap', async () => {
    expect(continuing([p(1), p(2)], 'r', { after: -1, log_offset: 0 })).toBeNull(); // no notice
    expect(continuing([notice(), p(0), p(2)], 'r', { after: -1, log_offset: 0 })).toBeNull(); // a gap
    expect(continuing([notice(3), p(4)], 'r', { after: -1, log_offset: 0 })).toBeNull(); // starts too late
    const model = new FakeModel();
    const channel = new KernelChannel(model);
    model.receive({ kind: 'fusion-frame', messages: [p(5), p(6)] }); // the start was lost
    const socket = new ChannelSocket(channel);
    const got: any[] = [];
    socket.onmessage = ev => got.push(...ev.data);
    await tick();
    socket.send(JSON.stringify({ op: 'subscribe', run_id: 'r', channels: ['progress'], after: -1, log_offset: 0 }));
    model.receive({ kind: 'fusion-frame', messages: [p(7)] }); // ignored: would hide 0..6
    model.receive({ kind: 'fusion-frame', messages: [notice(), p(0), p(1)] });
    await tick();
    expect(got.filter(m => m.type === 'progress').map(m => m.seq)).toEqual([0, 1]);
  });

  it('checks that early log bytes join up', () => {
    const log = (offset: number, next: number) => ({ type: 'log', run_id: 'r', offset, next_offset: next, data: 'x'.repeat(next - offset) });
    expect(continuing([notice(), log(0, 5), log(5, 9)], 'r', { after: -1, log_offset: 0 })).toHaveLength(2);
    expect(continuing([notice(), log(0, 5), log(6, 9)], 'r', { after: -1, log_offset: 0 })).toBeNull();
  });
});
