/**
 * From the state file's text to a checked `RolloutState`: the bulk read line-wise when it is
 * in the writer's layout (src/state/format.ts), else all of it with `yaml`; the format and
 * version checked; words an older Fleetgate wrote read as today's (src/state/legacy.ts); then
 * every field checked by the state's schema (src/state/schema.ts). Whatever is wrong with the
 * text is a `StateReadError` located at `file:line:col`, never a YAML stack trace and never a
 * write error.
 */
import { LineCounter, parseDocument, visit } from 'yaml';
import { StateReadError } from '../errors.js';
import { locateProblems, yamlSourceOf } from '../spec/located.js';
import { describeValue, locate, truncate } from '../spec/locate.js';
import { problemsFromZod } from '../spec/zod-issues.js';
import { readStateLineWise } from './format.js';
import { readOldWords } from './legacy.js';
import { StateSchema } from './schema.js';
import { createEmptyState, STATE_API_VERSION, STATE_KIND, type RolloutState } from './types.js';

/**
 * Parses state text: line-wise for the bulk when it is in the writer's own layout
 * (`readStateLineWise`), else with `yaml`; then checks every field the engine
 * reads (unknown extra fields are kept, for newer writers).
 * @throws StateReadError (never a YAML stack trace) naming the file, the line and
 *   column, the field and what was expected.
 */
export function parseState(text: string, file: string): RolloutState {
  return parseStateUsing(text, file, true);
}

/** `parseState` reading the whole text with `yaml` (the reference the line-wise reader must match). */
export function parseStateWithYaml(text: string, file: string): RolloutState {
  return parseStateUsing(text, file, false);
}

function parseStateUsing(text: string, file: string, lineWise: boolean): RolloutState {
  let raw: Record<string, unknown>;
  try {
    raw = ((lineWise ? readStateLineWise(text) : undefined) ?? readStateWithYaml(text, file)) as Record<
      string,
      unknown
    >;
  } catch (error) {
    if (error instanceof StateReadError) throw error;
    throw new StateReadError(`${file}:1:1: state file cannot be read: ${(error as Error).message}`);
  }
  if (raw.apiVersion !== STATE_API_VERSION || raw.kind !== STATE_KIND) {
    const { line, col } = locate(yamlSourceOf(text), [raw.apiVersion !== STATE_API_VERSION ? 'apiVersion' : 'kind']);
    const got = [raw.apiVersion, raw.kind].map((v) => truncate(describeValue(v))).join(', ');
    throw new StateReadError(
      `${file}: unknown state format (expected apiVersion ${STATE_API_VERSION}, kind ${STATE_KIND}, got ${got}) at ${file}:${line}:${col}`,
    );
  }
  // A file an older version wrote may use words since renamed (src/state/legacy.ts).
  readOldWords(raw);
  // The schema (src/state/schema.ts) checks every field the engine writes; problems are worded
  // and located as the spec's are, by the same module (src/spec/located.ts). Its output is not
  // used: the value read keeps its key order.
  const checked = StateSchema.safeParse(raw);
  if (!checked.success) {
    const problems = problemsFromZod(checked.error.issues, raw);
    // Only the first is located (a second parse of the text, on this error path only).
    const first = locateProblems(file, yamlSourceOf(text), raw, [{ ...problems[0]!, showGot: true }])[0]!;
    const extra = problems.length - 1;
    const more = extra === 0 ? '' : ` (and ${extra} more problem${extra === 1 ? '' : 's'})`;
    const detail = [first.expected && `expected ${first.expected}`, first.got && `got ${first.got}`].filter(Boolean);
    throw new StateReadError(
      `${file}:${first.line}:${first.col}: ${first.path || '(document)'}: ${first.message}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}${more}; the state file was edited by hand or is damaged`,
    );
  }
  const state = raw as unknown as Partial<RolloutState> & { name: string };
  const empty = createEmptyState(state.name);
  return {
    ...empty,
    ...state,
    breaker: { ...empty.breaker, ...(state.breaker ?? {}) },
    targets: state.targets ?? {},
    waves: state.waves ?? [],
    decisions: state.decisions ?? [],
    approvals: state.approvals ?? [],
    history: state.history ?? [],
  };
}

/** Reads the whole text with `yaml` (the reference reader; also the one that locates problems). */
function readStateWithYaml(text: string, file: string): Record<string, unknown> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new StateReadError(`${at(e.pos[0])}: state file is not valid YAML: ${e.message.split('\n')[0]}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 0 });
  } catch (error) {
    let offset = 0;
    visit(doc, {
      Alias(_k, alias) {
        offset = alias.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    throw new StateReadError(
      `${at(offset)}: state file is not valid: ${(error as Error).message} (a state file has no anchors or aliases)`,
    );
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new StateReadError(
      `${at((doc.contents as { range?: number[] } | null)?.range?.[0] ?? 0)}: state file is empty or not a mapping (got ${truncate(describeValue(raw))})`,
    );
  }
  return raw as Record<string, unknown>;
}
