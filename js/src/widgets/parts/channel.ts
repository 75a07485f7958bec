import type { FetchLike } from '../../common/api';
import { Emitter } from '../../common/emitter';
import type { SocketLike } from '../../common/stream';
import type { AnyModel } from './anywidget';

/**
 * The kernel end of a widget: custom messages through the widget model (the Python
 * class answers them, fusion_jupyter/widgets/base.py). Three uses:
 *
 * - ``ws``: the stream protocol of ``{base_url}fusion/api/stream`` (subscribe,
 *   unsubscribe ...) relayed by the kernel, which sends frames back
 *   (:class:`ChannelSocket`), for pages that cannot reach the server themselves;
 * - ``http``: the REST API answered by the kernel's client (:func:`channelFetch`);
 * - ``call``: widget commands that only the kernel can do (load into pandas).
 *
 * Requests carry an id; the kernel answers each once, in any order. While the kernel
 * runs a cell, requests wait (the frames of subscriptions it already has do not).
 */

/** ``content.kind`` of messages to the kernel. */
export const TO_KERNEL = 'fusion';
/** A stream frame (a list of messages) from the kernel. */
export const FRAME = 'fusion-frame';
/** The answer to one request. */
export const REPLY = 'fusion-reply';

export interface KernelReply {
  status: number;
  /** A JSON answer. */
  json?: unknown;
  headers?: Record<string, string>;
  /** A binary answer (buffers[0]). */
  body?: ArrayBuffer | null;
}

export class KernelError extends Error {
  constructor(readonly status: number, readonly payload: unknown) {
    super(errorMessage(payload) ?? `the kernel answered ${status}`);
    this.name = 'KernelError';
  }
}

function errorMessage(payload: unknown): string | null {
  const error = (payload as { error?: { message?: unknown } } | null)?.error;
  return error && typeof error.message === 'string' ? error.message : null;
}

interface Pending {
  resolve(reply: KernelReply): void;
  reject(err: Error): void;
}

function toArrayBuffer(view: unknown): ArrayBuffer | null {
  if (view instanceof ArrayBuffer) {
    return view;
  }
  if (ArrayBuffer.isView(view)) {
    const v = view as ArrayBufferView;
    return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
  }
  return null;
}

/** At most this many messages are kept from frames that arrive before anyone listens. */
const EARLY_LIMIT = 5000;

type StreamMsg = {
  type?: string;
  run_id?: string;
  seq?: number;
  offset?: number;
  next_offset?: number;
  after?: number;
  log_offset?: number;
};

/** Where a subscription starts: after this seq, at this log byte. */
export interface Start {
  after: number;
  log_offset: number;
}

/** Whether a ``subscribed`` notice (the kernel relays from its point on) covers ``want``. */
function covers(notice: StreamMsg, want: Start): boolean {
  return (notice.after ?? Infinity) <= want.after && (notice.log_offset ?? Infinity) <= want.log_offset;
}

/**
 * The early messages of one run that a subscription starting at ``want`` can use:
 * everything after the kernel's last ``subscribed`` notice for the run, provided that
 * notice starts no later than ``want`` and nothing is missing after it (seqs follow
 * each other, log bytes join up). Null otherwise: the kernel's answer will bring it.
 */
export function continuing(early: unknown[], runId: string, want: Start): unknown[] | null {
  let from = -1;
  early.forEach((raw, i) => {
    const m = raw as StreamMsg;
    if (m?.run_id === runId && m.type === 'subscribed') {
      from = i;
    }
  });
  if (from < 0) {
    return null;
  }
  const notice = early[from] as StreamMsg;
  if (!covers(notice, want)) {
    return null;
  }
  let seq = notice.after ?? -1;
  let offset = notice.log_offset ?? 0;
  const out: unknown[] = [];
  for (const raw of early.slice(from + 1)) {
    const m = raw as StreamMsg;
    if (m?.run_id !== runId) {
      continue;
    }
    if (m.type === 'progress' && typeof m.seq === 'number') {
      if (m.seq <= seq) {
        continue;
      }
      if (m.seq !== seq + 1) {
        return null;
      }
      seq = m.seq;
    } else if (m.type === 'log' && typeof m.offset === 'number' && typeof m.next_offset === 'number') {
      if (m.next_offset <= offset) {
        continue;
      }
      if (m.offset > offset) {
        return null;
      }
      offset = m.next_offset;
    }
    out.push(m);
  }
  return out;
}

export class KernelChannel {
  /** Stream frames relayed by the kernel. */
  readonly frames = new Emitter<unknown[]>();
  /**
   * Frames the kernel sent before any socket listened (it starts relaying a run when
   * the widget is created, so that a busy kernel need not first read our subscribe).
   */
  early: unknown[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /**
   * The same early messages kept in the model's ``_early`` trait by the kernel: custom
   * messages sent while the page was still loading the widget are lost, state is not.
   */
  earlyState(): unknown[] {
    const kept = this.model.get('_early');
    return Array.isArray(kept) ? kept : [];
  }
  private disposed = false;
  private readonly onMessage = (content: unknown, buffers?: unknown[]): void => this.receive(content, buffers ?? []);

  constructor(private readonly model: AnyModel) {
    model.on('msg:custom', this.onMessage);
  }

  /** Send one stream operation (already JSON) for the kernel to relay. */
  sendWs(data: string): void {
    if (!this.disposed) {
      this.model.send({ kind: TO_KERNEL, op: 'ws', data });
    }
  }

  /** A request the kernel answers once. */
  request(op: 'http' | 'call', payload: Record<string, unknown>): Promise<KernelReply> {
    if (this.disposed) {
      return Promise.reject(new Error('the widget was closed'));
    }
    const id = this.nextId++;
    return new Promise<KernelReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.model.send({ kind: TO_KERNEL, op, id, ...payload });
    });
  }

  /** Call a widget command in the kernel; its JSON answer, or a KernelError. */
  async call<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
    const reply = await this.request('call', { name, args });
    if (reply.status >= 400) {
      throw new KernelError(reply.status, reply.json);
    }
    return reply.json as T;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.model.off('msg:custom', this.onMessage);
    for (const p of this.pending.values()) {
      p.reject(new Error('the widget was closed'));
    }
    this.pending.clear();
    this.frames.clear();
  }

  private receive(content: unknown, buffers: unknown[]): void {
    const msg = content as { kind?: string; id?: number; messages?: unknown[] } & KernelReply;
    if (!msg || typeof msg !== 'object') {
      return;
    }
    if (msg.kind === FRAME && Array.isArray(msg.messages)) {
      if (this.frames.size) {
        this.frames.emit(msg.messages);
      } else if (this.early.length < EARLY_LIMIT) {
        this.early.push(...msg.messages.slice(0, EARLY_LIMIT - this.early.length));
      }
    } else if (msg.kind === REPLY && typeof msg.id === 'number') {
      const waiting = this.pending.get(msg.id);
      if (waiting) {
        this.pending.delete(msg.id);
        waiting.resolve({
          status: msg.status,
          json: msg.json,
          headers: msg.headers,
          body: buffers.length ? toArrayBuffer(buffers[0]) : null
        });
      }
    }
  }
}

/**
 * A fetch whose requests the kernel answers with its own client (same paths, query
 * and JSON bodies as the REST API), so FusionApi works unchanged over the kernel.
 */
export function channelFetch(channel: KernelChannel, apiUrl: string): FetchLike {
  const root = new URL(apiUrl);
  return async (url, init = {}) => {
    const target = new URL(url, root);
    // Still percent-encoded segment by segment: the kernel decodes each one.
    const path = target.pathname.slice(root.pathname.length);
    const query: Record<string, string> = {};
    target.searchParams.forEach((value, key) => {
      query[key] = value;
    });
    const headers: Record<string, string> = {};
    new Headers(init.headers ?? {}).forEach((value, key) => {
      headers[key] = value;
    });
    const reply = await channel.request('http', {
      method: (init.method ?? 'GET').toUpperCase(),
      path,
      query,
      headers,
      body: typeof init.body === 'string' ? init.body : null
    });
    const status = reply.status;
    const body = status === 204 ? null : reply.body ?? JSON.stringify(reply.json ?? null);
    const responseHeaders = { 'Content-Type': 'application/json', ...(reply.headers ?? {}) };
    return new Response(body, { status, headers: responseHeaders });
  };
}

/**
 * The kernel relay as a WebSocket, for StreamClient: frames in, operations out.
 *
 * The kernel may have relayed a run before this socket opened (see KernelChannel's
 * ``early``). On subscribing, those messages are delivered at once when they continue
 * exactly from where the subscription starts; otherwise the run's progress and log
 * messages are ignored until the kernel acknowledges the subscription
 * (``{"type": "subscribed"}``), after which it sends everything from that point, so
 * that nothing is skipped (a later seq accepted first would hide an earlier one).
 */
export class ChannelSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;
  private stop: () => void = () => undefined;
  /** Runs whose messages are ignored until the kernel's notice covers this start. */
  private readonly waiting = new Map<string, Start>();

  constructor(private readonly channel: KernelChannel) {
    setTimeout(() => {
      if (this.readyState !== 0) {
        return;
      }
      this.readyState = 1;
      this.stop = channel.frames.connect(messages => this.receive(messages));
      this.onopen?.({});
    }, 0);
  }

  private receive(messages: unknown[]): void {
    const pass = messages.filter(raw => {
      const m = raw as StreamMsg;
      const want = m?.run_id ? this.waiting.get(m.run_id) : undefined;
      if (!want) {
        return true;
      }
      if (m.type === 'subscribed' && covers(m, want)) {
        this.waiting.delete(m.run_id!);
      }
      return !(m.type === 'progress' || m.type === 'log');
    });
    if (pass.length) {
      this.onmessage?.({ data: pass });
    }
  }

  send(data: string): void {
    this.channel.sendWs(data);
    const op = JSON.parse(data) as { op?: string; run_id?: string; after?: number; log_offset?: number };
    if (op.op !== 'subscribe' || !op.run_id) {
      return;
    }
    const want: Start = { after: op.after ?? -1, log_offset: op.log_offset ?? 0 };
    const early = continuing([...this.channel.earlyState(), ...this.channel.early], op.run_id, want);
    this.channel.early = this.channel.early.filter(m => (m as StreamMsg)?.run_id !== op.run_id);
    if (early) {
      // Now, before any later frame (the subscriber already listens: StreamClient sends
      // a subscribe after registering the run).
      if (early.length) {
        this.onmessage?.({ data: early });
      }
    } else {
      this.waiting.set(op.run_id, want);
    }
  }

  close(): void {
    if (this.readyState === 3) {
      return;
    }
    this.readyState = 3;
    this.stop();
    this.channel.sendWs(JSON.stringify({ op: 'close' }));
    this.onclose?.({ code: 1000 });
  }
}
