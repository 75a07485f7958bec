import { Emitter } from './emitter';
import type {
  Channel,
  ErrorMessage,
  LogChunk,
  ProgressEvent,
  ProgressPage,
  Run,
  RunProgress,
  StreamMessage
} from './types';

/** What the stream client needs of a WebSocket (the browser's, JupyterLab's, or a fake). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

/** Catch-up through REST for a listener that joins late (normally a FusionApi). */
export interface Backfill {
  progress(runId: string, after: number): Promise<ProgressPage>;
  logs(runId: string, options: { offset: number; limit?: number }): Promise<LogChunk>;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionChange {
  state: ConnectionState;
  /** On 'open': true when this is not the first connection (the client must catch up). */
  reconnected?: boolean;
  /** On 'reconnecting': milliseconds until the next attempt. */
  delayMs?: number;
  attempt?: number;
}

export interface LogData {
  offset: number;
  nextOffset: number;
  data: string;
}

/** What a subscriber hears about one run. Events arrive in seq order, each once. */
export interface RunListener {
  progress?(events: ProgressEvent[], runId: string): void;
  log?(chunk: LogData, runId: string): void;
  /** The server's queue for this run overflowed; it catches up by itself (informational). */
  lagged?(after: number, runId: string): void;
}

export interface SubscribeOptions {
  channels?: Channel[];
  /** Deliver progress events with seq > after (default -1: the whole history). */
  after?: number;
  /** Deliver log bytes from this offset (default 0: the whole log). */
  logOffset?: number;
}

export interface Subscription {
  readonly runId: string;
  /** Seq of the last event delivered to this subscriber. */
  readonly lastSeq: number;
  /** Offset of the next log byte this subscriber expects. */
  readonly logOffset: number;
  close(): void;
}

export interface StreamClientOptions {
  /** The WebSocket URL (a function: it may carry a token that changes). */
  url: string | (() => string);
  createSocket: SocketFactory;
  backfill?: Backfill;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Spread of the delay, 0..1 (0.2: +-20 %). */
  jitter?: number;
  random?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: any) => void;
}

const OPEN = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Drop the first ``bytes`` bytes of UTF-8 text. */
function dropBytes(text: string, bytes: number): string {
  if (bytes <= 0) {
    return text;
  }
  return decoder.decode(encoder.encode(text).subarray(bytes));
}

class Handle implements Subscription {
  lastSeq: number;
  logOffset: number;
  closed = false;
  /** While REST catch-up runs, live deliveries wait here. */
  held: Array<{ events?: ProgressEvent[]; log?: LogData }> | null = null;

  constructor(
    readonly client: StreamClient,
    readonly runId: string,
    readonly channels: ReadonlySet<Channel>,
    readonly listener: RunListener,
    after: number,
    logOffset: number
  ) {
    this.lastSeq = after;
    this.logOffset = logOffset;
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.client['release'](this);
    }
  }

  deliverProgress(events: ProgressEvent[]): void {
    if (this.closed || !this.channels.has('progress')) {
      return;
    }
    if (this.held) {
      this.held.push({ events });
      return;
    }
    const fresh = events.filter(e => e.seq > this.lastSeq);
    if (fresh.length) {
      this.lastSeq = fresh[fresh.length - 1].seq;
      this.listener.progress?.(fresh, this.runId);
    }
  }

  deliverLog(chunk: LogData): void {
    if (this.closed || !this.channels.has('logs')) {
      return;
    }
    if (this.held) {
      this.held.push({ log: chunk });
      return;
    }
    if (chunk.nextOffset <= this.logOffset) {
      return;
    }
    let data = chunk.data;
    let offset = chunk.offset;
    if (offset < this.logOffset) {
      data = dropBytes(data, this.logOffset - offset);
      offset = this.logOffset;
    }
    this.logOffset = chunk.nextOffset;
    this.listener.log?.({ offset, nextOffset: chunk.nextOffset, data }, this.runId);
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const item of held) {
      if (item.events) {
        this.deliverProgress(item.events);
      }
      if (item.log) {
        this.deliverLog(item.log);
      }
    }
  }
}

/** The server-side subscription of one run, shared by every local subscriber. */
class RunState {
  handles = new Set<Handle>();
  channels = new Set<Channel>();
  /** Last seq received from the server (resume point). */
  lastSeq: number;
  /** Next log byte expected from the server (resume point). */
  logOffset: number;

  constructor(readonly runId: string, after: number, logOffset: number) {
    this.lastSeq = after;
    this.logOffset = logOffset;
  }

  wanted(): Set<Channel> {
    const all = new Set<Channel>();
    for (const h of this.handles) {
      h.channels.forEach(c => all.add(c));
    }
    return all;
  }
}

/**
 * The client of the server's multiplexed WebSocket (``{base_url}fusion/api/stream``).
 *
 * - One socket; any number of subscribers per run share one server subscription.
 * - Progress events are delivered in seq order and once (duplicates from a replay
 *   are dropped by seq; log bytes by offset).
 * - Each frame (a JSON array of messages) is handled as one batch: a listener hears
 *   once per frame per run, status listeners once per frame.
 * - On a lost connection it reconnects with exponential backoff and jitter, then
 *   resubscribes every run with ``after``/``log_offset`` = what it has, so nothing is
 *   missed or repeated; ``connection`` says ``reconnected`` so stores re-list runs.
 */
export class StreamClient {
  /** Every run's status changes, one call per frame. */
  readonly status = new Emitter<Run[]>();
  /** Every active run's folded progress (``[run_id, progress]``), one call per frame. */
  readonly runProgress = new Emitter<Array<[string, RunProgress]>>();
  readonly connection = new Emitter<ConnectionChange>();
  readonly errors = new Emitter<ErrorMessage>();
  /** Messages of each frame (instrumentation, tests). */
  readonly frames = new Emitter<StreamMessage[]>();

  private socket: SocketLike | null = null;
  private runs = new Map<string, RunState>();
  private state: ConnectionState = 'idle';
  private attempt = 0;
  private everOpened = false;
  private timer: unknown = null;
  private disposed = false;
  private readonly opts: Required<Omit<StreamClientOptions, 'backfill'>> & { backfill?: Backfill };

  constructor(options: StreamClientOptions) {
    this.opts = {
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      factor: 2,
      jitter: 0.2,
      random: Math.random,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: h => clearTimeout(h),
      ...options
    };
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Runs with a server subscription (for tests and diagnostics). */
  get subscribedRuns(): string[] {
    return [...this.runs.keys()];
  }

  /** Open the socket (idempotent). */
  connect(): void {
    if (this.disposed || this.socket || this.timer !== null) {
      return;
    }
    this.open();
  }

  /** Skip the backoff wait (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.disposed || this.state !== 'reconnecting') {
      return;
    }
    if (this.timer !== null) {
      this.opts.clearTimeout(this.timer);
      this.timer = null;
    }
    this.open();
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    if (this.timer !== null) {
      this.opts.clearTimeout(this.timer);
      this.timer = null;
    }
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onclose = socket.onerror = socket.onmessage = null;
      try {
        socket.close(1000, 'disposed');
      } catch {
        /* already closed */
      }
    }
    this.runs.clear();
    this.setState({ state: 'closed' });
    this.status.clear();
    this.runProgress.clear();
    this.connection.clear();
    this.errors.clear();
    this.frames.clear();
  }

  /**
   * Hear about one run. ``after`` / ``logOffset`` say what the subscriber has
   * already; history after that comes first (from the server, or through REST when
   * the run's shared subscription is already further along), then live updates.
   */
  subscribe(runId: string, listener: RunListener, options: SubscribeOptions = {}): Subscription {
    const channels = new Set<Channel>(options.channels ?? ['progress']);
    const after = options.after ?? -1;
    const logOffset = options.logOffset ?? 0;
    const handle = new Handle(this, runId, channels, listener, after, logOffset);
    if (this.disposed) {
      handle.closed = true;
      return handle;
    }
    let run = this.runs.get(runId);
    if (!run) {
      run = new RunState(runId, after, logOffset);
      this.runs.set(runId, run);
    }
    const before = new Set(run.channels);
    const fresh = run.handles.size === 0;
    run.handles.add(handle);
    const needProgress = channels.has('progress') && !fresh && before.has('progress') && after < run.lastSeq;
    const needLogs = channels.has('logs') && !fresh && before.has('logs') && logOffset < run.logOffset;
    if (channels.has('logs') && !before.has('logs')) {
      // The shared subscription starts reading the log where this subscriber wants it.
      run.logOffset = logOffset;
    }
    if (channels.has('progress') && !before.has('progress') && !fresh) {
      // Progress newly wanted: the server replays after the earliest seq needed.
      run.lastSeq = Math.min(run.lastSeq, after);
    }
    run.channels = run.wanted();
    if (fresh || !sameSet(before, run.channels)) {
      this.sendSubscribe(run);
    }
    if ((needProgress || needLogs) && this.opts.backfill) {
      void this.catchUp(handle, run, needProgress, needLogs);
    }
    this.connect();
    return handle;
  }

  private async catchUp(handle: Handle, run: RunState, progress: boolean, logs: boolean): Promise<void> {
    const backfill = this.opts.backfill!;
    handle.held = [];
    try {
      if (progress) {
        const page = await backfill.progress(handle.runId, handle.lastSeq);
        if (page.events.length) {
          const held: Handle["held"] = handle.held;
          handle.held = null;
          handle.deliverProgress(page.events);
          handle.held = held;
        }
      }
      if (logs) {
        // Read up to where the shared subscription is; later bytes come live.
        while (!handle.closed && handle.logOffset < run.logOffset) {
          const chunk = await backfill.logs(handle.runId, {
            offset: handle.logOffset,
            limit: run.logOffset - handle.logOffset
          });
          if (chunk.next_offset <= handle.logOffset) {
            break;
          }
          const held: Handle["held"] = handle.held;
          handle.held = null;
          handle.deliverLog({ offset: chunk.offset, nextOffset: chunk.next_offset, data: chunk.data });
          handle.held = held;
        }
      }
    } catch (err) {
      console.warn('fusion: catch-up of', handle.runId, 'failed', err);
    } finally {
      handle.release();
    }
  }

  private release(handle: Handle): void {
    const run = this.runs.get(handle.runId);
    if (!run || !run.handles.delete(handle)) {
      return;
    }
    if (run.handles.size === 0) {
      this.runs.delete(run.runId);
      this.send({ op: 'unsubscribe', run_id: run.runId });
      return;
    }
    const wanted = run.wanted();
    if (!sameSet(wanted, run.channels)) {
      run.channels = wanted;
      this.sendSubscribe(run);
    }
  }

  private sendSubscribe(run: RunState): void {
    this.send({
      op: 'subscribe',
      run_id: run.runId,
      channels: [...run.channels].sort(),
      after: run.lastSeq,
      log_offset: run.logOffset
    });
  }

  private send(message: unknown): void {
    const socket = this.socket;
    if (socket && socket.readyState === OPEN) {
      try {
        socket.send(JSON.stringify(message));
      } catch (err) {
        console.warn('fusion: send failed', err);
      }
    }
    // Not open: every subscription is (re)sent when the socket opens.
  }

  private setState(change: ConnectionChange): void {
    this.state = change.state;
    this.connection.emit(change);
  }

  private open(): void {
    this.timer = null;
    const url = typeof this.opts.url === 'function' ? this.opts.url() : this.opts.url;
    let socket: SocketLike;
    this.setState({ state: this.everOpened || this.attempt > 0 ? 'reconnecting' : 'connecting', attempt: this.attempt });
    try {
      socket = this.opts.createSocket(url);
    } catch (err) {
      console.warn('fusion: cannot open the stream', err);
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) {
        return;
      }
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      for (const run of this.runs.values()) {
        this.sendSubscribe(run);
      }
      this.setState({ state: 'open', reconnected });
    };
    socket.onmessage = ev => {
      if (this.socket === socket) {
        this.handleFrame(ev.data);
      }
    };
    socket.onerror = () => {
      /* onclose follows */
    };
    socket.onclose = () => {
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      socket.onopen = socket.onclose = socket.onerror = socket.onmessage = null;
      if (!this.disposed) {
        this.scheduleReconnect();
      }
    };
  }

  private scheduleReconnect(): void {
    const o = this.opts;
    const base = Math.min(o.maxDelayMs, o.initialDelayMs * Math.pow(o.factor, this.attempt));
    const delay = Math.max(0, Math.round(base * (1 + o.jitter * (2 * o.random() - 1))));
    this.attempt += 1;
    this.setState({ state: 'reconnecting', delayMs: delay, attempt: this.attempt });
    this.timer = o.setTimeout(() => this.open(), delay);
  }

  /** Handle one frame: a JSON array of messages (a lone message is accepted too). */
  handleFrame(raw: unknown): void {
    let parsed: unknown;
    try {
      parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
    } catch {
      console.warn('fusion: a stream frame that is not JSON');
      return;
    }
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as StreamMessage[];
    const progress = new Map<string, ProgressEvent[]>();
    const logs = new Map<string, LogData>();
    const statuses: Run[] = [];
    const folded: Array<[string, RunProgress]> = [];
    const lagged: Array<[string, number]> = [];
    for (const msg of messages) {
      if (!msg || typeof msg !== 'object') {
        continue;
      }
      switch (msg.type) {
        case 'status':
          if (msg.run) {
            statuses.push(msg.run);
          }
          break;
        case 'run_progress':
          if (msg.progress) {
            folded.push([msg.run_id, msg.progress]);
          }
          break;
        case 'progress': {
          const run = this.runs.get(msg.run_id);
          const seq = typeof msg.seq === 'number' ? msg.seq : msg.event?.seq;
          if (!run || typeof seq !== 'number' || seq <= run.lastSeq) {
            break; // unknown run, or a duplicate of what we have
          }
          run.lastSeq = seq;
          const event = msg.event && typeof msg.event === 'object' ? { ...msg.event, seq } : { type: 'unknown', seq };
          let list = progress.get(msg.run_id);
          if (!list) {
            progress.set(msg.run_id, (list = []));
          }
          list.push(event);
          break;
        }
        case 'log': {
          const run = this.runs.get(msg.run_id);
          if (!run || typeof msg.next_offset !== 'number' || msg.next_offset <= run.logOffset) {
            break;
          }
          let data = String(msg.data ?? '');
          let offset = msg.offset;
          if (offset < run.logOffset) {
            data = dropBytes(data, run.logOffset - offset);
            offset = run.logOffset;
          }
          run.logOffset = msg.next_offset;
          const prev = logs.get(msg.run_id);
          if (prev && prev.nextOffset === offset) {
            prev.data += data;
            prev.nextOffset = msg.next_offset;
          } else {
            if (prev) {
              this.deliverLog(msg.run_id, prev);
            }
            logs.set(msg.run_id, { offset, nextOffset: msg.next_offset, data });
          }
          break;
        }
        case 'lagged':
          if (msg.run_id !== null) {
            // A status lag (run_id null) concerns no run's events.
            lagged.push([msg.run_id, msg.after]);
          }
          break;
        case 'error':
          this.errors.emit(msg);
          break;
        default:
          break;
      }
    }
    for (const [runId, after] of lagged) {
      for (const h of this.runs.get(runId)?.handles ?? []) {
        h.listener.lagged?.(after, runId);
      }
    }
    for (const [runId, events] of progress) {
      for (const h of [...(this.runs.get(runId)?.handles ?? [])]) {
        h.deliverProgress(events);
      }
    }
    for (const [runId, chunk] of logs) {
      this.deliverLog(runId, chunk);
    }
    if (folded.length) {
      this.runProgress.emit(folded);
    }
    if (statuses.length) {
      this.status.emit(statuses);
    }
    this.frames.emit(messages);
  }

  private deliverLog(runId: string, chunk: LogData): void {
    for (const h of [...(this.runs.get(runId)?.handles ?? [])]) {
      h.deliverLog(chunk);
    }
  }
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) {
    return false;
  }
  for (const x of a) {
    if (!b.has(x)) {
      return false;
    }
  }
  return true;
}

/** The stream URL under an API root: ``http(s)://.../fusion/api/`` -> ``ws(s)://.../fusion/api/stream``. */
export function streamUrl(apiUrl: string, token?: string): string {
  const url = new URL('stream', apiUrl.endsWith('/') ? apiUrl : apiUrl + '/');
  url.protocol = url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : url.protocol;
  if (token) {
    url.searchParams.set('token', token);
  }
  return url.toString();
}
