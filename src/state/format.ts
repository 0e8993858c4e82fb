/**
 * The state file's own layout, written and read by hand where it is big: one flow line per
 * target, per wave's target list, per wave's step timings and per past wave, so a 10,000-target
 * state is written and read in milliseconds, not the ~0.5 s the `yaml` library takes. Text
 * outside that layout is written and read by `yaml` itself, and the text written is byte for
 * byte what `yaml` alone writes (property-tested against `serializeStateWithYaml` and the
 * reference reader in src/state/parse.ts; measured in bench/).
 */
import { randomBytes } from 'node:crypto';
import { serialize as v8Serialize } from 'node:v8';
import { Document, isMap, isSeq, parseDocument, visit } from 'yaml';
import { redactSecrets } from '../util/secrets.js';
import type { RolloutState } from './types.js';

/** First lines of every state file. */
const STATE_HEADER = [
  ' Written by Fleetgate. Do not edit: change the spec (rollouts/<name>.yaml) or use',
  ' `fleetgate resume|rollback`. `revision` is compared-and-swapped on every write.',
].join('\n');

/**
 * Serializes state for a person reading a diff and for size at 10,000 targets:
 * one flow-style line per target and per wave's target list.
 *
 * The `targets` section and the waves' target lists are written line by line
 * (`formatTargetLine`, `formatFlowSeq`): through the `yaml` library they took
 * ~0.35 s at 10,000 targets, on every state write. A target whose values are not
 * all plain words, whole numbers or booleans is written by `yaml` itself, so the
 * text is byte for byte what `serializeStateWithYaml` writes (property-tested).
 */
export function serializeState(state: RolloutState): string {
  if (state.targets === null || typeof state.targets !== 'object' || !Array.isArray(state.waves)) {
    return serializeStateWithYaml(state);
  }
  const nonce = TOKEN;
  const targetsToken = `${nonce}-targets`;
  const waveLists = new Map<string, string>();
  const waves = state.waves.map((w, i) => {
    const line = Array.isArray(w?.targets) ? cachedFlowSeq(w.targets) : undefined;
    if (line === undefined) return w;
    const token = `${nonce}-wave${i}`;
    waveLists.set(token, line);
    return { ...w, targets: token as never };
  });
  const entries = Object.entries(state.targets);
  const block =
    entries.length === 0 ? 'targets: {}' : `targets:\n${entries.map(([id, t]) => cachedTargetLine(id, t)).join('\n')}`;
  const { history, lines: historyLines } = tokenizeHistoryWaves(state.history, nonce);
  const { waves: timedWaves, lines: stepLines } = tokenizeWaveSteps(waves, nonce);
  const text = headerWithYaml({ ...state, waves: timedWaves, targets: targetsToken as never, history });
  const out = text
    .replace(`\ntargets: ${targetsToken}\n`, () => `\n${block}\n`)
    .replace(/^( +targets: )(fgtok-[0-9a-f]+-wave\d+)$/gm, (m, lead: string, token: string) => {
      const line = waveLists.get(token);
      return line === undefined ? m : `${lead}${line}`;
    })
    .replace(/^( {6}- )(fgtok-[0-9a-f]+-hw\d+)$/gm, (m, lead: string, token: string) => {
      const line = historyLines.get(token);
      return line === undefined ? m : `${lead}${line}`;
    })
    .replace(/^( {4}steps: )(fgtok-[0-9a-f]+-steps\d+)$/gm, (m, lead: string, token: string) => {
      const line = stepLines.get(token);
      return line === undefined ? m : `${lead}${line}`;
    });
  // A token that did not land where expected (cannot happen with a RolloutState): let yaml do it all.
  // Secrets are redacted from everything written (the yaml path redacts its own text).
  return out.includes(nonce) ? serializeStateWithYaml(state) : redactSecrets(out);
}

/**
 * The history with each past wave (`history[i].waves[j]`) that `formatHistoryWave` can write
 * replaced by a token, and the lines by token: a full history holds up to 1,000 of them, which
 * `yaml` took ~0.15 s to write on each change of the header.
 */
function tokenizeHistoryWaves(
  history: RolloutState['history'],
  nonce: string,
): { history: RolloutState['history']; lines: Map<string, string> } {
  const lines = new Map<string, string>();
  if (!Array.isArray(history)) return { history, lines };
  // Keyed by the V8 serialization of the whole history (a native call): it changes once per rollout.
  let key: Buffer | undefined;
  try {
    key = v8Serialize(history);
  } catch {
    key = undefined; // not serializable (cannot happen with a RolloutState): no caching
  }
  if (key && lastHistory?.nonce === nonce && lastHistory.key.equals(key)) return lastHistory.result;
  const out = history.map((entry) => {
    if (entry === null || typeof entry !== 'object' || !Array.isArray(entry.waves)) return entry;
    let changed = false;
    const waves = entry.waves.map((w) => {
      const line = w !== null && typeof w === 'object' ? formatDeepFlowMap(w, 2) : undefined;
      if (line === undefined) return w;
      const token = `${nonce}-hw${lines.size}`;
      lines.set(token, line);
      changed = true;
      return token as never;
    });
    return changed ? { ...entry, waves } : entry;
  });
  const result = { history: out, lines };
  if (key) lastHistory = { key, nonce, result };
  return result;
}

/** The waves with each `steps` that `formatDeepFlowMap` can write replaced by a token, and the lines by token. */
function tokenizeWaveSteps(
  waves: RolloutState['waves'],
  nonce: string,
): { waves: RolloutState['waves']; lines: Map<string, string> } {
  const lines = new Map<string, string>();
  const out = waves.map((w, i) => {
    const steps = (w as { steps?: unknown } | null)?.steps;
    if (steps === null || typeof steps !== 'object') return w;
    const line = formatDeepFlowMap(steps, 1);
    if (line === undefined) return w;
    const token = `${nonce}-steps${i}`;
    lines.set(token, line);
    return { ...w, steps: token as never };
  });
  return { waves: out, lines };
}

/** The last history tokenized, keyed by the V8 serialization of what it was made from. */
let lastHistory:
  { key: Buffer; nonce: string; result: { history: RolloutState['history']; lines: Map<string, string> } } | undefined;

/**
 * `{ k: v, … }` / `{}` as `yaml` writes a flow map: simple scalars, lists of plain words and
 * (`depth` > 0) maps of those `depth` − 1 levels deep; `undefined` for anything else.
 */
function formatDeepFlowMap(record: object, depth: number): string | undefined {
  if (Array.isArray(record)) return undefined;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    let text: string | undefined;
    if (Array.isArray(value)) text = formatFlowSeq(value);
    else if (value !== null && typeof value === 'object')
      text = depth > 0 ? formatDeepFlowMap(value as object, depth - 1) : undefined;
    else text = formatSimpleScalar(value);
    if (text === undefined || !isPlainWord(key)) return undefined;
    parts.push(`${key}: ${text}`);
  }
  return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
}

// ------------------------------------------------------------ write-path caches
//
// The engine writes the whole state around the steps of every target: at 500
// targets, formatting every line and the rollout's own fields through `yaml` on
// each write was a fifth of the CPU of a rollout (bench/RESULTS.md, rolling
// upgrade). Between two writes a few targets change and the rollout's own fields
// only change `revision` and `updatedAt`, so both are cached. Each cache is keyed
// on exactly what its text is made of, so a hit writes what a miss would have.

/**
 * Stands in for the sections written line-wise while `yaml` writes the rest; random per
 * process, so no value in a state can be mistaken for it.
 */
const TOKEN = `fgtok-${randomBytes(6).toString('hex')}`;

/** A target's line, with the fields it was made from. */
interface CachedLine {
  id: string;
  keys: string[];
  values: unknown[];
  line: string;
}
/** Target lines by target object (the engine changes a target's fields in place). */
const targetLines = new WeakMap<object, CachedLine>();

/** `formatTargetLine` (else `yaml`), reused while the target's fields and values are the same. */
function cachedTargetLine(id: string, target: unknown): string {
  if (target === null || typeof target !== 'object')
    return formatTargetLine(id, target) ?? formatTargetWithYaml(id, target);
  const record = target as Record<string, unknown>;
  const keys = Object.keys(record);
  const hit = targetLines.get(record);
  if (hit && hit.id === id && hit.keys.length === keys.length) {
    let same = true;
    for (let i = 0; i < keys.length && same; i++)
      same = hit.keys[i] === keys[i] && sameCachedValue(hit.values[i], record[keys[i]!]);
    if (same) return hit.line;
  }
  const line = formatTargetLine(id, target) ?? formatTargetWithYaml(id, target);
  // Scalars are compared by value, flat maps (labels) by a copy of their entries; anything
  // deeper could change unseen and is not cached.
  const values = keys.map((k) => {
    const v = record[k];
    return isFlatRecord(v) ? { ...v } : v;
  });
  if (values.every((v) => v === null || typeof v !== 'object' || isFlatRecord(v)))
    targetLines.set(record, { id, keys, values, line });
  else targetLines.delete(record);
  return line;
}

/** Whether a value equals what the cache copied (scalars by identity, flat maps entry by entry). */
function sameCachedValue(cached: unknown, value: unknown): boolean {
  if (Object.is(cached, value)) return true;
  if (!isFlatRecord(cached) || !isFlatRecord(value)) return false;
  const a = Object.keys(cached);
  const b = Object.keys(value);
  return a.length === b.length && a.every((k, i) => k === b[i] && Object.is(cached[k], value[k]));
}

/** Wave target lists by array, with the ids they were made from. */
const flowSeqs = new WeakMap<unknown[], { items: unknown[]; line: string | undefined }>();

/** `formatFlowSeq`, reused while the list holds the same ids. */
function cachedFlowSeq(items: unknown[]): string | undefined {
  const hit = flowSeqs.get(items);
  if (hit && hit.items.length === items.length && hit.items.every((v, i) => Object.is(v, items[i]))) return hit.line;
  const line = formatFlowSeq(items);
  flowSeqs.set(items, { items: [...items], line });
  return line;
}

/** The last header written, keyed by the V8 serialization of its fields (revision and updatedAt as tokens). */
let lastHeader: { key: Buffer; text: string } | undefined;

/**
 * The rollout's own fields (targets and wave lists already tokens) as `yaml`
 * writes them. When nothing but `revision` and `updatedAt` changed since the last
 * write, the last text is reused with those two values put in.
 */
function headerWithYaml(doc: RolloutState): string {
  const revision = formatSimpleScalar(doc.revision);
  const updatedAt = doc.updatedAt === undefined ? '' : formatSimpleScalar(doc.updatedAt);
  if (revision === undefined || updatedAt === undefined) return serializeStateWithYaml(doc);
  const revToken = `${TOKEN}-revision`;
  const atToken = `${TOKEN}-updatedAt`;
  const templated = {
    ...doc,
    revision: revToken as never,
    ...(doc.updatedAt === undefined ? {} : { updatedAt: atToken }),
  } as RolloutState;
  let key: Buffer | undefined;
  try {
    key = v8Serialize(templated);
  } catch {
    key = undefined; // not serializable (cannot happen with a RolloutState): no caching
  }
  let text: string;
  if (key && lastHeader?.key.equals(key)) {
    text = lastHeader.text;
  } else {
    text = serializeStateWithYaml(templated);
    if (key) lastHeader = { key, text };
  }
  return text
    .replace(`\nrevision: ${revToken}\n`, () => `\nrevision: ${revision}\n`)
    .replace(`\nupdatedAt: ${atToken}\n`, () => `\nupdatedAt: ${updatedAt}\n`);
}

/** The serializer as the `yaml` library alone writes it (the reference the fast path must match). */
export function serializeStateWithYaml(state: RolloutState): string {
  const doc = new Document(state);
  doc.commentBefore = STATE_HEADER;
  const targets = doc.get('targets', true);
  if (isMap(targets)) {
    for (const pair of targets.items) if (isMap(pair.value)) pair.value.flow = true;
  }
  const waves = doc.get('waves', true);
  if (isSeq(waves)) {
    visit(waves, {
      Pair(_k, pair) {
        const key = (pair.key as { value?: unknown } | null)?.value;
        if (isSeq(pair.value) && key === 'targets') pair.value.flow = true;
        // A sequential metric's looks (analysis measurements' `series`): one flow line per look.
        if (isSeq(pair.value) && key === 'series')
          for (const look of pair.value.items) if (isMap(look)) look.flow = true;
      },
    });
  }
  const breaker = doc.getIn(['breaker', 'trips'], true);
  if (isSeq(breaker)) {
    visit(breaker, {
      Pair(_k, pair) {
        if (isSeq(pair.value)) pair.value.flow = true;
      },
    });
  }
  flowLearningFields(doc);
  return redactSecrets(doc.toString({ lineWidth: 0 }));
}

/**
 * What later plans learn from, kept short in a diff: each wave's step timings (`waves[].steps`)
 * as one flow map on the wave's line, and each past rollout's waves (`history[].waves`) one line
 * per wave.
 */
function flowLearningFields(doc: Document): void {
  const waves = doc.get('waves', true);
  if (isSeq(waves)) {
    for (const w of waves.items) {
      const steps = isMap(w) ? w.get('steps', true) : undefined;
      if (isMap(steps)) steps.flow = true;
    }
  }
  const history = doc.get('history', true);
  if (!isSeq(history)) return;
  for (const entry of history.items) {
    const past = isMap(entry) ? entry.get('waves', true) : undefined;
    if (!isSeq(past)) continue;
    for (const w of past.items) if (isMap(w)) w.flow = true;
  }
}

// ------------------------------------------------------------ line-wise fast path

/** A word YAML writes plain and reads back as the same string in a flow collection. */
const PLAIN_WORD = /^[A-Za-z0-9_/][A-Za-z0-9_./+@:-]*$/;
/** Plain scalars the YAML 1.2 core schema reads as something else than a string (null, bool, numbers). */
const NOT_A_STRING =
  /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
/** Whole numbers handled line-wise (what `attempts` and counts look like). */
const WHOLE_NUMBER = /^(?:0|[1-9][0-9]{0,14})$/;
/** Characters a quoted scalar may not hold for the fast reader (controls, surrogates, BOM): yaml decides those. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHAR = /[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff]/;

function isPlainWord(text: string): boolean {
  return PLAIN_WORD.test(text) && !text.endsWith(':') && !NOT_A_STRING.test(text);
}

/** A scalar as `yaml` writes it inside a flow collection, when that is knowable without `yaml`. */
function formatSimpleScalar(value: unknown): string | undefined {
  if (typeof value === 'string') return isPlainWord(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isSafeInteger(value) && !Object.is(value, -0)) {
    const text = String(value);
    return WHOLE_NUMBER.test(text) ? text : undefined;
  }
  return undefined;
}

/** `[ a, b ]` or `[]` for a list of plain words; `undefined` otherwise. */
function formatFlowSeq(items: unknown[]): string | undefined {
  if (items.length === 0) return '[]';
  const parts: string[] = [];
  for (const item of items) {
    const text = typeof item === 'string' ? formatSimpleScalar(item) : undefined;
    if (text === undefined) return undefined;
    parts.push(text);
  }
  return `[ ${parts.join(', ')} ]`;
}

/** A flat record (every value a string, number or boolean): a target's `labels`. */
function isFlatRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  for (const v of Object.values(value)) if (v !== undefined && (v === null || typeof v === 'object')) return false;
  return true;
}

/** `{ k: v, … }` / `{}` for a map of simple keys and values (one level of `nested` allowed); `undefined` otherwise. */
function formatFlowMap(record: object, nested: boolean): string | undefined {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const text = nested && isFlatRecord(value) ? formatFlowMap(value, false) : formatSimpleScalar(value);
    if (text === undefined || !isPlainWord(key)) return undefined;
    parts.push(`${key}: ${text}`);
  }
  return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
}

/**
 * `  id: { phase: Succeeded, …, labels: { role: edge } }` when every key and value is simple
 * (a value may be one flat map of simple ones: the target's labels); `undefined` otherwise.
 */
function formatTargetLine(id: string, target: unknown): string | undefined {
  if (!isPlainWord(id) || target === null || typeof target !== 'object' || Array.isArray(target)) return undefined;
  const map = formatFlowMap(target, true);
  return map === undefined ? undefined : `  ${id}: ${map}`;
}

/** One target's line(s) written by `yaml`, indented as in the full document. */
function formatTargetWithYaml(id: string, target: unknown): string {
  // Written inside a `targets:` map, as in the whole document (yaml quotes some keys only at the top level).
  const doc = new Document({ targets: { [id]: target } });
  const pair = (doc.get('targets', true) as { items?: { value?: unknown }[] } | undefined)?.items?.[0];
  if (isMap(pair?.value)) pair.value.flow = true;
  return doc
    .toString({ lineWidth: 0 })
    .replace(/^targets:\n/, '')
    .replace(/\n$/, '');
}

/**
 * Reads one scalar of the fast grammar at `s[i]`: a plain word, a whole number, a
 * boolean, a double-quoted string with JSON's escapes only, or a single-quoted string.
 * @returns the value and the index after it, or `undefined` (not in the fast grammar).
 */
function readSimpleScalar(s: string, i: number, stop: string): { value: unknown; next: number } | undefined {
  const c = s[i];
  if (c === '"') {
    let j = i + 1;
    for (; j < s.length; j++) {
      const d = s[j]!;
      if (d === '"') break;
      if (d === '\\') {
        if (!'"\\/bfnrt'.includes(s[j + 1] ?? 'x')) return undefined;
        j++;
      }
    }
    if (j >= s.length) return undefined;
    const body = s.slice(i, j + 1);
    if (UNSAFE_CHAR.test(body)) return undefined;
    return { value: JSON.parse(body) as string, next: j + 1 };
  }
  if (c === "'") {
    let j = i + 1;
    for (;;) {
      j = s.indexOf("'", j);
      if (j < 0) return undefined;
      if (s[j + 1] !== "'") break;
      j += 2;
    }
    const body = s.slice(i + 1, j);
    if (UNSAFE_CHAR.test(body)) return undefined;
    return { value: body.replaceAll("''", "'"), next: j + 1 };
  }
  let end = s.indexOf(stop, i);
  if (end < 0) end = s.length;
  const word = s.slice(i, end);
  if (word === 'true' || word === 'false') return { value: word === 'true', next: end };
  if (WHOLE_NUMBER.test(word)) return { value: Number(word), next: end };
  return isPlainWord(word) ? { value: word, next: end } : undefined;
}

/** Characters of a plain word (see `PLAIN_WORD`): where a plain value inside a flow map ends. */
const WORD_CHARS = /[A-Za-z0-9_./+@:-]*/y;

/**
 * Reads `{ k: v, … }` / `{}` at `s[i]`, a value being a simple scalar, (`depth` > 0) one more
 * such map `depth` − 1 levels deep, or (with `seqs`) a list of simple strings `[ a, b ]`.
 * @returns the map and the index after its `}`, or `undefined` (not in the fast grammar).
 */
function readFlowMapAt(
  s: string,
  i: number,
  depth: number,
  seqs = false,
): { value: Record<string, unknown>; next: number } | undefined {
  if (s.startsWith('{}', i)) return { value: {}, next: i + 2 };
  if (!s.startsWith('{ ', i)) return undefined;
  const out: Record<string, unknown> = {};
  let j = i + 2;
  for (;;) {
    const colon = s.indexOf(': ', j);
    if (colon < 0) return undefined;
    const key = s.slice(j, colon);
    if (!isPlainWord(key) || key === '__proto__' || Object.hasOwn(out, key)) return undefined;
    const at = colon + 2;
    let v: { value: unknown; next: number } | undefined;
    if (s[at] === '{') {
      v = depth > 0 ? readFlowMapAt(s, at, depth - 1, seqs) : undefined;
    } else if (s[at] === '[') {
      v = seqs ? readFlowSeqAt(s, at) : undefined;
    } else if (s[at] === '"' || s[at] === "'") {
      v = readSimpleScalar(s, at, ', ');
    } else {
      WORD_CHARS.lastIndex = at;
      const end = at + WORD_CHARS.exec(s)![0].length;
      v = readSimpleScalar(s.slice(0, end), at, ', ');
    }
    if (v === undefined) return undefined;
    out[key] = v.value;
    if (s.startsWith(' }', v.next)) return { value: out, next: v.next + 2 };
    if (!s.startsWith(', ', v.next)) return undefined;
    j = v.next + 2;
  }
}

/** Reads `{ k: v, … }` / `{}` (the whole of `s`, one nested level); `undefined` when it is not in the fast grammar. */
function readFlowMap(s: string): Record<string, unknown> | undefined {
  const r = readFlowMapAt(s, 0, 1);
  return r !== undefined && r.next === s.length ? r.value : undefined;
}

/** Reads `[ a, b ]` / `[]` of simple strings at `s[i]`; the list and the index after its `]`, or `undefined`. */
function readFlowSeqAt(s: string, i: number): { value: unknown[]; next: number } | undefined {
  if (s.startsWith('[]', i)) return { value: [], next: i + 2 };
  if (!s.startsWith('[ ', i)) return undefined;
  const out: unknown[] = [];
  let j = i + 2;
  for (;;) {
    let v: { value: unknown; next: number } | undefined;
    if (s[j] === '"' || s[j] === "'") v = readSimpleScalar(s, j, ', ');
    else {
      WORD_CHARS.lastIndex = j;
      const end = j + WORD_CHARS.exec(s)![0].length;
      v = readSimpleScalar(s.slice(0, end), j, ', ');
    }
    if (v === undefined || typeof v.value !== 'string') return undefined;
    out.push(v.value);
    if (s.startsWith(' ]', v.next)) return { value: out, next: v.next + 2 };
    if (!s.startsWith(', ', v.next)) return undefined;
    j = v.next + 2;
  }
}

/** Reads a past wave's line body `{ id: …, steps: { target: { … } } }` (two nested levels, lists); `undefined` when not in the fast grammar. */
function readHistoryWave(s: string): Record<string, unknown> | undefined {
  const r = readFlowMapAt(s, 0, 2, true);
  return r !== undefined && r.next === s.length ? r.value : undefined;
}

/** Reads `[ a, b ]` / `[]` (the whole of `s`); `undefined` when it is not in the fast grammar. */
function readFlowSeq(s: string): unknown[] | undefined {
  if (s === '[]') return [];
  if (!s.startsWith('[ ') || !s.endsWith(' ]')) return undefined;
  const body = s.slice(2, -2);
  const out: unknown[] = [];
  let i = 0;
  for (;;) {
    const v = readSimpleScalar(body, i, ', ');
    if (v === undefined || typeof v.value !== 'string') return undefined;
    out.push(v.value);
    if (v.next === body.length) return out;
    if (!body.startsWith(', ', v.next)) return undefined;
    i = v.next + 2;
  }
}

/** Reads a target entry line `  id: { … }`; `undefined` when it is not in the fast grammar. */
function readTargetLine(line: string): [string, Record<string, unknown>] | undefined {
  if (!line.startsWith('  ') || line[2] === ' ') return undefined;
  const key = readSimpleScalar(line, 2, ': ');
  if (key === undefined || typeof key.value !== 'string' || key.value === '__proto__') return undefined;
  if (!line.startsWith(': ', key.next)) return undefined;
  const value = readFlowMap(line.slice(key.next + 2));
  return value === undefined ? undefined : [key.value, value];
}

/**
 * Reads the state text without handing its bulk to `yaml`: the `targets:` block
 * (one flow mapping per line) and the waves' `targets: [ … ]` lines are read
 * line-wise and replaced by unique tokens; `yaml` reads the rest (small) and the
 * tokens must come back exactly where the replaced values were.
 * @returns the plain data, or `undefined` when anything is outside the fast grammar
 *   or `yaml` reports a problem: the caller then reads the whole text with `yaml`.
 */
export function readStateLineWise(text: string): unknown {
  if (text.includes('\r')) return undefined;
  const lines = text.split('\n');
  const nonce = randomBytes(6).toString('hex');
  const targetsToken = `fgtok-${nonce}-targets`;
  const waveTokens = new Map<string, unknown[]>();
  const historyTokens = new Map<string, Record<string, unknown>>();
  const stepTokens = new Map<string, Record<string, unknown>>();
  let targets: Record<string, unknown> | undefined;
  let section = '';
  const kept: string[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line !== '' && line[0] !== ' ' && line[0] !== '#') section = line;
    if ((line === 'targets:' || line === 'targets: {}') && targets === undefined) {
      targets = {};
      let m = n + 1;
      for (; m < lines.length && lines[m]!.startsWith(' '); m++) {
        const entry = readTargetLine(lines[m]!);
        if (entry === undefined || Object.hasOwn(targets, entry[0])) return undefined;
        targets[entry[0]] = entry[1];
      }
      if (line === 'targets: {}' && m > n + 1) return undefined;
      kept.push(`targets: ${targetsToken}`);
      n = m - 1;
      continue;
    }
    if (section === 'history:' && line.startsWith('      - {')) {
      // A past wave (`history[].waves[]`): one flow line each, up to 1,000 in a full history.
      const wave = readHistoryWave(line.slice('      - '.length));
      if (wave !== undefined) {
        const token = `fgtok-${nonce}-hw${historyTokens.size}`;
        historyTokens.set(token, wave);
        kept.push(`      - ${token}`);
        continue;
      }
    }
    if (section === 'waves:' && line.startsWith('    steps: {')) {
      // A wave's step timings: one flow map of `{ count, medianMs, maxMs }` per step.
      const steps = readFlowMapAt(line, '    steps: '.length, 1);
      if (steps !== undefined && steps.next === line.length) {
        const token = `fgtok-${nonce}-steps${stepTokens.size}`;
        stepTokens.set(token, steps.value);
        kept.push(`    steps: ${token}`);
        continue;
      }
    }
    if (section === 'waves:' && line.startsWith('    targets: ')) {
      const list = readFlowSeq(line.slice('    targets: '.length));
      if (list !== undefined) {
        const token = `fgtok-${nonce}-wave${waveTokens.size}`;
        waveTokens.set(token, list);
        kept.push(`    targets: ${token}`);
        continue;
      }
    }
    kept.push(line);
  }
  if (targets === undefined && waveTokens.size === 0 && historyTokens.size === 0 && stepTokens.size === 0)
    return undefined;
  const doc = parseDocument(kept.join('\n'));
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 0 });
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const data = raw as Record<string, unknown>;
  if (targets !== undefined) {
    if (data.targets !== targetsToken) return undefined;
    data.targets = targets;
  }
  if (waveTokens.size > 0) {
    if (!Array.isArray(data.waves)) return undefined;
    let found = 0;
    for (const wave of data.waves as unknown[]) {
      const w = wave as Record<string, unknown> | null;
      if (w === null || typeof w !== 'object' || typeof w.targets !== 'string') continue;
      const list = waveTokens.get(w.targets);
      if (list === undefined) continue;
      w.targets = list;
      found++;
    }
    if (found !== waveTokens.size) return undefined;
  }
  if (historyTokens.size > 0 && !restoreHistoryWaves(data, historyTokens)) return undefined;
  if (stepTokens.size > 0 && !restoreWaveSteps(data, stepTokens)) return undefined;
  return data;
}

/**
 * Puts the waves' step timings read line-wise back where their tokens landed (`waves[i].steps`).
 * @returns false when a token is missing or landed elsewhere
 */
function restoreWaveSteps(data: Record<string, unknown>, tokens: Map<string, Record<string, unknown>>): boolean {
  if (!Array.isArray(data.waves)) return false;
  let found = 0;
  for (const wave of data.waves as unknown[]) {
    const w = wave as { steps?: unknown } | null;
    if (w === null || typeof w !== 'object' || typeof w.steps !== 'string') continue;
    const steps = tokens.get(w.steps);
    if (steps === undefined) continue;
    w.steps = steps;
    found++;
  }
  return found === tokens.size;
}

/**
 * Puts the past waves read line-wise back where their tokens landed (`history[i].waves[j]`).
 * @returns false when a token is missing or landed elsewhere (the caller then reads it all with `yaml`)
 */
function restoreHistoryWaves(data: Record<string, unknown>, tokens: Map<string, Record<string, unknown>>): boolean {
  if (!Array.isArray(data.history)) return false;
  let found = 0;
  for (const entry of data.history as unknown[]) {
    const waves = (entry as { waves?: unknown } | null)?.waves;
    if (!Array.isArray(waves)) continue;
    for (let j = 0; j < waves.length; j++) {
      const wave = typeof waves[j] === 'string' ? tokens.get(waves[j] as string) : undefined;
      if (wave === undefined) continue;
      waves[j] = wave;
      found++;
    }
  }
  return found === tokens.size;
}
