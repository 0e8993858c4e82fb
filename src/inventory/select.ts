/**
 * Label selectors: how a tier picks its targets. Pure.
 */
import type { Target } from '../spec/types.js';

/**
 * True when the target carries every label of the selector with exactly the
 * same value (string equality, case-sensitive). An empty selector matches
 * every target. Only the target's own labels count (a label named
 * `constructor` or `__proto__` is an ordinary key).
 *
 * @param target - the target (`labels`: string → string).
 * @param select - the tier's selector (`TierSpec.select`): label key → required value.
 * @example matchesSelector({id: 'e1', address: 'e1:80', labels: {role: 'edge', zone: 'a'}}, {role: 'edge'}) // true
 */
export function matchesSelector(target: Pick<Target, 'labels'>, select: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(select)) {
    if (!Object.hasOwn(target.labels, key) || target.labels[key] !== value) return false;
  }
  return true;
}
