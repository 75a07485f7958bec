import { FusionApi, FusionApiError } from '../../common/api';
import { StreamClient, type SocketLike } from '../../common/stream';
import type { AnyModel } from './anywidget';
import { ChannelSocket, channelFetch, KernelChannel } from './channel';
import { pageFetch, pageStreamUrl, readPageServer, sameServer, type PageServer } from './page';

/**
 * How a widget reaches the runs: ``direct`` (the page's own Jupyter server, REST and
 * WebSocket, independent of the kernel) or ``relay`` (everything through the kernel
 * over the widget model). Both give the same FusionApi and StreamClient.
 */
export type TransportKind = 'direct' | 'relay';

export interface Connection {
  readonly kind: TransportKind;
  readonly api: FusionApi;
  readonly stream: StreamClient;
  /** Why the relay was chosen ('' for direct). */
  readonly reason: string;
  /** Objects shared by every widget using this connection (e.g. one RunFeed per run). */
  readonly shared: Map<string, unknown>;
}

/** What the Python side puts in the ``_transport`` trait. */
export interface TransportSetting {
  /** The server the kernel's client talks to ('' for the embedded engine). */
  server_url?: string | null;
  /** 'auto' (default), or force 'direct' / 'relay'. */
  mode?: 'auto' | TransportKind;
}

export type TransportChoice = { kind: 'direct'; page: PageServer } | { kind: 'relay'; reason: string };

/**
 * Direct when the kernel's client uses the very server that serves this page (so the
 * page's authentication applies and the run ids are the same); else the relay.
 */
export function chooseTransport(setting: TransportSetting, page: PageServer | null): TransportChoice {
  if (setting.mode === 'relay') {
    return { kind: 'relay', reason: 'relay requested' };
  }
  if (!page) {
    return { kind: 'relay', reason: 'the page is not served by a Jupyter server' };
  }
  if (setting.mode === 'direct') {
    return { kind: 'direct', page };
  }
  if (!setting.server_url) {
    return { kind: 'relay', reason: 'the kernel uses the embedded engine' };
  }
  if (!sameServer(setting.server_url, page.root)) {
    return { kind: 'relay', reason: `the kernel talks to ${setting.server_url}, not to this page's server` };
  }
  return { kind: 'direct', page };
}

// ---- direct: one connection per page and server, shared by every widget bundle

interface DirectEntry {
  connection: Connection;
  refs: number;
}

const REGISTRY = '__fusionJupyterDirect_v1';

function registry(): Map<string, DirectEntry> {
  const g = globalThis as unknown as Record<string, Map<string, DirectEntry>>;
  if (!g[REGISTRY]) {
    g[REGISTRY] = new Map();
  }
  return g[REGISTRY];
}

/** The page's connection to its server (one StreamClient per page, reference counted). */
export function retainDirect(page: PageServer): Connection {
  const key = page.root;
  let entry = registry().get(key);
  if (!entry || entry.connection.stream.isDisposed) {
    const api = new FusionApi({ apiUrl: new URL('fusion/api/', page.root).toString(), fetch: pageFetch(page) });
    const stream = new StreamClient({
      url: () => pageStreamUrl(page),
      createSocket: url => new WebSocket(url) as unknown as SocketLike,
      backfill: api
    });
    entry = { connection: { kind: 'direct', api, stream, reason: '', shared: new Map() }, refs: 0 };
    registry().set(key, entry);
  }
  entry.refs += 1;
  return entry.connection;
}

export function releaseDirect(connection: Connection): void {
  for (const [key, entry] of registry()) {
    if (entry.connection === connection) {
      entry.refs -= 1;
      if (entry.refs <= 0) {
        registry().delete(key);
        connection.stream.dispose();
      }
      return;
    }
  }
}

/** A connection through the kernel of one widget model. */
export function relayConnection(channel: KernelChannel, reason: string): Connection {
  const apiUrl = 'http://kernel.invalid/fusion/api/';
  const api = new FusionApi({ apiUrl, fetch: channelFetch(channel, apiUrl) });
  const stream = new StreamClient({
    url: 'kernel:stream',
    createSocket: () => new ChannelSocket(channel),
    backfill: api
  });
  return { kind: 'relay', api, stream, reason, shared: new Map() };
}

/** Errors that mean "this server cannot serve this widget": fall back to the relay. */
export function unreachable(err: unknown): boolean {
  return err instanceof FusionApiError && [0, 401, 403, 404].includes(err.status);
}

/**
 * The per-model state shared by every view of one widget: its kernel channel and its
 * connection (decided once, on first use).
 */
export class ModelContext {
  readonly channel: KernelChannel;
  private connecting: Promise<Connection> | null = null;
  private current: Connection | null = null;
  private disposed = false;

  constructor(
    readonly model: AnyModel,
    /** Checks that a direct connection can serve this widget (e.g. that the run exists there). */
    private readonly probe: (api: FusionApi) => Promise<unknown>
  ) {
    this.channel = new KernelChannel(model);
  }

  connection(): Promise<Connection> {
    if (!this.connecting) {
      this.connecting = this.connect();
    }
    return this.connecting;
  }

  private async connect(): Promise<Connection> {
    const setting = (this.model.get('_transport') ?? {}) as TransportSetting;
    const choice = chooseTransport(setting, readPageServer());
    let connection: Connection;
    if (choice.kind === 'direct') {
      const direct = retainDirect(choice.page);
      try {
        await this.probe(direct.api);
        connection = direct;
      } catch (err) {
        releaseDirect(direct);
        if (!unreachable(err) || setting.mode === 'direct') {
          throw err;
        }
        const why = err instanceof Error ? err.message : String(err);
        connection = relayConnection(this.channel, `the page's server cannot serve it (${why})`);
      }
    } else {
      connection = relayConnection(this.channel, choice.reason);
    }
    if (this.disposed) {
      this.drop(connection);
      throw new Error('the widget was closed');
    }
    this.current = connection;
    this.model.set('transport_used', connection.kind);
    this.model.save_changes();
    return connection;
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    if (this.current) {
      this.drop(this.current);
      this.current = null;
    }
    this.channel.dispose();
  }

  private drop(connection: Connection): void {
    if (connection.kind === 'direct') {
      releaseDirect(connection);
    } else {
      connection.stream.dispose();
    }
  }
}

const contexts = new WeakMap<AnyModel, ModelContext>();

/** The context of a model, created on first use (from initialize or the first render). */
export function modelContext(model: AnyModel, probe: (api: FusionApi) => Promise<unknown>): ModelContext {
  let ctx = contexts.get(model);
  if (!ctx) {
    ctx = new ModelContext(model, probe);
    contexts.set(model, ctx);
  }
  return ctx;
}

export function disposeModelContext(model: AnyModel): void {
  contexts.get(model)?.dispose();
  contexts.delete(model);
}
