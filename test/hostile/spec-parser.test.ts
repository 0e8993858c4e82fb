/**
 * Hostile and malformed specs: 10,000 generated documents (damaged valid specs,
 * arbitrary YAML values, fields of the wrong type) through `parseSpec`. Every
 * refused document gets errors that name the file, a line and a column
 * (`file:line:col`), say what is wrong, carry no stack trace and are never the
 * "internal error" `parseSpec` reports when it catches its own crash.
 * YAML tricks: alias bombs, duplicate keys, merge keys, tags, huge documents.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseDocument, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatIssue, type Issue } from '../../src/spec/issue.js';
import { parseSpec, type ParseResult } from '../../src/spec/parse.js';
import { fixtureFiles, rolloutSpecFiles } from '../spec/spec-files.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns, mutateText, textMutation, TRICKY_STRINGS } from './arbitraries.js';

const FILE = 'rollouts/fuzz.yaml';
const VALID = [...rolloutSpecFiles(), ...fixtureFiles('valid')].map((f) => readFileSync(f, 'utf8'));

/** Errors a person can act on: located, no stack, not Fleetgate's own crash. */
function expectLocated(issues: Issue[], text: string): void {
  const lines = text.split('\n').length;
  expect(issues.length).toBeGreaterThan(0);
  for (const i of issues) {
    const shown = formatIssue(i);
    expect(shown.startsWith(`${FILE}:`)).toBe(true);
    expect(i.message).not.toMatch(/internal error/);
    expect(i.message.trim().length).toBeGreaterThan(3);
    expect(shown).not.toMatch(/\n\s+at |node_modules|\.ts:\d+:\d+/);
    if (i.line === 0) {
      // Only a document with nothing in it has no line to point at.
      expect(i.message).toMatch(/the file is empty/);
    } else {
      expect(i.line).toBeGreaterThanOrEqual(1);
      expect(i.line).toBeLessThanOrEqual(lines + 1);
      expect(i.col).toBeGreaterThanOrEqual(1);
    }
  }
}

/** Parses and checks: never throws; a refusal is located. */
function check(text: string): ParseResult {
  let result: ParseResult | undefined;
  expect(() => (result = parseSpec(text, FILE))).not.toThrow();
  if (!result!.ok) expectLocated(result!.errors, text);
  return result!;
}

const nasty = fc.constantFrom(
  ...TRICKY_STRINGS.filter((s) => s.length < 12),
  ': ',
  '\n  ',
  '\n- ',
  '{',
  '[',
  '"',
  "'",
  '&a ',
  '*a',
  '*b',
  '<<: *a',
  '!!binary ',
  '!!set ',
  '? ',
  '\t',
  '---\n',
  '%TAG ! x\n',
);

const mutation = textMutation(nasty, 20);

/** Every path to a value in a plain object, e.g. `['tiers', 0, 'strategy', 'canary']`. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...pathsOf(v, [...prefix, i])]);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
  return [];
}

describe('spec parser: malformed documents', () => {
  it(
    'damaged valid specs: never a crash; every refusal located, without a stack (fuzzed)',
    () => {
      expect(VALID.length).toBeGreaterThan(3);
      let refused = 0;
      fc.assert(
        fc.property(
          fc.constantFrom(...VALID),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          (text, mutations) => {
            let damaged = text;
            for (const m of mutations) damaged = mutateText(damaged, m);
            if (!check(damaged).ok) refused++;
          },
        ),
        { numRuns: fuzzRuns(5000) },
      );
      // Most damage is caught (some, like swapping two lines of a map, leaves a valid spec).
      expect(refused).toBeGreaterThan(fuzzRuns(5000) / 2);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'arbitrary YAML values and text: refused with a location, never a crash (fuzzed)',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.jsonValue().map((v) => stringify(v)),
            fc.string({ unit: 'binary', maxLength: 300 }),
            fc.array(fc.constantFrom(...TRICKY_STRINGS), { maxLength: 6 }).map((parts) => parts.join('\n')),
          ),
          (text) => {
            expect(check(text).ok).toBe(false);
          },
        ),
        { numRuns: fuzzRuns(2500) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'a field of the wrong type anywhere: refused, pointing at that field (fuzzed)',
    () => {
      const base = parseDocument(VALID[0]!).toJS() as Record<string, unknown>;
      const paths = pathsOf(base).filter((p) => p[0] !== 'apiVersion');
      const wrong = fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -3, max: 3 }),
        fc.double({ noNaN: false }),
        fc.constantFrom(...TRICKY_STRINGS),
        fc.array(fc.integer(), { maxLength: 2 }),
        fc.dictionary(fc.constantFrom('x', 'run', 'http', 'url'), fc.integer(), { maxKeys: 2 }),
      );
      fc.assert(
        fc.property(fc.constantFrom(...paths), wrong, (path, value) => {
          const doc = parseDocument(VALID[0]!);
          doc.setIn(path, value);
          const text = doc.toString();
          const result = check(text);
          if (result.ok) return; // the value happened to be valid there
          // At least one error points at the changed field or inside it (or at its parent for a missing key).
          const at = path.map((p) => (typeof p === 'number' ? `[${p}]` : p));
          expect(
            result.errors.some((e) =>
              at.slice(0, -1).every((seg) => e.path.includes(String(seg).replace(/^\[|\]$/g, ''))),
            ),
          ).toBe(true);
        }),
        { numRuns: fuzzRuns(2500) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('spec parser: YAML tricks', () => {
  const head = readFileSync(
    rolloutSpecFiles().find((f) => f.endsWith('http-agents.yaml'))!,
    'utf8',
  );

  it('an alias bomb is refused at its first alias, before anything expands', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const text = `${head}\nx-bomb:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    const result = check(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]!.message).toMatch(/aliases expand to too much data|billion laughs/);
  });

  // Found by the fuzzing above (about 1 document in 5,000): refused at 0:0 until src/spec/parse.ts
  // located merge errors (5aca8aa).
  it('a merge key with a value that is not a map is refused at its line', () => {
    const result = parseSpec(`${head}<<: false\n`, FILE);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]!.line).toBe(head.split('\n').length);
  });

  it('a duplicate key is refused with its path and line, even when both values are valid', () => {
    const text = head.replace(/^version: (.*)$/m, 'version: $1\nversion: 9.9.9');
    const result = check(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const dup = result.errors.find((e) => /duplicate key "version"/.test(e.message));
    expect(dup).toBeDefined();
    expect(dup!.line).toBe(text.split('\n').findIndex((l) => l === 'version: 9.9.9') + 1);
  });

  it('tags that would build other types are refused; an unknown tag is plain text with a located warning', () => {
    for (const extra of ['component: !!binary aGVsbG8=', 'component: !!set { a, b }', 'component: !!int 12']) {
      const result = check(head.replace(/^component: .*$/m, extra));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.some((e) => e.path === 'component')).toBe(true);
    }
    const custom = check(head.replace(/^component: .*$/m, 'component: !custom x'));
    expect(custom.ok).toBe(true);
    if (custom.ok) {
      expect(custom.spec.component).toBe('x');
      expect(custom.warnings.map(formatIssue)).toEqual([
        expect.stringMatching(/^rollouts\/fuzz\.yaml:\d+:\d+ warning: YAML: unresolved tag: !custom/),
      ]);
    }
    expect(check(`${head}\n---\n${head}`).ok).toBe(false);
  });

  it('a huge document (5 MB, 50,000 inline targets) is read or refused in one piece, with locations', () => {
    const targets = Array.from(
      { length: 50_000 },
      (_, i) => `    - { id: t-${i}, address: "10.0.${i >> 8}.${i & 255}:8080" }`,
    );
    const huge = head.replace(/^inventory:\n(?: .*\n)+/m, `inventory:\n  targets:\n${targets.join('\n')}\n`);
    expect(huge.length).toBeGreaterThan(2_000_000);
    const ok = check(huge);
    expect(ok.ok).toBe(true);
    const broken = check(huge.replace('    - { id: t-49999, address', '    - { id: [t-49999], address'));
    expect(broken.ok).toBe(false);
    if (broken.ok) return;
    expect(broken.errors[0]!.line).toBe(huge.split('\n').findIndex((l) => l.includes('t-49999')) + 1);
  });
});
