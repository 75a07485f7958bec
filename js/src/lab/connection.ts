import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { FusionApi, type FetchLike } from '../common/api';
import { throttledScheduler } from '../common/emitter';
import { RunStore } from '../common/store';

/** At most ~30 repaints a second of the panel (see benchmarks/sidebar_bench.py). */
const FRAME_MS = 33;
import { StreamClient, type SocketLike } from '../common/stream';

/** The API, the stream and the run store, talking to the server JupyterLab talks to. */
export interface FusionConnection {
  readonly settings: ServerConnection.ISettings;
  readonly api: FusionApi;
  readonly stream: StreamClient;
  readonly store: RunStore;
}

/**
 * Every REST call goes through ServerConnection.makeRequest (base URL, token, XSRF
 * cookie, credentials as JupyterLab does them); the WebSocket uses the settings'
 * wsUrl, WebSocket class and token policy, as JupyterLab's kernel sockets do.
 */
export function createConnection(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  options: { maxFinished?: number } = {}
): FusionConnection {
  const apiUrl = URLExt.join(settings.baseUrl, 'fusion', 'api') + '/';
  const fetch: FetchLike = (url, init) => ServerConnection.makeRequest(url, init ?? {}, settings);
  const api = new FusionApi({ apiUrl, fetch });
  const stream = new StreamClient({
    url: () => {
      let url = URLExt.join(settings.wsUrl, 'fusion', 'api', 'stream');
      if (settings.appendToken && settings.token) {
        url += `?token=${encodeURIComponent(settings.token)}`;
      }
      return url;
    },
    createSocket: url => new settings.WebSocket(url) as unknown as SocketLike,
    backfill: api
  });
  // Under a flood of progress updates the panel repaints at most every FRAME_MS.
  const store = new RunStore({
    api,
    stream,
    maxFinished: options.maxFinished,
    // The panel's rows need a third of a full run's fields (GET runs?view=compact).
    compact: true,
    // A sweep is one row, named as its sweep is (GET sweeps).
    sweeps: true,
    scheduler: throttledScheduler(FRAME_MS)
  });
  return { settings, api, stream, store };
}
