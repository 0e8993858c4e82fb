/**
 * From a field path (`['tiers', 0, 'strategy', 'canary']`) to where it is
 * written in the YAML text (1-based line and column) and what was written
 * there. Follows aliases and `<<` merge keys. Internal to `src/spec`.
 */
import {
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type YAMLMap,
} from 'yaml';

/** One step of a field path: a map key or a list index. */
export type PathSegment = string | number;

/** Longest `got` text shown in an issue, in characters. */
export const MAX_GOT_LENGTH = 60;

/**
 * Renders a field path the way issues show it: `tiers[0].strategy.canary`;
 * keys that are not plain words are quoted: `labels["app.kubernetes.io/name"]`.
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Shortens a text to {@link MAX_GOT_LENGTH} characters, ending in `…` when cut. */
export function truncate(text: string): string {
  return text.length > MAX_GOT_LENGTH ? `${text.slice(0, MAX_GOT_LENGTH - 1)}…` : text;
}

/** The parsed YAML, its line counter and source, for locating paths. */
export interface YamlSource {
  doc: Document;
  lineCounter: LineCounter;
  text: string;
}

/** 1-based position; `{line: 0, col: 0}` when unknown. */
export interface Position {
  line: number;
  col: number;
}

interface Hop {
  /** The node as written at this step (may be an alias). */
  node: Node;
  /** The key node that led to it, when it is a map value. */
  key?: Node;
}

const MAX_ALIAS_DEPTH = 64;

function deref(node: unknown, doc: Document): unknown {
  let current = node;
  for (let i = 0; i < MAX_ALIAS_DEPTH && isAlias(current); i++) {
    try {
      current = current.resolve(doc);
    } catch {
      return undefined;
    }
  }
  return current;
}

/** True for a `<<` merge key (a symbol when `merge: true`, the plain string otherwise). */
export function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const value: unknown = key.value;
  return value === '<<' || (typeof value === 'symbol' && value.description === '<<');
}

/** Text of a map key as the JS value would have it. */
export function keyText(key: unknown): string {
  if (isScalar(key)) return typeof key.value === 'symbol' ? (key.value.description ?? '') : String(key.value);
  if (key === null || key === undefined) return '';
  return typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean'
    ? String(key)
    : describeValue(key);
}

function findInMap(map: YAMLMap, segment: string, doc: Document, depth: number): Hop | undefined {
  for (const pair of map.items) {
    if (!isMergeKey(pair.key) && keyText(pair.key) === segment) {
      return { node: (pair.value ?? pair.key) as Node, key: pair.key as Node };
    }
  }
  if (depth > MAX_ALIAS_DEPTH) return undefined;
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const target = deref(source, doc);
      if (isMap(target)) {
        const hop = findInMap(target, segment, doc, depth + 1);
        if (hop !== undefined) return hop;
      }
    }
  }
  return undefined;
}

/** Follows `path` from the document root as far as the YAML goes. */
function walk(source: YamlSource, path: readonly PathSegment[]): Hop[] {
  const hops: Hop[] = [];
  const root = source.doc.contents;
  if (root === null) return hops;
  hops.push({ node: root });
  let current: unknown = root;
  for (const segment of path) {
    const container = deref(current, source.doc);
    let hop: Hop | undefined;
    if (isMap(container)) hop = findInMap(container, String(segment), source.doc, 0);
    else if (isSeq(container) && typeof segment === 'number') {
      const item: unknown = container.items[segment];
      if (item !== undefined && item !== null) hop = { node: item as Node };
    }
    if (hop === undefined) break;
    hops.push(hop);
    current = hop.node;
  }
  return hops;
}

function positionOf(source: YamlSource, node: Node | undefined): Position {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 0, col: 0 };
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, col };
}

/** Where an issue about `hop` points: a block map or list at its key, anything else at the value. */
function anchorOf(hop: Hop): Node {
  if (hop.key !== undefined && isCollection(hop.node) && hop.node.flow !== true) return hop.key;
  return hop.node;
}

/**
 * Position of the field at `path`.
 *
 * - `value` (default): the value as written; a block map or list points at its key line.
 * - `key`: the key of the field (unknown keys, bad label keys).
 *
 * When the path does not exist (a missing field), points at the deepest parent that does.
 */
export function locate(source: YamlSource, path: readonly PathSegment[], at: 'value' | 'key' = 'value'): Position {
  const hops = walk(source, path);
  const last = hops[hops.length - 1];
  if (last === undefined) return { line: 0, col: 0 };
  const complete = hops.length === path.length + 1;
  if (complete && at === 'key' && last.key !== undefined) return positionOf(source, last.key);
  return positionOf(source, anchorOf(last));
}

/** The YAML node at `path` (aliases resolved), or `undefined` when absent. */
export function nodeAt(source: YamlSource, path: readonly PathSegment[]): Node | undefined {
  const hops = walk(source, path);
  if (hops.length !== path.length + 1) return undefined;
  return deref(hops[hops.length - 1]?.node, source.doc) as Node | undefined;
}

/** The JS value at `path` in parsed data, or `undefined` when absent. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** True when the parent of `path` is a map (or list) that lacks the last key. */
export function isMissing(data: unknown, path: readonly PathSegment[]): boolean {
  if (path.length === 0) return data === undefined;
  const parent = valueAt(data, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return false;
  return !Object.hasOwn(parent, path[path.length - 1]!);
}

/**
 * What was written at `path`, for an issue's `got`: strings JSON-quoted, other
 * scalars as written (`1.0`, `true`, `null`), maps and lists as compact JSON;
 * cut to {@link MAX_GOT_LENGTH} characters. `undefined` when absent.
 */
export function gotAt(source: YamlSource, data: unknown, path: readonly PathSegment[]): string | undefined {
  if (isMissing(data, path)) return undefined;
  const value = valueAt(data, path);
  if (value === undefined) return undefined;
  if (typeof value === 'string') return truncate(JSON.stringify(value));
  const node = nodeAt(source, path);
  if (isScalar(node) && node.range !== undefined && node.range !== null) {
    const written = source.text.slice(node.range[0], node.range[1]).trim();
    if (written !== '' && !written.includes('\n')) return truncate(written);
  }
  return truncate(describeValue(value));
}

/** Compact JSON of a value, tolerant of anything (`undefined`, cycles). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    const json = JSON.stringify(value) as string | undefined;
    if (json !== undefined) return json;
  } catch {
    // cycles, BigInt: fall through
  }
  return Object.prototype.toString.call(value);
}
