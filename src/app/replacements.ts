/**
 * The inventory a `replace` or `blueGreen` tier left behind: the state file records which targets
 * were provisioned in the place of which, so an inventory that still lists the old ids (an inline
 * list, a file) is planned with the targets in their place now (`followReplacements`).
 */
import { followReplacements } from '../plan/replace.js';
import type { RolloutSpec, Target } from '../spec/types.js';
import { readState } from '../state/store.js';

/**
 * `targets` as the state at `statePath` says replacements left them; unchanged when no tier of the
 * spec replaces targets, or the state cannot be read (the engine reports an unreadable state itself).
 */
export async function followRecordedReplacements(
  spec: RolloutSpec,
  statePath: string,
  targets: Target[],
): Promise<Target[]> {
  if (!spec.tiers.some((t) => t.strategy.type === 'replace' || t.strategy.type === 'blueGreen')) return targets;
  let state;
  try {
    state = await readState(statePath);
  } catch {
    return targets;
  }
  return followReplacements(targets, state).targets;
}
