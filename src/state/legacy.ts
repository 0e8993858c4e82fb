/**
 * Words older Fleetgate versions wrote in a state file, read as today's (issue 14, part 2: one
 * term per concept, the glossary decides; docs/glossary.md). A state file is committed and lives
 * for years, so a newer reader keeps reading what an older writer left; the next write then
 * writes today's words. Nothing here is written: writers only ever use the new words.
 *
 * Each rename is a field at a place in the state (a path of keys, `*` for every entry of a list
 * or mapping) and the old values it replaces. Unknown values are left alone for the schema to
 * report; a value that is already today's is untouched, so reading twice changes nothing.
 */

/** A value renamed at one place in the state: `field` of every object matched by `at`. */
interface Rename {
  /** Keys from the document's root to the objects holding the field; `*` matches every entry. */
  at: readonly string[];
  /** The field holding the value. */
  field: string;
  /** Old value → today's. */
  values: Readonly<Record<string, string>>;
  /** A field that replaces `field` (its value mapped too), when the field itself was renamed. */
  renamedTo?: string;
}

/** A measurement's older phase words (Argo's) → its verdict. */
const MEASUREMENT_VERDICTS = {
  Successful: 'pass',
  Failed: 'fail',
  Inconclusive: 'inconclusive',
  Error: 'error',
} as const;

/**
 * The renames, oldest first. Each names the release that changed it, for a reader who finds the
 * old word in a file.
 */
const RENAMES: readonly Rename[] = [
  // 0.x → issue 14: a target being moved is `Progressing`, as a wave and a rollout are.
  { at: ['targets', '*'], field: 'phase', values: { InProgress: 'Progressing' } },
  // 0.x → issue 14: the step that reads a target's version is the spec's `version` step.
  { at: ['targets', '*'], field: 'step', values: { probe: 'version' } },
  // 0.x → issue 14: a measurement has a verdict, in the words of its wave's analysis (and `error`,
  // its query failed); `phase` is a rollout's, a wave's, a target's or a hook's only.
  {
    at: ['waves', '*', 'analysis', 'measurements', '*'],
    field: 'phase',
    values: MEASUREMENT_VERDICTS,
    renamedTo: 'verdict',
  },
  // The same for each look of a sequential metric (`series`, one flow line each).
  {
    at: ['waves', '*', 'analysis', 'measurements', '*', 'series', '*'],
    field: 'phase',
    values: MEASUREMENT_VERDICTS,
    renamedTo: 'verdict',
  },
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Objects reached from `root` along `at` (`*`: every entry of a list or mapping). */
function objectsAt(root: unknown, at: readonly string[]): Record<string, unknown>[] {
  let level: unknown[] = [root];
  for (const key of at) {
    const next: unknown[] = [];
    for (const node of level) {
      if (key === '*') {
        if (Array.isArray(node)) next.push(...(node as unknown[]));
        else if (isRecord(node)) next.push(...Object.values(node));
      } else if (isRecord(node) && key in node) next.push(node[key]);
    }
    level = next;
  }
  return level.filter(isRecord);
}

/**
 * Rewrites, in place, the old words of a state file just read (a plain value from YAML) to
 * today's, before the schema checks it. Key order is kept (a renamed field takes the old
 * field's place). Never throws: anything not shaped as expected is left for the schema.
 *
 * @param raw - the state file's content as read (mutated).
 * @returns how many values were rewritten (0 for a file written by this version).
 */
export function readOldWords(raw: Record<string, unknown>): number {
  let rewritten = 0;
  for (const rename of RENAMES) {
    for (const holder of objectsAt(raw, rename.at)) {
      if (!(rename.field in holder)) continue;
      const old = holder[rename.field];
      const value = typeof old === 'string' && Object.hasOwn(rename.values, old) ? rename.values[old]! : old;
      const to = rename.renamedTo ?? rename.field;
      if (to !== rename.field) {
        // Rebuild the object so the new field stands where the old one did; a file that
        // somehow holds both keeps the new one.
        const entries = Object.entries(holder);
        for (const [key] of entries) delete holder[key];
        const hasNew = entries.some(([key]) => key === to);
        for (const [key, v] of entries) {
          if (key !== rename.field) holder[key] = v;
          else if (!hasNew) holder[to] = value;
        }
        rewritten++;
      } else if (value !== old) {
        holder[to] = value;
        rewritten++;
      }
    }
  }
  return rewritten;
}
