/**
 * Numbers inside text compare as numbers, so `400.0_erlang.json` sorts before
 * `1000.0_erlang.json` (the server lists artifacts in the same natural order).
 */
export function compareNatural(a: string | number, b: string | number): number {
  if (typeof a === 'string' && typeof b === 'string') {
    return a.localeCompare(b, 'en', { numeric: true });
  }
  return a === b ? 0 : a < b ? -1 : 1;
}
