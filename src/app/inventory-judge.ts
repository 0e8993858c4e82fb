/**
 * `fleetgate validate` on a spec whose inventory is a file: the file is read and checked as
 * inline targets are (the spec's target schema and list rules, located in the file), and the
 * targets are judged against the spec's tiers (each target in one tier, listed canaries and
 * waves among the tier's members, …), so a pull request's validate step reports what `plan`
 * and `run` would. A discovery command is never run by validate (it may reach the fleet).
 */
import { dirname, resolve } from 'node:path';
import { loadInventory } from '../inventory/load.js';
import type { Issue } from '../spec/issue.js';
import { checkSpecAgainstInventory } from '../spec/inventory-rules.js';
import type { RolloutSpec } from '../spec/types.js';

/**
 * The spec's inventory file, checked and judged against the spec's tiers.
 * @param specPath - the spec file (positions of the issues; the inventory path is relative to its folder)
 * @returns located errors and warnings; none when the inventory is inline (the parser judged it)
 *   or a discovery command; the file's own problems alone when it does not load
 */
export async function judgeInventoryFile(
  specPath: string,
  spec: RolloutSpec,
): Promise<{ errors: Issue[]; warnings: Issue[] }> {
  if (spec.inventory.kind !== 'file') return { errors: [], warnings: [] };
  const { targets, issues, where } = await loadInventory(spec.inventory, {
    baseDir: dirname(resolve(specPath)),
    file: specPath,
  });
  const own = {
    errors: issues.filter((i) => i.severity === 'error'),
    warnings: issues.filter((i) => i.severity === 'warning'),
  };
  if (own.errors.length > 0) return own;
  const judged = await checkSpecAgainstInventory(specPath, spec, targets, where);
  return { errors: judged.errors, warnings: [...own.warnings, ...judged.warnings] };
}
