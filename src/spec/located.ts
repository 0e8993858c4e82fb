/**
 * One way from a problem (a field path and words, `SpecProblem`) to a located issue
 * (`file:line:col path: message (expected …, got …)`), for every document Fleetgate reads:
 * the spec, an inventory file, a discovery command's output, and the problems judged after
 * an inventory is loaded (issue 14, part 1). Schema problems come from zod through
 * `problemsFromZod`; positions from `locate`.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { Issue } from './issue.js';
import { formatPath, gotAt, locate, type PathSegment, type Position, type YamlSource } from './locate.js';
import type { SpecProblem } from './problem.js';

/** Most alias expansions a spec or inventory document may make (YAML "billion laughs" guard). */
export const MAX_ALIAS_COUNT = 100;

/** An issue from a problem whose path is already rendered. */
export function toIssue(
  file: string,
  line: number,
  col: number,
  problem: Omit<SpecProblem, 'path'> & { path: string },
): Issue {
  const out: Issue = { file, line, col, path: problem.path, message: problem.message, severity: problem.severity };
  if (problem.expected !== undefined) out.expected = problem.expected;
  if (typeof problem.got === 'string') out.got = problem.got;
  return out;
}

/**
 * Locates problems in a parsed YAML (or JSON) document: each at its path's value (or key),
 * showing the value written there as `got` when the problem asks for it (`showGot`).
 * @param data - the document as plain data (what the schema saw)
 * @param prefix - prepended to each rendered path only (e.g. `output` for a discovery command's output)
 */
export function locateProblems(
  file: string,
  source: YamlSource,
  data: unknown,
  problems: readonly SpecProblem[],
  prefix: readonly PathSegment[] = [],
): Issue[] {
  return problems.map((problem) => {
    const { line, col } = locate(source, problem.path, problem.at);
    const got = problem.got === undefined && problem.showGot === true ? gotAt(source, data, problem.path) : problem.got;
    return toIssue(file, line, col, {
      ...problem,
      path: formatPath([...prefix, ...problem.path]),
      ...(got === undefined ? {} : { got }),
    });
  });
}

/** Parses text for locating paths in it (YAML 1.2, so JSON too; merge keys followed as the spec parser does). */
export function yamlSourceOf(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  return { doc, lineCounter, text };
}

/**
 * Locates problems in a file read again (problems found after parsing are rare, the files
 * small). A file that cannot be read or parsed any more gives positions 0:0.
 * @param path - the file, as the issues should name it (relative paths from the working directory)
 */
export async function locateInFile(path: string, problems: readonly SpecProblem[]): Promise<Issue[]> {
  if (problems.length === 0) return [];
  const text = await readFile(path, 'utf8').catch(() => '');
  const source = text === '' ? undefined : yamlSourceOf(text);
  if (!source || source.doc.errors.length > 0)
    return problems.map((p) => toIssue(path, 0, 0, { ...p, path: formatPath(p.path) }));
  return locateProblems(path, source, source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), problems);
}

/**
 * Where the targets of a loaded inventory are written, so problems about them found later
 * (judged against the spec's tiers) are located where a person can fix them: in the
 * inventory file, or at the spec's `inventory.discover` with the position in the command's output.
 */
export interface TargetLocator {
  /** Path of the `i`-th loaded target in its document (`['targets', 3]`). */
  path(i: number): PathSegment[];
  /** Locates problems whose paths start with {@link path}. */
  locate(problems: readonly SpecProblem[]): Promise<Issue[]>;
}

/** `(stdout line 6, column 3)` for a position in a command's output, `''` when unknown. */
export function outputPosition(p: Position): string {
  return p.line > 0 ? ` (stdout line ${p.line}, column ${p.col})` : '';
}
