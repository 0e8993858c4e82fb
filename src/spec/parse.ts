/**
 * Reads a rollout spec: YAML with positions → shape check (zod) → normalized
 * spec → cross-field rules. Every problem is collected with its file, line and
 * column; nothing stops at the first one.
 */
import { readFile } from 'node:fs/promises';
import {
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type YAMLError,
} from 'yaml';
import type { Issue } from './issue.js';
import { gotAt, keyText, locate, formatPath, type PathSegment, type YamlSource } from './locate.js';
import { locateProblems, MAX_ALIAS_COUNT, toIssue as issue } from './located.js';
import { normalizeSpec } from './normalize.js';
import { checkRequiredSteps, checkSpecRules } from './rules.js';
import { loadConfigFile } from './config-file.js';
import { WrittenRolloutSpecSchema } from './schema.js';
import { SPEC_API_VERSION, SPEC_KIND, type RolloutSpec } from './types.js';
import { SpecValidationError } from './validation-error.js';
import { problemsFromZod } from './zod-issues.js';

/** Result of parsing a spec: the normalized spec, or every error; warnings either way. */
export type ParseResult =
  { ok: true; spec: RolloutSpec; warnings: Issue[] } | { ok: false; errors: Issue[]; warnings: Issue[] };

/** Plainer words for some of the `yaml` package's error codes; the others keep the package's message. */
const YAML_MESSAGES: Partial<Record<string, string>> = {
  TAB_AS_INDENT: 'tabs are not allowed as indentation in YAML; indent with spaces',
  MULTIPLE_DOCS: 'the file holds more than one YAML document (a line with ---); a spec file holds one',
  BLOCK_AS_IMPLICIT_KEY: 'a nested block cannot be a map key; check the indentation',
  MULTILINE_IMPLICIT_KEY: 'a map key must be on one line; check the indentation or a missing ":"',
};

/** Path to the map key that starts at `offset` (for duplicate keys), or `undefined`. */
function pathOfKeyAt(node: unknown, offset: number, path: PathSegment[] = []): PathSegment[] | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (key?.range?.[0] === offset) return [...path, keyText(key)];
      const found = pathOfKeyAt(pair.value, offset, [...path, keyText(key)]);
      if (found !== undefined) return found;
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const found = pathOfKeyAt(node.items[i], offset, [...path, i]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function yamlIssue(file: string, source: YamlSource, error: YAMLError, severity: 'error' | 'warning'): Issue {
  const { line, col } = source.lineCounter.linePos(error.pos[0]);
  if (error.code === 'DUPLICATE_KEY') {
    const path = pathOfKeyAt(source.doc.contents, error.pos[0]) ?? [];
    const key = path[path.length - 1];
    return issue(file, line, col, {
      path: formatPath(path),
      message: `duplicate key${key === undefined ? '' : ` "${String(key)}"`}: each key may appear once in a map`,
      severity,
    });
  }
  const detail = error.message.split('\n')[0] ?? '';
  const message = `YAML: ${YAML_MESSAGES[error.code] ?? `${detail.charAt(0).toLowerCase()}${detail.slice(1)}`}`;
  return issue(file, line, col, { path: '', message, severity });
}

function byPosition(a: Issue, b: Issue): number {
  return a.line - b.line || a.col - b.col;
}

/** Checks that need the YAML nodes: collection keys, unresolved aliases. */
function structuralProblems(file: string, source: YamlSource): Issue[] {
  const out: Issue[] = [];
  /** A problem of the document's structure at `node` (no field path: it is not a field's). */
  const problem = (node: Node, message: string) => {
    const { line, col } = source.lineCounter.linePos(node.range?.[0] ?? 0);
    out.push(issue(file, line, col, { path: '', message, severity: 'error' }));
  };
  visit(source.doc, {
    Pair(_key, pair) {
      if (
        isScalar(pair.key) &&
        pair.key.type === 'PLAIN' &&
        pair.key.source === '<<' &&
        !isMergeSource(pair.value, source.doc)
      )
        problem(pair.key, 'a merge key (<<) must be followed by a map, an alias of a map, or a list of them');
      if (isCollection(pair.key)) problem(pair.key, 'a map key must be a plain value, not a map or list');
    },
    Alias(_key, alias) {
      let target: unknown;
      try {
        target = alias.resolve(source.doc);
      } catch {
        target = undefined;
      }
      if (target === undefined) problem(alias, `alias *${alias.source} refers to no anchor &${alias.source} above it`);
    },
  });
  return out;
}

/** Whether a `<<` merge key's value is something YAML can merge: a map, an alias of one, or a list of those. */
function isMergeSource(value: unknown, doc: Document): boolean {
  const one = (v: unknown): boolean => {
    if (isMap(v)) return true;
    if (isAlias(v)) {
      try {
        return isMap(v.resolve(doc));
      } catch {
        return false;
      }
    }
    return false;
  };
  return one(value) || (isSeq(value) && value.items.every(one));
}

function firstAlias(doc: Document): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Alias(_key, alias) {
      found = alias;
      return visit.BREAK;
    },
  });
  return found;
}

function parseSpecUnchecked(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const source: YamlSource = { doc, lineCounter, text };
  const warnings = doc.warnings.map((w) => yamlIssue(file, source, w, 'warning'));
  const fail = (errors: Issue[]): ParseResult => ({
    ok: false,
    errors: errors.sort(byPosition),
    warnings: warnings.sort(byPosition),
  });

  if (doc.errors.length > 0) return fail(doc.errors.map((e) => yamlIssue(file, source, e, 'error')));
  const structural = structuralProblems(file, source);
  if (structural.length > 0) return fail(structural);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const alias = firstAlias(doc);
    const { line, col } = alias === undefined ? { line: 0, col: 0 } : lineCounter.linePos(alias.range?.[0] ?? 0);
    const excessive = error instanceof Error && /alias count/i.test(error.message);
    return fail([
      issue(file, line, col, {
        path: '',
        message: excessive
          ? `aliases expand to too much data (more than ${MAX_ALIAS_COUNT} alias uses): refusing a possible "billion laughs" document`
          : `YAML: ${error instanceof Error ? error.message : String(error)}`,
        severity: 'error',
      }),
    ]);
  }

  if (data === null || data === undefined) {
    return fail([
      issue(file, 0, 0, {
        path: '',
        message: 'the file is empty',
        expected: `a rollout spec starting with apiVersion: ${SPEC_API_VERSION} and kind: ${SPEC_KIND}`,
        severity: 'error',
      }),
    ]);
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    const { line, col } = locate(source, []);
    return fail([
      issue(file, line, col, {
        path: '',
        message: 'a rollout spec is a YAML map of fields',
        expected: 'apiVersion, kind, name, component, version, inventory, steps, …',
        got: gotAt(source, data, []),
        severity: 'error',
      }),
    ]);
  }

  const kind = (data as Record<string, unknown>).kind;
  if (kind !== undefined && kind !== SPEC_KIND) {
    const { line, col } = locate(source, ['kind']);
    return fail([
      issue(file, line, col, {
        path: 'kind',
        message: `not a rollout spec: this file holds a ${typeof kind === 'string' ? kind : 'different kind of document'}`,
        expected: `"${SPEC_KIND}"`,
        got: gotAt(source, data, ['kind']),
        severity: 'error',
      }),
    ]);
  }

  const parsed = WrittenRolloutSpecSchema.safeParse(data);
  const missingSteps = checkRequiredSteps(data);
  if (!parsed.success) {
    return fail(locateProblems(file, source, data, [...problemsFromZod(parsed.error.issues, data), ...missingSteps]));
  }

  const spec = normalizeSpec(parsed.data, file);
  const problems = locateProblems(file, source, data, [...missingSteps, ...checkSpecRules(spec, parsed.data)]);
  const errors = problems.filter((p) => p.severity === 'error');
  warnings.push(...problems.filter((p) => p.severity === 'warning'));
  if (errors.length > 0) return fail(errors);
  return { ok: true, spec, warnings: warnings.sort(byPosition) };
}

/**
 * Parses and validates a rollout spec.
 *
 * YAML syntax errors (all of them), duplicate keys, unresolved aliases and
 * alias bombs (more than {@link MAX_ALIAS_COUNT} alias expansions) are
 * reported first; then every shape problem (zod schema); when the shape is
 * right, the cross-field rules of `checkSpecRules`. Issues are sorted by
 * position; lines and columns are 1-based (0 when there is no position, e.g.
 * an empty file).
 *
 * Never throws: an unexpected failure becomes an issue saying it is a bug.
 *
 * @param text - the YAML text.
 * @param file - the path to show in issues (and to record as `spec.file`).
 */
export function parseSpec(text: string, file: string): ParseResult {
  try {
    return parseSpecUnchecked(text, file);
  } catch (error) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return {
      ok: false,
      errors: [
        {
          file,
          line: 0,
          col: 0,
          path: '',
          message: `internal error in Fleetgate while reading the spec; please report it at https://github.com/fleetgate/fleetgate/issues/new with this file: ${detail.split('\n')[0] ?? ''}`,
          severity: 'error',
        },
      ],
      warnings: [],
    };
  }
}

/**
 * Reads and parses a spec file (UTF-8). A file that cannot be read becomes an
 * issue at line 0, column 0 (`file not found`, `is a directory`, …); never throws.
 * @param path - file path; also what issues show and `spec.file` records.
 */
export async function readSpecFile(path: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory, not a spec file'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied reading the file'
            : `cannot read the file: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false, errors: [{ file: path, line: 0, col: 0, path: '', message, severity: 'error' }], warnings: [] };
  }
  const result = parseSpec(text, path);
  return result.ok && result.spec.config?.source.kind === 'file' ? withConfigFile(result, text, path) : result;
}

/**
 * Reads the spec's `config.file` (docs/config-rollouts.md) into `spec.config`; a missing or
 * unreadable file, or `hotReload` keys the file does not have, are located in the spec like
 * any other problem.
 */
async function withConfigFile(result: ParseResult & { ok: true }, text: string, path: string): Promise<ParseResult> {
  const problems = await loadConfigFile(result.spec.config!, path);
  if (problems.length === 0) return result;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const data: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  const issues = locateProblems(path, { doc, lineCounter, text }, data, problems).sort(byPosition);
  return { ok: false, errors: issues, warnings: result.warnings };
}

/** Options of {@link loadSpec}. */
export interface LoadSpecOptions {
  /** Called with each warning of a valid spec (e.g. to print or annotate it). */
  onWarning?: (warning: Issue) => void;
}

/**
 * Reads, validates and normalizes a spec file.
 * @returns the normalized spec (durations in ms, percents as percent numbers).
 * @throws SpecValidationError with every error (and the warnings) when the file is unreadable or invalid.
 */
export async function loadSpec(path: string, options: LoadSpecOptions = {}): Promise<RolloutSpec> {
  const result = await readSpecFile(path);
  if (!result.ok) throw new SpecValidationError(path, result.errors, result.warnings);
  for (const warning of result.warnings) options.onWarning?.(warning);
  return result.spec;
}
