/**
 * `fleetgate validate` on a spec whose tiers name targets (a listed or spread canary, listed
 * waves) and whose inventory is a file: the names are judged against that file, so a pull
 * request's validate step reports a canary id the inventory does not hold at the spec's line,
 * as `plan` and `run` would. A discovery command is never run by validate (it may reach the
 * fleet); a file that does not load is left to `plan` and `run`, which report it.
 */
import { dirname, resolve } from 'node:path';
import { loadInventory } from '../inventory/load.js';
import type { Issue } from '../spec/issue.js';
import { checkSpecAgainstInventory } from '../spec/inventory-rules.js';
import type { RolloutSpec } from '../spec/types.js';

/**
 * The spec's listed canaries and waves judged against its inventory file.
 * @param specPath - the spec file (positions of the issues; the inventory path is relative to its folder)
 * @returns located errors and warnings; none when the inventory is inline (the parser judged it),
 *   a discovery command, a file that does not load, or no tier names targets
 */
export async function judgeInventoryFile(
  specPath: string,
  spec: RolloutSpec,
): Promise<{ errors: Issue[]; warnings: Issue[] }> {
  const none = { errors: [], warnings: [] };
  const namesTargets = spec.tiers.some(
    (t) =>
      t.strategy.canaryTargets !== undefined ||
      t.strategy.canarySpreadBy !== undefined ||
      t.strategy.waveTargets !== undefined,
  );
  if (spec.inventory.kind !== 'file' || !namesTargets) return none;
  const { targets, issues } = await loadInventory(spec.inventory, {
    baseDir: dirname(resolve(specPath)),
    file: specPath,
  });
  if (issues.some((i) => i.severity === 'error')) return none;
  return checkSpecAgainstInventory(specPath, spec, targets);
}
