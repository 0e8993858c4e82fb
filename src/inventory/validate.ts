/**
 * Inventory documents: parsing YAML/JSON text with positions and checking the targets in it.
 * Pure (no I/O): `load.ts` reads files and runs commands.
 *
 * Accepted shapes: a list of targets, or a mapping `{targets: [...]}`. Each target is checked
 * with the spec's own target schema (`TargetSchema`: `id` and `address` without spaces,
 * `labels` a mapping of label → string, number or boolean, no other field), and the list with
 * the spec's own list rules (`checkTargetList`: a repeated id is an error, a repeated address a
 * warning), so an inline inventory, a file and a discovery command's output are refused for
 * the same mistakes with the same words (issue 14, part 1). Label values written as numbers or
 * booleans become strings (`zone: 1` → `"1"`; `zone: 01` is the YAML number 1 → `"1"`, so quote
 * values that must stay as written).
 */
import { LineCounter, parseDocument } from 'yaml';
import type { Issue } from '../spec/issue.js';
import { MAX_ALIAS_COUNT } from '../spec/located.js';
import type { PathSegment, Position, YamlSource } from '../spec/locate.js';
import type { SpecProblem } from '../spec/problem.js';
import { checkTargetList } from '../spec/rules.js';
import { TargetSchema } from '../spec/schema.js';
import type { Target } from '../spec/types.js';
import { problemsFromZod } from '../spec/zod-issues.js';

/** A parsed inventory text: the plain value, the YAML to locate paths in, and parse problems. */
export interface ParsedInventoryText {
  /** The document as plain data; `undefined` when it could not be parsed. */
  value: unknown;
  /** The parsed YAML (JSON is YAML 1.2), for positions; absent when the text did not parse. */
  source?: YamlSource;
  /** Syntax problems (errors) and YAML warnings, with positions, without `file`. */
  problems: { position: Position; message: string; severity: Issue['severity'] }[];
}

/** The position in `text` that a `JSON.parse` error message names, when it names one. */
function jsonErrorPosition(message: string, text: string): Position | undefined {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), col: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  if (!pos) return undefined;
  const counter = new LineCounter();
  let offset = 0;
  for (const line of text.split('\n')) {
    counter.addNewLine(offset);
    offset += line.length + 1;
  }
  const { line, col } = counter.linePos(Number(pos[1]));
  return { line, col };
}

/**
 * Parses inventory text.
 *
 * - `yaml`: YAML 1.2 (so JSON too), positions from the `yaml` package's
 *   `LineCounter`; duplicate keys are errors.
 * - `json`: strict `JSON.parse` (what a `.json` file or a discovery command
 *   must print), positions taken from a YAML parse of the same text when it
 *   succeeds (JSON is YAML 1.2).
 *
 * Never throws.
 * @param text - file contents or a command's stdout (a leading BOM is ignored).
 */
export function parseInventoryText(text: string, format: 'yaml' | 'json'): ParsedInventoryText {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lineCounter = new LineCounter();
  const doc = parseDocument(body, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  const yamlProblems = [
    ...doc.errors.map((e) => ({
      position: at(e.pos[0]),
      message: e.message.split('\n')[0]!,
      severity: 'error' as const,
    })),
    ...doc.warnings.map((w) => ({
      position: at(w.pos[0]),
      message: w.message.split('\n')[0]!,
      severity: 'warning' as const,
    })),
  ];
  const source: YamlSource | undefined = doc.errors.length === 0 ? { doc, lineCounter, text: body } : undefined;

  if (format === 'json') {
    try {
      const value: unknown = JSON.parse(body);
      // Duplicate keys: JSON.parse keeps the last silently; treat them as errors too.
      const duplicates = yamlProblems.filter((p) => p.severity === 'error' && /unique/i.test(p.message));
      return { value: duplicates.length > 0 ? undefined : value, source, problems: duplicates };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = jsonErrorPosition(message, body) ??
        yamlProblems.find((p) => p.severity === 'error')?.position ?? { line: 0, col: 0 };
      return { value: undefined, problems: [{ position, message: `invalid JSON: ${message}`, severity: 'error' }] };
    }
  }
  if (doc.errors.length > 0) return { value: undefined, problems: yamlProblems };
  return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown, source, problems: yamlProblems };
}

/** The two shapes an inventory document may have. */
const SHAPE = 'a list of targets or a mapping {targets: [...]}';

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Targets checked in a document, with where each valid one is written. */
export interface CheckedTargets {
  /** Valid targets, in document order (labels as strings). */
  targets: Target[];
  /** `paths[i]`: where `targets[i]` is written in the document (`['targets', 3]`). */
  paths: PathSegment[][];
  /** Every problem found (not only the first), with paths in the document. */
  problems: SpecProblem[];
}

/**
 * Checks an inventory document (plain data): its shape, each target against the spec's
 * `TargetSchema`, and the list against `checkTargetList`. Entries with an error are left out
 * of `targets`; the others keep document order. Never throws.
 */
export function checkInventoryDocument(value: unknown): CheckedTargets {
  const out: CheckedTargets = { targets: [], paths: [], problems: [] };
  let list: unknown[];
  let base: PathSegment[];
  if (value === null || value === undefined) {
    out.problems.push({ path: [], message: 'inventory is empty', expected: SHAPE, severity: 'error' });
    return out;
  }
  if (Array.isArray(value)) {
    list = value;
    base = [];
  } else if (isMapping(value) && Object.hasOwn(value, 'targets')) {
    for (const key of Object.keys(value))
      if (key !== 'targets')
        out.problems.push({
          path: [key],
          message: 'unknown field (an inventory file holds targets only)',
          expected: 'targets',
          got: null,
          at: 'key',
          severity: 'error',
        });
    if (!Array.isArray(value.targets)) {
      out.problems.push({
        path: ['targets'],
        message: 'must be a list',
        expected: 'a list of targets',
        showGot: true,
        severity: 'error',
      });
      return out;
    }
    list = value.targets;
    base = ['targets'];
  } else {
    const got = isMapping(value)
      ? `a mapping with ${
          Object.keys(value)
            .map((k) => JSON.stringify(k))
            .join(', ') || 'no keys'
        }`
      : undefined;
    out.problems.push({
      path: [],
      message: isMapping(value) ? 'inventory has no targets' : 'inventory must be a list of targets',
      expected: SHAPE,
      ...(got !== undefined ? { got } : { showGot: true }),
      severity: 'error',
    });
    return out;
  }

  list.forEach((entry, i) => {
    const at = [...base, i];
    const parsed = TargetSchema.safeParse(entry);
    if (!parsed.success) {
      for (const p of problemsFromZod(parsed.error.issues, entry))
        out.problems.push({ ...p, path: [...at, ...p.path] });
      return;
    }
    const labels: Record<string, string> = {};
    for (const [key, v] of Object.entries(parsed.data.labels ?? {}))
      Object.defineProperty(labels, key, { value: String(v), enumerable: true, writable: true, configurable: true });
    out.targets.push({ id: parsed.data.id, address: parsed.data.address, labels });
    out.paths.push(at);
  });
  // The list's rules; a target whose id repeats an earlier one is left out, like any error.
  const listProblems = checkTargetList(out.targets, (i) => out.paths[i]!);
  out.problems.push(...listProblems);
  const repeated = new Set(
    listProblems.filter((p) => p.severity === 'error').map((p) => JSON.stringify(p.path.slice(0, -1))),
  );
  if (repeated.size > 0) {
    const keep = out.paths.map((path) => !repeated.has(JSON.stringify(path)));
    out.targets = out.targets.filter((_, i) => keep[i]);
    out.paths = out.paths.filter((_, i) => keep[i]);
  }
  return out;
}
