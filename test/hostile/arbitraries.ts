/**
 * fast-check arbitraries shared by the hostile-input tests: strings that matter
 * to YAML, shells and URLs, and whole rollout states built from them.
 */
import fc from 'fast-check';
import type { HistoryEntry, RolloutState, StepTiming, TargetState, WaveState } from '../../src/state/types.js';

export const STATE_FILE = 'rollouts/svc.state.yaml';

/**
 * Runs of a fuzzing property: `base` × `FLEETGATE_FUZZ_SCALE` (default 1; the
 * defaults add up to 10,000 malformed documents per parser).
 */
export function fuzzRuns(base: number): number {
  const scale = Number(process.env.FLEETGATE_FUZZ_SCALE ?? '1');
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** Time allowed to a fuzzing test (ms), scaled like its runs. */
export const FUZZ_TIMEOUT_MS = fuzzRuns(120_000);

/** Strings that YAML, a shell, a URL or a template might read as more than data. */
export const TRICKY_STRINGS = [
  '',
  ' ',
  'true',
  'False',
  'null',
  '~',
  '1',
  '007',
  '0x1F',
  '1e9',
  '.inf',
  '-',
  '- x',
  '? x',
  'a: b',
  'a:',
  'a,b',
  '[x]',
  '{x}',
  '#x',
  'x #y',
  ' lead',
  'trail ',
  "it's",
  'say "hi"',
  'back\\slash',
  'tab\there',
  'new\nline',
  'cr\rhere',
  'nul\u0000byte',
  'bell\u0007',
  'del\u007f',
  'c1\u0085',
  'bom\ufeff',
  'ls\u2028',
  'é',
  '😀',
  '&anchor',
  '*alias',
  '!!str',
  '!tag x',
  '|',
  '>',
  '%YAML',
  '@at',
  '`tick`',
  '---',
  '...',
  '$(touch /tmp/pwned)',
  '`id`',
  '; rm -rf /',
  '| cat /etc/passwd',
  '${{ secrets.TOKEN }}',
  '{{version}}',
  '../../etc/passwd',
  '%2e%2e%2f',
  '__proto__',
  'constructor',
  'fgtok-0123456789ab-targets',
];

/** Plain words the state writer emits most of the time. */
const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}(?:[./:][a-z0-9]{1,4}){0,2}$/);

/** Any string worth putting in a state file: plain words, versions, times, tricky and random text. */
export const anyText = fc.oneof(
  { weight: 4, arbitrary: word },
  { weight: 2, arbitrary: fc.constantFrom('1.0.0', '1.1.0-rc.1', '2026-11-23T12:00:00.000Z', 'all/canary') },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
);

const targetId = fc
  .oneof({ weight: 5, arbitrary: word }, { weight: 1, arbitrary: anyText })
  .filter((id) => id !== '__proto__');

/** Configuration revisions (docs/config-rollouts.md): 12 hex characters, some of which YAML reads as numbers. */
const revision = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[0-9a-f]{12}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('123456789012', '000000000000', '1e1234567890', '0e0000000000', 'deadbeef0001'),
  },
  { weight: 1, arbitrary: anyText },
);

const targetState: fc.Arbitrary<TargetState> = fc
  .record(
    {
      phase: fc.constantFrom('Pending', 'Progressing', 'Succeeded', 'Failed', 'RolledBack', 'RollbackFailed'),
      step: fc.constantFrom('version', 'drain', 'upgrade', 'verify', 'undrain', 'observe', 'rollback'),
      from: anyText,
      version: anyText,
      skipped: fc.boolean(),
      attempts: fc.oneof(fc.nat({ max: 5 }), fc.maxSafeNat()),
      startedAt: anyText,
      finishedAt: anyText,
      message: anyText,
      address: anyText,
      labels: fc.dictionary(targetId, anyText, { maxKeys: 4 }),
      config: revision,
      configFrom: revision,
      configTo: revision,
      extra: fc.oneof(fc.record({ value: fc.double(), list: fc.array(fc.nat(), { maxLength: 2 }) }), fc.constant(null)),
    },
    { requiredKeys: ['phase'] },
  )
  .map((t) => t as TargetState);

/** A step's timing (whole milliseconds). */
const stepTiming: fc.Arbitrary<StepTiming> = fc.record({
  count: fc.nat({ max: 10_000 }),
  medianMs: fc.nat(),
  maxMs: fc.oneof(fc.nat(), fc.maxSafeNat()),
});

/** Per-step timings of a wave, keyed by step names (and tricky strings). */
const stepTimings = fc.dictionary(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('target', 'drain', 'upgrade', 'verify', 'undrain', 'caughtUp') },
    { weight: 1, arbitrary: anyText.filter((k) => k !== '__proto__') },
  ),
  stepTiming,
  { minKeys: 1, maxKeys: 4 },
);

const wavePhase = fc.constantFrom('Pending', 'Progressing', 'Observing', 'Completed', 'Failed', 'RolledBack');
const decision = fc.constantFrom('continue', 'rollback', 'abort');

/** A past rollout with the learning fields of issue 13 (waves, durations, pauses, step timings). */
const historyEntry: fc.Arbitrary<HistoryEntry> = fc
  .record(
    {
      from: anyText,
      to: anyText,
      phase: fc.constantFrom('Healthy', 'Degraded', 'RolledBack', 'Paused'),
      startedAt: anyText,
      finishedAt: anyText,
      reason: anyText,
      rollback: fc.boolean(),
      waveCount: fc.nat({ max: 500 }),
      approvals: fc.array(fc.record({ at: anyText, gate: anyText, by: anyText }), { maxLength: 2 }),
      decisions: fc.array(fc.record({ at: anyText, decision, by: anyText, wave: anyText }), { maxLength: 2 }),
      waves: fc.array(
        fc.record(
          {
            id: anyText,
            size: fc.nat({ max: 10_000 }),
            phase: wavePhase,
            durationMs: fc.nat(),
            failed: fc.nat({ max: 10 }),
            paused: fc.array(anyText, { minLength: 1, maxLength: 2 }),
            decision,
            verdict: fc.constantFrom('pass', 'fail', 'inconclusive'),
            steps: stepTimings,
          },
          { requiredKeys: ['id', 'size', 'phase'] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: ['to', 'phase'] },
  )
  .map((h) => h as HistoryEntry);

/** Valid rollout states (shape-wise) full of strings that matter to YAML. */
export const stateArbitrary: fc.Arbitrary<RolloutState> = fc
  .record({
    name: word,
    revision: fc.nat(),
    phase: fc.constantFrom('Pending', 'Progressing', 'Paused', 'Healthy', 'Degraded', 'RollingBack', 'RolledBack'),
    toVersion: fc.option(anyText, { nil: undefined }),
    toConfig: fc.option(revision, { nil: undefined }),
    configs: fc.option(
      fc.dictionary(
        revision.filter((r) => r !== '__proto__'),
        fc.record({
          content: fc.oneof(anyText, fc.constant('{\n  "telemetry": "prod"\n}\n'), fc.constant('a: 1\n# c\nb: [x]\n')),
          format: fc.constantFrom('json' as const, 'yaml' as const, 'text' as const),
          source: fc.constantFrom('values', 'file:edge.config.yaml'),
        }),
        { maxKeys: 3 },
      ),
      { nil: undefined },
    ),
    currentWave: fc.option(anyText, { nil: undefined }),
    condition: fc.option(fc.record({ reason: word, message: anyText, at: anyText }), { nil: undefined }),
    targets: fc.dictionary(targetId, targetState, { maxKeys: 8 }),
    waveCount: fc.nat({ max: 3 }),
    waveIds: fc.array(fc.oneof(word, anyText), { maxLength: 4 }),
    waveSteps: fc.option(stepTimings, { nil: undefined }),
    wavePaused: fc.option(fc.array(anyText, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    history: fc.array(historyEntry, { maxLength: 3 }),
  })
  .map(({ targets, waveCount, waveIds, waveSteps, wavePaused, history, ...rest }) => {
    const ids = Object.keys(targets);
    const waves: WaveState[] = Array.from({ length: waveCount }, (_, i) => ({
      id: `w/${i}`,
      phase: 'Completed' as const,
      targets: i === 0 ? waveIds : ids.filter((_, k) => k % waveCount === i),
      succeeded: i,
      ...(i === 0 && waveSteps && { steps: waveSteps }),
      ...(i === 0 && wavePaused && { paused: wavePaused }),
    }));
    const state: RolloutState = {
      apiVersion: 'fleetgate/v1alpha1',
      kind: 'RolloutState',
      ...rest,
      waves,
      targets,
      breaker: { consecutiveFailures: 0, trips: [] },
      decisions: [],
      approvals: [],
      history,
    };
    for (const key of Object.keys(state) as (keyof RolloutState)[]) if (state[key] === undefined) delete state[key];
    return state;
  });

/**
 * One edit that damages a text document: insert a `nasty` fragment, delete up to
 * `maxDelete` characters, duplicate, drop, re-indent or swap lines, or truncate.
 * Positions are taken modulo the document's size, so any edit applies to any text.
 */
export function textMutation(nasty: fc.Arbitrary<string>, maxDelete: number) {
  return fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: nasty }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: maxDelete }) }),
    fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('drop-line' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -2, max: 3 }) }),
    fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), with: fc.nat() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
}

export type TextMutation = ReturnType<typeof textMutation> extends fc.Arbitrary<infer M> ? M : never;

/** Applies one {@link textMutation} to `text`. */
export function mutateText(text: string, m: TextMutation): string {
  const lines = text.split('\n');
  const line = (at: number) => at % lines.length;
  switch (m.kind) {
    case 'insert': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case 'delete': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + m.length);
    }
    case 'duplicate-line':
      lines.splice(line(m.at), 0, lines[line(m.at)]!);
      return lines.join('\n');
    case 'drop-line':
      lines.splice(line(m.at), 1);
      return lines.join('\n');
    case 'indent': {
      const n = line(m.at);
      lines[n] = m.by >= 0 ? ' '.repeat(m.by) + lines[n]! : lines[n]!.slice(-m.by);
      return lines.join('\n');
    }
    case 'swap-lines': {
      const a = line(m.at);
      const b = line(m.with);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join('\n');
    }
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
  }
}
