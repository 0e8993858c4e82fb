/**
 * The spec's rules that can only be judged once a file or discovered inventory is read (an
 * inline inventory is judged by `checkSpecRules` while the spec is parsed): today the listed and
 * spread canaries and the listed waves (`checkExplicitTargets`). The problems are located in the
 * spec file, at the field that names the targets (`tiers[0].strategy.canary[1]`), so they read
 * like every other spec problem: `rollouts/edge.yaml:14:17 tiers[0].strategy.canary[1]: …`.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { checkExplicitTargets } from './explicit-targets.js';
import type { Issue } from './issue.js';
import { formatPath, locate } from './locate.js';
import type { SpecProblem } from './problem.js';
import type { RolloutSpec, Target } from './types.js';

/**
 * Locates problems found after parsing in the spec file's text (read again: the problems are
 * rare, the file small). A file that cannot be read any more gives positions 0:0.
 * @param path - the spec file, as the issues should name it
 */
async function locateInSpecFile(path: string, problems: readonly SpecProblem[]): Promise<Issue[]> {
  if (problems.length === 0) return [];
  const text = await readFile(path, 'utf8').catch(() => '');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  return problems.map((p) => {
    const { line, col } = text === '' ? { line: 0, col: 0 } : locate({ doc, lineCounter, text }, p.path, p.at);
    const out: Issue = { file: path, line, col, path: formatPath(p.path), message: p.message, severity: p.severity };
    if (p.expected !== undefined) out.expected = p.expected;
    if (typeof p.got === 'string') out.got = p.got;
    return out;
  });
}

/**
 * Judges the spec against the inventory it loaded (a file or a discovery command): every id a
 * tier's `canary` or `waves` lists is a member of that tier, listed waves leave no member out,
 * a `spreadBy` label is carried by some member. Never for an inline inventory (the parser did it).
 * @param specPath - the spec file (for the issues' positions)
 * @returns located errors and warnings (empty when the spec names no targets)
 */
export async function checkSpecAgainstInventory(
  specPath: string,
  spec: RolloutSpec,
  targets: readonly Target[],
): Promise<{ errors: Issue[]; warnings: Issue[] }> {
  if (spec.inventory.kind === 'inline') return { errors: [], warnings: [] };
  const issues = await locateInSpecFile(specPath, checkExplicitTargets(spec.tiers, targets, spec.exclude));
  return {
    errors: issues.filter((i) => i.severity === 'error'),
    warnings: issues.filter((i) => i.severity === 'warning'),
  };
}
