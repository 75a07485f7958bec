import type { FusionApi } from './api';
import type { Run } from './types';

/**
 * A sweep's curves as ``GET sweeps/{id}/curves`` computes them (the grouping is the
 * server's, fusion_jupyter/engine/curves.py: never redone here).
 */
export interface CurvePoint {
  erlang: number;
  blocking_mean: number | null;
  ci_lower: number | null;
  ci_upper: number | null;
}

export interface Curve {
  /** Legend text: only the grouped keys, short (``k_paths = 2``). */
  label: string;
  values: Record<string, unknown>;
  points: CurvePoint[];
}

export interface SweepCurves {
  sweep_id: string;
  by: string[];
  varying: string[];
  grid: Record<string, unknown[]>;
  curves: Curve[];
  runs: number;
  with_results: number;
}

export interface SweepInfo {
  id: string;
  name: string;
  template: string;
  grid: Record<string, unknown[]>;
  status_counts?: Record<string, number>;
  run_ids?: string[];
}

/**
 * ``by``: grid keys to group by; null for the server's default (every key that
 * varies); [] for one curve of all runs (``?by=``, spelled out: the query builder
 * drops empty values).
 */
export function sweepCurves(api: FusionApi, sweepId: string, by: string[] | null): Promise<SweepCurves> {
  const path = `sweeps/${encodeURIComponent(sweepId)}/curves`;
  if (by === null) {
    return api.request('GET', path);
  }
  return by.length ? api.request('GET', path, { query: { by: by.join(',') } }) : api.request('GET', `${path}?by=`);
}

export function getSweep(api: FusionApi, sweepId: string): Promise<{ sweep: SweepInfo; runs: Run[] }> {
  return api.request('GET', `sweeps/${encodeURIComponent(sweepId)}`);
}

/** The last part of a grid key (``routing_settings.k_paths`` -> ``k_paths``). */
export function shortKey(key: string): string {
  return key.slice(key.lastIndexOf('.') + 1);
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The curves as CSV: one row per point, the grouped keys as columns. */
export function curvesCsv(data: SweepCurves): string {
  const header = ['curve', ...data.by, 'erlang', 'blocking_mean', 'ci_lower', 'ci_upper'];
  const lines = [header.map(csvCell).join(',')];
  for (const curve of data.curves) {
    for (const p of curve.points) {
      const row = [curve.label, ...data.by.map(k => curve.values[k]), p.erlang, p.blocking_mean, p.ci_lower, p.ci_upper];
      lines.push(row.map(csvCell).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
