import type { components } from './generated/openapi';

type schemas = components['schemas'];

/**
 * A sweep's curves as ``GET sweeps/{id}/curves`` computes them (the grouping is the
 * server's, fusion_jupyter/engine/curves.py: never redone here). Types are the contract's.
 */
export type CurvePoint = schemas['CurvePoint'];
export type Curve = schemas['Curve'];
export type SweepCurves = schemas['SweepCurves'];

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
