import type { FetchLike } from '../../common/api';

/**
 * What the page says about the Jupyter server that serves it (JupyterLab and
 * Notebook 7 put their PageConfig in ``<script id="jupyter-config-data">``): where
 * it is and how to authenticate to it. Other hosts (VS Code, Colab, a static page)
 * have no such element: the widgets then go through the kernel.
 */
export interface PageServer {
  /** Absolute URL of the server's base, ending in ``/`` (``http://host:8888/user/a/``). */
  root: string;
  /** The server's token when the page has one ('' with cookie-only authentication). */
  token: string;
}

/** The server the page was served by, or null when the page is not Jupyter's. */
export function readPageServer(doc: Document | undefined = globalThis.document): PageServer | null {
  const script = doc?.getElementById('jupyter-config-data');
  if (!script?.textContent) {
    return null;
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(script.textContent) as Record<string, unknown>;
  } catch {
    return null;
  }
  const baseUrl = typeof config.baseUrl === 'string' ? config.baseUrl : '/';
  const location = doc?.location?.href;
  if (!location) {
    return null;
  }
  let root: string;
  try {
    root = new URL(baseUrl.endsWith('/') ? baseUrl : baseUrl + '/', location).toString();
  } catch {
    return null;
  }
  return { root, token: typeof config.token === 'string' ? config.token : '' };
}

/** The ``_xsrf`` cookie Jupyter sets for cookie-authenticated pages. */
export function xsrfCookie(doc: Document | undefined = globalThis.document): string {
  const match = (doc?.cookie ?? '').match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

/** The page's fetch with Jupyter's authentication: the token header, else the XSRF header. */
export function pageFetch(page: PageServer): FetchLike {
  return (url, init = {}) => {
    const headers = new Headers(init.headers ?? {});
    if (page.token) {
      headers.set('Authorization', `token ${page.token}`);
    } else {
      const xsrf = xsrfCookie();
      if (xsrf) {
        headers.set('X-XSRFToken', xsrf);
      }
    }
    return globalThis.fetch(url, { ...init, headers, credentials: 'same-origin' });
  };
}

/** The stream WebSocket URL of the page's server, with its token (or XSRF value). */
export function pageStreamUrl(page: PageServer): string {
  const url = new URL('fusion/api/stream', page.root);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (page.token) {
    url.searchParams.set('token', page.token);
  } else {
    const xsrf = xsrfCookie();
    if (xsrf) {
      url.searchParams.set('_xsrf', xsrf);
    }
  }
  return url.toString();
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function port(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

/**
 * Whether two server URLs name the same server: same scheme, port and base path,
 * and the same host (any two loopback names count as the same host, as a kernel
 * usually knows its server as 127.0.0.1 while the browser may say localhost).
 */
export function sameServer(a: string, b: string): boolean {
  let x: URL;
  let y: URL;
  try {
    x = new URL(a);
    y = new URL(b);
  } catch {
    return false;
  }
  if (x.protocol !== y.protocol || port(x) !== port(y) || trimSlash(x.pathname) !== trimSlash(y.pathname)) {
    return false;
  }
  const hx = x.hostname.toLowerCase();
  const hy = y.hostname.toLowerCase();
  return hx === hy || (LOOPBACK.has(hx) && LOOPBACK.has(hy));
}
