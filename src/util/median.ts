/**
 * The median of a list of numbers, shared by the state's step timings and the planner's
 * estimate from past rollouts (both need nothing more, so no statistics library).
 */

/**
 * The median of `values` (the mean of the two middle ones for an even count).
 * @returns `undefined` for an empty list
 */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
