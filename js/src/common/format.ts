import type { Run } from './types';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '';
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  }
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Parse the server's ISO-8601 timestamps (UTC, possibly without a zone suffix). */
export function parseTime(value: string | null | undefined): number | null {
  if (!value) {
    return null;
  }
  const hasZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(value);
  const t = Date.parse(hasZone ? value : value + 'Z');
  return Number.isFinite(t) ? t : null;
}

/** "3 min ago" style, for a list. */
export function formatAgo(value: string | null | undefined, now = Date.now()): string {
  const t = parseTime(value);
  if (t === null) {
    return '';
  }
  const s = Math.max(0, (now - t) / 1000);
  if (s < 45) {
    return 'just now';
  }
  if (s < 3600) {
    return `${Math.round(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.round(s / 3600)} h ago`;
  }
  return new Date(t).toLocaleDateString();
}

/** How long a run has run (until now when it is still running). */
export function runElapsed(run: Run, now = Date.now()): number | null {
  const start = parseTime(run.started_at);
  if (start === null) {
    return null;
  }
  const end = parseTime(run.completed_at) ?? now;
  return Math.max(0, (end - start) / 1000);
}

export function displayName(run: Pick<Run, 'id' | 'name'>): string {
  return run.name || run.id;
}

export function progressLabel(run: Run): string {
  const p = run.progress;
  const pct = `${Math.floor(p.percent)} %`;
  if (run.status !== 'RUNNING') {
    return pct;
  }
  const parts = [pct];
  if (p.erlang !== null && p.erlang_count) {
    parts.push(`Erlang ${p.erlang} (${(p.erlang_index ?? 0) + 1}/${p.erlang_count})`);
  }
  if (p.iteration !== null && p.iteration_count) {
    parts.push(`it ${p.iteration}/${p.iteration_count}`);
  }
  return parts.join(' · ');
}

/** The two notebook cells "insert code" puts in: connect to the run, then its results. */
export function runCodeCells(runId: string): [string, string] {
  return [`import fusion_jupyter as fj\nrun = fj.connect().get(${JSON.stringify(runId)})`, 'run.results()'];
}
