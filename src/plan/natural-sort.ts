/**
 * Natural ordering of target ids, so `edge-2` sorts before `edge-10`.
 * Pure; used by the planner to order targets independently of input order.
 */

const CHUNKS = /\d+|\D+/g;
const DIGITS = /^\d/;

function compareDigitChunks(x: string, y: string): number {
  const a = x.replace(/^0+(?=\d)/, '');
  const b = y.replace(/^0+(?=\d)/, '');
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * Compares two strings in natural order: runs of digits compare as numbers
 * (of any length, no precision loss), everything else by UTF-16 code units.
 * Strings that differ only in leading zeros (`a01` vs `a1`) fall back to a
 * plain code-unit comparison, so the order is total: `compareNatural(a, b)`
 * is 0 only when `a === b`.
 *
 * @returns a negative number when `a` sorts first, positive when `b` does, 0 when equal.
 * @example ['edge-10', 'edge-2'].sort(compareNatural) // ['edge-2', 'edge-10']
 */
export function compareNatural(a: string, b: string): number {
  if (a === b) return 0;
  const ca = a.match(CHUNKS) ?? [];
  const cb = b.match(CHUNKS) ?? [];
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    if (DIGITS.test(x) && DIGITS.test(y)) {
      const c = compareDigitChunks(x, y);
      if (c !== 0) return c;
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (ca.length !== cb.length) return ca.length < cb.length ? -1 : 1;
  return a < b ? -1 : 1;
}
