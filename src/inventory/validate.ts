/**
 * Inventory documents: parsing YAML/JSON text with positions and checking the
 * shape of targets. Pure (no I/O): `load.ts` reads files and runs commands.
 *
 * Accepted shapes: a list of targets, or a mapping `{targets: [...]}`.
 * A target is `{id, address, labels?}`: `id` and `address` non-empty strings,
 * `id` unique, `labels` a mapping of label → string. Label values written as
 * numbers or booleans are converted with `String()` (`zone: 1` → `"1"`,
 * `canary: true` → `"true"`; `zone: 01` is the YAML number 1 → `"1"`, so quote
 * values that must stay as written).
 */
import { LineCounter, isCollection, isScalar, parseDocument, type Document } from 'yaml';
import type { Issue } from '../spec/issue.js';
import type { Target } from '../spec/types.js';

/** A 1-based position; `{line: 0, col: 0}` when unknown. */
export interface Position {
  line: number;
  col: number;
}

/** Path of a value inside an inventory document, e.g. `['targets', 3, 'labels', 'zone']`. */
export type DocPath = readonly (string | number)[];

/** Finds the position of the value at a path (or of its nearest ancestor that has one). */
export type Locate = (path: DocPath) => Position;

/** No positions (inline targets, whose positions the spec parser owns). */
export const NO_POSITION: Locate = () => ({ line: 0, col: 0 });

/** A parsed inventory text: the plain value, how to locate paths in it, and parse problems. */
export interface ParsedInventoryText {
  /** The document as plain data; `undefined` when it could not be parsed. */
  value: unknown;
  locate: Locate;
  /** Syntax problems (errors) and YAML warnings, with positions, without `file`. */
  problems: { position: Position; message: string; severity: Issue['severity'] }[];
}

function locateIn(doc: Document, lineCounter: LineCounter): Locate {
  return (path) => {
    for (let end = path.length; end >= 0; end--) {
      const node: unknown = end === 0 ? doc.contents : doc.getIn(path.slice(0, end), true);
      if ((isScalar(node) || isCollection(node)) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return { line, col };
      }
    }
    return { line: 0, col: 0 };
  };
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
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const yamlProblems = [
    ...doc.errors.map((e) => ({
      position: lineCounter.linePos(e.pos[0]),
      message: e.message.split('\n')[0]!,
      severity: 'error' as const,
    })),
    ...doc.warnings.map((w) => ({
      position: lineCounter.linePos(w.pos[0]),
      message: w.message.split('\n')[0]!,
      severity: 'warning' as const,
    })),
  ].map((p) => ({ ...p, position: { line: p.position.line, col: p.position.col } }));
  const locate = doc.errors.length === 0 ? locateIn(doc, lineCounter) : NO_POSITION;

  if (format === 'json') {
    try {
      const value: unknown = JSON.parse(source);
      // Duplicate keys: JSON.parse keeps the last silently; treat them as errors too.
      const duplicates = yamlProblems.filter((p) => p.severity === 'error' && /unique/i.test(p.message));
      return { value: duplicates.length > 0 ? undefined : value, locate, problems: duplicates };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = jsonErrorPosition(message, source) ??
        yamlProblems.find((p) => p.severity === 'error')?.position ?? { line: 0, col: 0 };
      return {
        value: undefined,
        locate: NO_POSITION,
        problems: [{ position, message: `invalid JSON: ${message}`, severity: 'error' }],
      };
    }
  }
  if (doc.errors.length > 0) return { value: undefined, locate, problems: yamlProblems };
  return { value: doc.toJS({ maxAliasCount: 10_000 }) as unknown, locate, problems: yamlProblems };
}

/** Options for {@link validateTargets}. */
export interface ValidateTargetsOptions {
  /** File named in each issue. */
  file: string;
  /** Positions of paths in the document. */
  locate: Locate;
  /** Prefix of every issue path (e.g. `inventory.targets` for inline targets, `output` for discovery output); `''` for none. */
  pathPrefix?: string;
  /** Appended to every message, given the issue's path (e.g. which command printed the document, and where). */
  messageSuffix?: (path: DocPath) => string;
}

const FIELD_NAME = /^[A-Za-z_$][\w$-]*$/;

/** Renders a document path: `targets[3].labels.zone`, `[0].id`, `labels["a.b"]`. */
export function formatDocPath(path: DocPath, prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (FIELD_NAME.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** Describes a value for the `got` of an issue: `null`, `a list`, `a mapping`, `number 7`, `"x"`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return value.trim() === ''
      ? `${JSON.stringify(value)} (empty)`
      : JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${typeof value} ${String(value)}`;
  return typeof value;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const TARGET_FIELDS = new Set(['id', 'address', 'labels']);
const SHAPE = 'a list of targets or a mapping {targets: [...]}';

/**
 * Checks an inventory document (plain data) and returns the valid targets and
 * every problem found — it does not stop at the first.
 *
 * Errors: a document that is not a list or `{targets: [...]}`; an entry that
 * is not a mapping; a missing, empty or non-string `id` or `address`; `labels`
 * not a mapping; a label value that is not a string, number or boolean; a
 * repeated `id` (reported on the later one). Warnings: unknown fields (ignored).
 * Entries with an error are left out of `targets`; the others keep document order.
 */
export function validateTargets(
  value: unknown,
  options: ValidateTargetsOptions,
): { targets: Target[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const targets: Target[] = [];
  const prefix = options.pathPrefix ?? '';
  let errorCount = 0;
  const add = (
    path: DocPath,
    severity: Issue['severity'],
    message: string,
    extra: { expected?: string; got?: string } = {},
  ): void => {
    const position = options.locate(path);
    if (severity === 'error') errorCount++;
    issues.push({
      file: options.file,
      line: position.line,
      col: position.col,
      path: formatDocPath(path, prefix),
      message: options.messageSuffix ? `${message}${options.messageSuffix(path)}` : message,
      ...extra,
      severity,
    });
  };

  let list: unknown[];
  let base: (string | number)[];
  if (value === null || value === undefined) {
    add([], 'error', 'inventory is empty', { expected: SHAPE });
    return { targets, issues };
  }
  if (Array.isArray(value)) {
    list = value;
    base = [];
  } else if (isMapping(value)) {
    if (!Object.hasOwn(value, 'targets')) {
      add([], 'error', 'inventory has no targets', {
        expected: SHAPE,
        got: `a mapping with ${
          Object.keys(value)
            .map((k) => JSON.stringify(k))
            .join(', ') || 'no keys'
        }`,
      });
      return { targets, issues };
    }
    for (const key of Object.keys(value))
      if (key !== 'targets') add([key], 'warning', `unknown field ${JSON.stringify(key)} is ignored`);
    if (!Array.isArray(value.targets)) {
      add(['targets'], 'error', 'targets must be a list', {
        expected: 'a list of targets',
        got: describeValue(value.targets),
      });
      return { targets, issues };
    }
    list = value.targets;
    base = ['targets'];
  } else {
    add([], 'error', 'inventory must be a list of targets', { expected: SHAPE, got: describeValue(value) });
    return { targets, issues };
  }

  const firstSeen = new Map<string, DocPath>();
  list.forEach((entry, i) => {
    const at = [...base, i];
    if (!isMapping(entry)) {
      add(at, 'error', 'a target must be a mapping with id, address and labels', {
        expected: 'a mapping',
        got: describeValue(entry),
      });
      return;
    }
    const before = errorCount;
    const text = (field: 'id' | 'address'): string | undefined => {
      if (!Object.hasOwn(entry, field) || entry[field] === undefined) {
        add(at, 'error', `missing ${field}`, { expected: `${field} as a non-empty string` });
        return undefined;
      }
      const v = entry[field];
      if (typeof v !== 'string' || v.trim() === '') {
        add([...at, field], 'error', `${field} must be a non-empty string`, {
          expected: 'a non-empty string',
          got: describeValue(v),
        });
        return undefined;
      }
      return v;
    };
    const id = text('id');
    const address = text('address');

    const labels: Record<string, string> = {};
    const rawLabels = entry.labels;
    if (rawLabels !== undefined && rawLabels !== null) {
      if (!isMapping(rawLabels)) {
        add([...at, 'labels'], 'error', 'labels must be a mapping of label to string', {
          expected: 'a mapping',
          got: describeValue(rawLabels),
        });
      } else {
        for (const [key, v] of Object.entries(rawLabels)) {
          let str: string | undefined;
          if (typeof v === 'string') str = v;
          else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' || typeof v === 'bigint')
            str = String(v);
          if (str === undefined) {
            add([...at, 'labels', key], 'error', 'label value must be a string', {
              expected: 'a string (numbers and booleans are converted)',
              got: describeValue(v),
            });
            continue;
          }
          Object.defineProperty(labels, key, { value: str, enumerable: true, writable: true, configurable: true });
        }
      }
    }
    for (const key of Object.keys(entry)) {
      if (!TARGET_FIELDS.has(key)) {
        add(
          [...at, key],
          'warning',
          `unknown field ${JSON.stringify(key)} is ignored (a target has id, address and labels; put other data under labels)`,
        );
      }
    }

    if (id !== undefined) {
      const first = firstSeen.get(id);
      if (first) {
        const pos = options.locate(first);
        const where = pos.line > 0 ? `line ${pos.line}` : formatDocPath(first, prefix);
        add([...at, 'id'], 'error', `duplicate target id ${JSON.stringify(id)} (first at ${where})`, {
          expected: 'a unique id',
        });
      } else {
        firstSeen.set(id, at);
      }
    }
    if (errorCount === before && id !== undefined && address !== undefined) targets.push({ id, address, labels });
  });
  return { targets, issues };
}
