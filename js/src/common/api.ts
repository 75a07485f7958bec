import type { SweepCurves } from './curves';
import type {
  ApiErrorBody,
  Artifact,
  CreateRunRequest,
  LogChunk,
  Overrides,
  ProgressPage,
  ResultsTable,
  Run,
  RunFilter,
  RunPage,
  SimulatorsReport,
  TemplateDetail,
  TemplateSummary,
  ValidationResult
} from './types';
import type { components } from './generated/openapi';

type schemas = components['schemas'];

/** A sweep as ``GET sweeps`` lists it: its grid and its runs counted by status. */
export type SweepSummary = components['schemas']['SweepSummary'];
/** ``GET simulators``: the default, which are installed, and each one's known values. */
export type SimulatorChoices = components['schemas']['SimulatorChoices'];
/** One key with a known set of values under a simulator (a dropdown in a form). */
export type KeyChoice = SimulatorChoices['choices'][string][number];
/** ``POST sweeps``: a run request and ``{"section.key": [values]}``. */
export type CreateSweepRequest = CreateRunRequest & { grid: Record<string, unknown[]> };

/**
 * The transport: ``fetch`` or anything shaped like it. In JupyterLab it is
 * ServerConnection.makeRequest (token, XSRF, base URL handled by JupyterLab); in an
 * anywidget front-end, the page's fetch with the token or XSRF header added.
 */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface FusionApiOptions {
  /** Absolute URL of the API root, ending in ``fusion/api/``. */
  apiUrl: string;
  fetch?: FetchLike;
}

/** An error answer of the API (``{"error": {code, message, details}}``) or a network failure. */
export class FusionApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown
  ) {
    super(message);
    this.name = 'FusionApiError';
  }
}

/** Join an API root and a relative path (each segment given already encoded). */
export function joinUrl(root: string, path: string): string {
  return root.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
}

/** Encode a relative file path segment by segment, keeping the slashes. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter(part => part !== '')
    .map(encodeURIComponent)
    .join('/');
}

type Query = Record<string, string | number | boolean | string[] | undefined | null>;

function queryString(query?: Query): string {
  if (!query) {
    return '';
  }
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    if (Array.isArray(value)) {
      if (value.length) {
        params.append(key, value.join(','));
      }
    } else {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text ? '?' + text : '';
}

/** The FUSION REST API. Every call goes through the injected ``fetch``. */
export class FusionApi {
  readonly apiUrl: string;
  private readonly fetchFn: FetchLike;

  constructor(options: FusionApiOptions) {
    this.apiUrl = options.apiUrl.endsWith('/') ? options.apiUrl : options.apiUrl + '/';
    const f = options.fetch ?? ((url: string, init?: RequestInit) => globalThis.fetch(url, init));
    this.fetchFn = f;
  }

  url(path: string, query?: Query): string {
    return joinUrl(this.apiUrl, path) + queryString(query);
  }

  /** A raw request; the Response is returned as is when ok, else a FusionApiError thrown. */
  async fetch(path: string, init: RequestInit = {}, query?: Query): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchFn(this.url(path, query), init);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new FusionApiError(0, 'network_error', `cannot reach the server: ${message}`);
    }
    if (!response.ok) {
      throw await toError(response);
    }
    return response;
  }

  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    const init: RequestInit = { method };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const response = await this.fetch(path, init, options.query);
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // ---- health, templates, configs

  health(): Promise<{ status: string }> {
    return this.request('GET', 'health/live');
  }

  async listTemplates(): Promise<TemplateSummary[]> {
    return (await this.request<schemas['TemplateList']>('GET', 'templates')).templates;
  }

  getTemplate(name: string): Promise<TemplateDetail> {
    return this.request('GET', 'templates/' + encodeURIComponent(name));
  }

  validate(template: string, overrides: Overrides = {}, simulator?: string): Promise<ValidationResult> {
    return this.request('POST', 'configs/validate', { body: { template, overrides, simulator } });
  }

  /** Check a whole INI text (a researcher's own file) as FUSION would read it. */
  validateConfig(config: string, overrides: Overrides = {}, simulator?: string): Promise<ValidationResult> {
    return this.request('POST', 'configs/validate', { body: { config, overrides, simulator } });
  }

  /** Which simulator runs by default and whether FUSION is installed (null if unknown). */
  async simulators(): Promise<SimulatorsReport | null> {
    // Read the body whatever the status: a 503 (database or disk not ready) still
    // describes the simulators.
    try {
      const response = await this.fetchFn(this.url('health/ready'), { method: 'GET' });
      const ready = (await response.json()) as { simulators?: SimulatorsReport };
      return ready.simulators ?? null;
    } catch {
      return null;
    }
  }

  /** Save a run's frozen config, or a whole INI text, as a template. */
  saveTemplate(body: { name: string; run_id?: string; config?: string; description?: string; replace?: boolean }): Promise<{ name: string; description: string }> {
    return this.request('POST', 'templates', { body });
  }

  // ---- runs

  createRun(body: CreateRunRequest): Promise<Run> {
    return this.request('POST', 'runs', { body });
  }

  listRuns(filter: RunFilter = {}, page: { limit?: number; cursor?: string | null } = {}): Promise<RunPage> {
    return this.request('GET', 'runs', { query: runsQuery(filter, page) });
  }

  /**
   * A page of runs in the compact view (``GET runs?view=compact``): only what a
   * listing row draws, a third of the bytes. Fields not in it take their empty values.
   */
  async listRunsCompact(filter: RunFilter = {}, page: { limit?: number; cursor?: string | null } = {}): Promise<RunPage> {
    const raw = await this.request<schemas['CompactRunPage']>('GET', 'runs', {
      query: { view: 'compact', ...runsQuery(filter, page) }
    });
    return { runs: raw.rows.map(row => runFromRow(raw.columns, row)), next_cursor: raw.next_cursor };
  }

  /**
   * Every run matching ``filter``, newest first, page by page: ``onPage`` sees each
   * page as it arrives (to show the first ones at once); stops after ``max`` runs.
   * ``compact``: listing rows only (see :meth:`listRunsCompact`).
   */
  async listAllRuns(
    filter: RunFilter = {},
    options: { pageSize?: number; max?: number; firstPageSize?: number; compact?: boolean; onPage?: (runs: Run[]) => void } = {}
  ): Promise<Run[]> {
    const max = options.max ?? Infinity;
    const all: Run[] = [];
    let cursor: string | null = null;
    let first = true;
    do {
      const want = Math.min(first ? options.firstPageSize ?? options.pageSize ?? 500 : options.pageSize ?? 500, max - all.length);
      if (want <= 0) {
        break;
      }
      const page: RunPage = options.compact ? await this.listRunsCompact(filter, { limit: want, cursor }) : await this.listRuns(filter, { limit: want, cursor });
      first = false;
      all.push(...page.runs);
      options.onPage?.(page.runs);
      cursor = page.next_cursor;
    } while (cursor && all.length < max);
    return all;
  }

  getRun(id: string): Promise<Run> {
    return this.request('GET', 'runs/' + encodeURIComponent(id));
  }

  async deleteRun(id: string, options: { purge?: boolean } = {}): Promise<void> {
    await this.request('DELETE', 'runs/' + encodeURIComponent(id), {
      query: { purge: options.purge ? 'true' : undefined }
    });
  }

  cancelRun(id: string): Promise<Run> {
    return this.request('POST', `runs/${encodeURIComponent(id)}/cancel`);
  }

  rerunRun(id: string): Promise<Run> {
    return this.request('POST', `runs/${encodeURIComponent(id)}/rerun`);
  }

  progress(id: string, after = -1, limit?: number): Promise<ProgressPage> {
    return this.request('GET', `runs/${encodeURIComponent(id)}/progress`, { query: { after, limit } });
  }

  logs(id: string, options: { offset?: number; limit?: number } = {}): Promise<LogChunk> {
    return this.request('GET', `runs/${encodeURIComponent(id)}/logs`, {
      query: { offset: options.offset, limit: options.limit }
    });
  }

  logTail(id: string, lines: number): Promise<LogChunk> {
    return this.request('GET', `runs/${encodeURIComponent(id)}/logs`, { query: { tail: lines } });
  }

  async artifacts(id: string): Promise<Artifact[]> {
    return (await this.request<schemas['ArtifactList']>('GET', `runs/${encodeURIComponent(id)}/artifacts`)).artifacts;
  }

  artifactPath(id: string, path: string): string {
    return `runs/${encodeURIComponent(id)}/artifacts/${encodePath(path)}`;
  }

  /** One artifact file (a byte range with ``range: [start, end]``, inclusive). */
  artifact(id: string, path: string, options: { download?: boolean; range?: [number, number] } = {}): Promise<Response> {
    const init: RequestInit = { method: 'GET' };
    if (options.range) {
      init.headers = { Range: `bytes=${options.range[0]}-${options.range[1]}` };
    }
    return this.fetch(this.artifactPath(id, path), init, { download: options.download ? 1 : undefined });
  }

  // ---- sweeps

  createSweep(body: CreateSweepRequest): Promise<{ sweep: SweepSummary; runs: Run[] }> {
    return this.request('POST', 'sweeps', { body });
  }

  /** Every sweep, newest first (page by page, at most ``max``). */
  async listSweeps(options: { max?: number } = {}): Promise<SweepSummary[]> {
    const max = options.max ?? 1000;
    const all: SweepSummary[] = [];
    let cursor: string | null = null;
    do {
      const page: schemas['SweepPage'] = await this.request('GET', 'sweeps', {
        query: { limit: Math.min(500, max - all.length), cursor: cursor ?? undefined }
      });
      all.push(...page.sweeps);
      cursor = page.next_cursor;
    } while (cursor && all.length < max);
    return all;
  }

  /** What a sweep builder checks a grid against (from ``GET sweeps``). */
  async sweepLimits(): Promise<{ maxRuns: number; maxConcurrentRuns: number } | null> {
    const page: schemas['SweepPage'] = await this.request('GET', 'sweeps', { query: { limit: 1 } });
    return page.limits ? { maxRuns: page.limits.max_runs, maxConcurrentRuns: page.limits.max_concurrent_runs } : null;
  }

  cancelSweep(id: string): Promise<{ sweep: SweepSummary; runs: Run[] }> {
    return this.request('POST', `sweeps/${encodeURIComponent(id)}/cancel`);
  }

  rerunFailedSweep(id: string): Promise<{ sweep: SweepSummary; runs: Run[]; created: string[] }> {
    return this.request('POST', `sweeps/${encodeURIComponent(id)}/rerun-failed`);
  }

  async deleteSweep(id: string, options: { purge?: boolean } = {}): Promise<void> {
    await this.request('DELETE', 'sweeps/' + encodeURIComponent(id), {
      query: { purge: options.purge ? 'true' : undefined }
    });
  }

  getSweep(id: string): Promise<{ sweep: SweepSummary; runs: Run[] }> {
    return this.request('GET', `sweeps/${encodeURIComponent(id)}`);
  }

  /**
   * A sweep's curves (``GET sweeps/{id}/curves``): ``by`` the grid keys to group by,
   * null for the server's default (every key that varies), [] for one curve of all
   * runs (``?by=`` spelled out: the query builder drops empty values).
   */
  sweepCurves(id: string, by: string[] | null): Promise<SweepCurves> {
    const path = `sweeps/${encodeURIComponent(id)}/curves`;
    if (by === null) {
      return this.request('GET', path);
    }
    return by.length ? this.request('GET', path, { query: { by: by.join(',') } }) : this.request('GET', `${path}?by=`);
  }

  /** Each simulator's values for keys with a known set (route, allocation, network). */
  simulatorChoices(): Promise<SimulatorChoices> {
    return this.request('GET', 'simulators');
  }

  results(id: string): Promise<ResultsTable> {
    return this.request('GET', `runs/${encodeURIComponent(id)}/results`, { query: { format: 'json' } });
  }
}

async function toError(response: Response): Promise<FusionApiError> {
  let body: Partial<ApiErrorBody> | undefined;
  let text = '';
  try {
    text = await response.text();
    body = JSON.parse(text) as Partial<ApiErrorBody>;
  } catch {
    body = undefined;
  }
  const err = body?.error;
  if (err && typeof err.message === 'string') {
    return new FusionApiError(response.status, err.code || 'error', err.message, err.details);
  }
  const reason = (body as { message?: string } | undefined)?.message || text.slice(0, 200) || response.statusText;
  return new FusionApiError(response.status, 'http_error', `HTTP ${response.status}: ${reason}`);
}

/** The query of ``GET runs`` for a filter and a page (``status`` as a list). */
function runsQuery(filter: RunFilter, page: { limit?: number; cursor?: string | null }): Query {
  return {
    status: filter.status === undefined ? undefined : ([] as string[]).concat(filter.status),
    tag: filter.tag,
    name: filter.name,
    template: filter.template,
    sweep: filter.sweep,
    limit: page.limit,
    cursor: page.cursor ?? undefined
  };
}

/** A compact listing row as a Run: the columns it has, empty values for the rest. */
export function runFromRow(columns: string[], row: unknown[]): Run {
  const v: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    v[column] = row[i];
  });
  const progressKeys = ['percent', 'erlang', 'erlang_index', 'erlang_count', 'iteration', 'iteration_count', 'seq'];
  const progress = Object.fromEntries(progressKeys.map(k => [k, v[k] ?? (k === 'percent' ? 0 : k === 'seq' ? -1 : null)]));
  return {
    id: String(v.id),
    name: String(v.name ?? ''),
    template: String(v.template ?? ''),
    status: v.status as Run['status'],
    executor: String(v.executor ?? 'local'),
    tags: (v.tags as string[] | undefined) ?? [],
    sweep_id: (v.sweep_id as string | null | undefined) ?? null,
    rerun_of: (v.rerun_of as string | null | undefined) ?? null,
    created_at: String(v.created_at ?? ''),
    started_at: null,
    completed_at: null,
    exit_code: null,
    error: (v.error as string | null | undefined) ?? null,
    progress: progress as unknown as Run['progress']
  };
}
