/**
 * Hostile and malformed state files. The state parser reads the bulk of the
 * file line-wise (fast path) and everything else with `yaml`; these properties
 * hold it to the `yaml`-only reference on generated states and on thousands of
 * damaged documents, and require a located, stack-free error for every document
 * it refuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StateReadError } from '../../src/errors.js';
import { serializeState, serializeStateWithYaml } from '../../src/state/format.js';
import { parseState, parseStateWithYaml } from '../../src/state/parse.js';
import { createEmptyState, type RolloutState, type TargetState, type WaveState } from '../../src/state/types.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns, mutateText, stateArbitrary, STATE_FILE, textMutation } from './arbitraries.js';

/** What a refused state file must look like: a StateReadError naming the file, a line and a column, no stack. */
function expectLocatedError(error: unknown): void {
  expect(error).toBeInstanceOf(StateReadError);
  const message = (error as Error).message;
  expect(message).toMatch(new RegExp(`${STATE_FILE.replace('.', '\\.')}:\\d+:\\d+`));
  expect(message).not.toMatch(/\n\s+at /);
  expect(message).not.toMatch(/node_modules|\.ts:\d+/);
  expect(message.length).toBeLessThan(600);
}

/** Parses with both readers; they must agree on the value or both refuse. */
function parseBoth(text: string): RolloutState | undefined {
  let fast: RolloutState | undefined;
  let fastError: unknown;
  try {
    fast = parseState(text, STATE_FILE);
  } catch (error) {
    fastError = error;
  }
  let reference: RolloutState | undefined;
  let referenceError: unknown;
  try {
    reference = parseStateWithYaml(text, STATE_FILE);
  } catch (error) {
    referenceError = error;
  }
  if (referenceError !== undefined) {
    expectLocatedError(referenceError);
    expectLocatedError(fastError);
    return undefined;
  }
  expect(fastError).toBeUndefined();
  expect(fast).toEqual(reference);
  return fast;
}

/** Drops `undefined` fields the way YAML does (and keeps every number, unlike JSON). */
function plain<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => (v === undefined ? null : plain(v))) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v);
  return out as T;
}

function bigState(): RolloutState {
  const s = createEmptyState('big');
  s.phase = 'Progressing';
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) {
    const id = `target-${i}`;
    ids.push(id);
    const t: TargetState = { phase: 'Succeeded', from: '1.0.0', version: '1.1.0', attempts: 1 };
    if (i % 7 === 0)
      Object.assign(t, { phase: 'Failed', step: 'verify', message: `health check failed: 503 "x" #${i}` });
    s.targets[id] = t;
  }
  s.waves = [0, 1, 2].map((w): WaveState => ({
    id: `all/${w}`,
    phase: 'Completed',
    targets: ids.slice(w * 100, w * 100 + 100),
  }));
  return s;
}

describe('state file: line-wise reader and writer agree with yaml', () => {
  it(
    'writes byte for byte what yaml writes and reads back what was written',
    () => {
      fc.assert(
        fc.property(stateArbitrary, (state) => {
          const text = serializeState(state);
          expect(text).toBe(serializeStateWithYaml(state));
          const back = parseBoth(text);
          expect(back).toEqual(plain(state));
        }),
        { numRuns: fuzzRuns(1500) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'writes what yaml writes when the same state object is changed in place between writes (the write caches)',
    () => {
      const edit = fc.record({
        target: fc.nat(),
        field: fc.constantFrom('phase', 'step', 'version', 'message', 'attempts', 'skipped'),
        value: fc.oneof(
          fc.constantFrom('Progressing', 'Succeeded', 'drain', '1.2.3', 'a: b', 'x\ny', '', 'null', '007'),
          fc.integer(),
          fc.boolean(),
          fc.constant(undefined),
        ),
        wavePhase: fc.option(fc.constantFrom('Progressing', 'Observing', 'Completed'), { nil: undefined }),
        revision: fc.nat(),
      });
      fc.assert(
        fc.property(stateArbitrary, fc.array(edit, { minLength: 1, maxLength: 8 }), (state, edits) => {
          serializeState(state);
          const ids = Object.keys(state.targets);
          for (const e of edits) {
            if (ids.length > 0) {
              const t = state.targets[ids[e.target % ids.length]!] as unknown as Record<string, unknown>;
              t[e.field] = e.value;
            }
            if (e.wavePhase && state.waves[0]) state.waves[0].phase = e.wavePhase;
            state.revision = e.revision;
            state.updatedAt = new Date(1_700_000_000_000 + e.revision).toISOString();
            expect(serializeState(state)).toBe(serializeStateWithYaml(state));
          }
        }),
        { numRuns: fuzzRuns(500) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('reads hand-reformatted but valid state the same as yaml (CRLF, comments, quoting, flow layout)', () => {
    const text = serializeState(bigState());
    const variants = [
      text.replace(/\n/g, '\r\n'),
      text.replace('targets:\n  target-0:', 'targets:\n  # a comment\n  target-0:'),
      text.replace('target-5: {', '"target-5": {'),
      text.replace('  target-3: { phase: Succeeded', "  'target-3': { phase: 'Succeeded'"),
      text.replace(/targets: \[ target-0, /, 'targets: [target-0, '),
      text.replace('target-1: { phase: Succeeded', 'target-1: {phase: Succeeded'),
      `${text}\n`,
    ];
    for (const v of variants) {
      expect(v).not.toBe(text);
      expect(parseBoth(v)).toEqual(plain(bigState()));
    }
  });
});

/** Characters that matter to YAML and to the line-wise reader. */
const nasty = fc.constantFrom(
  ' ',
  '  ',
  '\t',
  '\n',
  '\r',
  ':',
  ': ',
  ',',
  ', ',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '\\',
  '#',
  '&a ',
  '*a',
  '!!str ',
  '|',
  '>',
  '-',
  '- ',
  '?',
  '%',
  '@',
  '`',
  '~',
  'null',
  'true',
  '1e9',
  '0x1f',
  '.inf',
  '__proto__',
  '\u0000',
  '\ufeff',
  'é',
  '😀',
  '\u2028',
  '---',
  '...',
  'targets:',
  'waves:',
  '    targets: [ x ]',
  'revision: 9',
);

const mutation = textMutation(nasty, 12);

describe('state file: malformed documents', () => {
  it(
    'damaged state files: the same answer as yaml, or a located error without a stack (fuzzed)',
    () => {
      fc.assert(
        fc.property(stateArbitrary, fc.array(mutation, { minLength: 1, maxLength: 4 }), (state, mutations) => {
          let text = serializeState(state);
          for (const m of mutations) text = mutateText(text, m);
          parseBoth(text);
        }),
        { numRuns: fuzzRuns(4000) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'documents of the wrong shape are refused with the field, the line and the column (fuzzed)',
    () => {
      const wrong = fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -5, max: 5 }),
        fc.string({ maxLength: 8 }),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
      );
      const paths: (string | number)[][] = [
        ['name'],
        ['revision'],
        ['phase'],
        ['waves'],
        ['waves', 0],
        ['waves', 0, 'targets'],
        ['waves', 0, 'phase'],
        ['waves', 0, 'targets', 1],
        ['targets'],
        ['targets', 't-1'],
        ['targets', 't-1', 'phase'],
        ['targets', 't-2', 'attempts'],
        ['targets', 't-2', 'skipped'],
        ['breaker'],
        ['breaker', 'consecutiveFailures'],
        ['breaker', 'trips'],
        ['decisions'],
        ['approvals'],
        ['history'],
        ['history', 0, 'rollback'],
        ['history', 0, 'waves'],
        ['history', 0, 'waves', 0],
        ['history', 0, 'waves', 0, 'size'],
        ['history', 0, 'waves', 0, 'durationMs'],
        ['history', 0, 'waves', 0, 'paused'],
        ['history', 0, 'waves', 0, 'steps'],
        ['history', 0, 'waves', 0, 'steps', 'target', 'medianMs'],
        ['waves', 0, 'steps'],
        ['waves', 0, 'steps', 'upgrade'],
        ['condition'],
        ['toVersion'],
        ['currentWave'],
      ];
      fc.assert(
        fc.property(fc.constantFrom(...paths), wrong, (path, value) => {
          const s = plain({
            ...createEmptyState('svc'),
            waves: [
              {
                id: 'w/1',
                phase: 'Completed',
                targets: ['t-1', 't-2'],
                steps: { upgrade: { count: 2, medianMs: 200, maxMs: 250 } },
              },
            ],
            targets: { 't-1': { phase: 'Succeeded' }, 't-2': { phase: 'Failed', attempts: 2, skipped: false } },
            history: [
              {
                to: '1.1.0',
                phase: 'Healthy',
                rollback: false,
                waves: [
                  {
                    id: 'w/1',
                    size: 2,
                    phase: 'Completed',
                    durationMs: 900,
                    paused: ['GatePending'],
                    steps: { target: { count: 2, medianMs: 300, maxMs: 310 } },
                  },
                ],
              },
            ],
          }) as unknown as Record<string, unknown>;
          let parent: Record<string | number, unknown> = s;
          for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
          parent[path.at(-1)!] = value;
          const text = serializeStateWithYaml(s as unknown as RolloutState);
          let result: RolloutState | undefined;
          try {
            result = parseState(text, STATE_FILE);
          } catch (error) {
            expectLocatedError(error);
            return;
          }
          // Accepted only when the value is valid there (or an optional field was emptied).
          expect(result).toEqual(parseStateWithYaml(text, STATE_FILE));
        }),
        { numRuns: fuzzRuns(3000) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'arbitrary text is refused with a location, never a crash (fuzzed)',
    () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
          parseBoth(text);
        }),
        { numRuns: fuzzRuns(3000) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('refuses aliases, alias bombs, duplicate keys and deep nesting with a location', () => {
    const head = 'apiVersion: fleetgate/v1alpha1\nkind: RolloutState\nname: x\nrevision: 1\nphase: Pending\n';
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    const cases: Array<[string, RegExp]> = [
      [`${head}${bomb}\n`, /state\.yaml:\d+:\d+: state file is not valid.*aliases/],
      [`${head}targets:\n  a: &x { phase: Pending }\n  b: *x\n`, /state\.yaml:8:6: state file is not valid/],
      [`${head}revision: 2\n`, /state\.yaml:6:1: state file is not valid YAML: .*[Uu]nique/],
      [`${head}targets:\n  a: { phase: Pending }\n  a: { phase: Failed }\n`, /state\.yaml:8:3: .*[Uu]nique/],
      [`${head}x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /state\.yaml:\d+:\d+: /],
      [`${head}targets:\n  t: { phase: Sideways }\n`, /state\.yaml:7:15: targets\.t\.phase: must be one of Pending/],
      ['', /state\.yaml:1:1: state file is empty or not a mapping/],
      ['- a\n- b\n', /state\.yaml:1:1: state file is empty or not a mapping/],
      ['apiVersion: v9\nkind: Other\n', /state\.yaml: unknown state format .* at \S*state\.yaml:1:13/],
    ];
    for (const [text, pattern] of cases) {
      let error: unknown;
      try {
        parseState(text, STATE_FILE);
      } catch (e) {
        error = e;
      }
      expectLocatedError(error);
      expect((error as Error).message).toMatch(pattern);
    }
  });

  it('reads a big state (10,000 targets)  and refuses one damaged line in it with its line number', () => {
    const s = createEmptyState('huge');
    for (let i = 0; i < 10_000; i++) s.targets[`t-${i}`] = { phase: 'Succeeded', from: '1.0.0', version: '1.1.0' };
    const text = serializeState(s);
    expect(Object.keys(parseState(text, STATE_FILE).targets)).toHaveLength(10_000);
    const lines = text.split('\n');
    const n = lines.findIndex((l) => l.startsWith('  t-2345:'));
    lines[n] = lines[n]!.replace('Succeeded', 'Succeded');
    expect(() => parseState(lines.join('\n'), STATE_FILE)).toThrow(
      new RegExp(`state\\.yaml:${n + 1}:\\d+: targets\\.t-2345\\.phase: must be one of`),
    );
  });
});
