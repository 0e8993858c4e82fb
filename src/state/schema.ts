/**
 * The state file's schema (zod), as the spec and inventories have theirs (issue 14, part 1):
 * every field the engine reads, with the words a problem is reported in. Problems become
 * `file:line:col path: message` through the same `problemsFromZod` as the spec's.
 *
 * Readers are lenient where writers may differ: a field a newer writer added is kept (every
 * object is loose), and an optional field written as `null` counts as absent (it is removed
 * before the state is used).
 */
import { z } from 'zod';
import { e } from '../spec/explain.js';

const ROLLOUT_PHASES = [
  'Pending',
  'Progressing',
  'Paused',
  'Healthy',
  'Degraded',
  'RollingBack',
  'RolledBack',
] as const;
const WAVE_PHASES = ['Pending', 'Progressing', 'Observing', 'Completed', 'Failed', 'RolledBack'] as const;
const TARGET_PHASES = ['Pending', 'Progressing', 'Succeeded', 'Failed', 'RolledBack', 'RollbackFailed'] as const;
const DECISIONS = ['continue', 'rollback', 'abort'] as const;

const text = z.string(e('must be a string'));
const wholeNumber = z
  .number(e('must be a whole number', 'a whole number ≥ 0'))
  .int(e('must be a whole number', 'a whole number ≥ 0'))
  .nonnegative(e('must be a whole number', 'a whole number ≥ 0'))
  .max(Number.MAX_SAFE_INTEGER, e('must be a whole number', 'a whole number ≥ 0'));
const flag = z.boolean(e('must be true or false'));
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, e(`must be one of ${values.join(', ')}`));
const listOf = <T extends z.ZodType>(item: T) => z.array(item, e('must be a list'));
const mapOf = <T extends z.ZodType>(item: T) => z.record(z.string(), item, e('must be a mapping'));

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A mapping with these fields; any other is kept (a newer writer's). An optional field written
 * as `null` is removed from the value read, in place, so the state never holds it.
 */
function fields<R extends z.core.$ZodLooseShape, O extends z.core.$ZodLooseShape>(required: R, optional: O) {
  const optionalKeys = Object.keys(optional);
  const shape = {
    ...required,
    ...Object.fromEntries(Object.entries(optional).map(([k, s]) => [k, (s as z.ZodType).optional()])),
  } as R & { [K in keyof O]: z.ZodOptional<O[K] & z.ZodType> };
  return z.preprocess(
    (value) => {
      if (isRecord(value)) for (const key of optionalKeys) if (value[key] === null) delete value[key];
      return value;
    },
    z.looseObject(shape, e('must be a mapping')),
  );
}

const StepTiming = fields({ count: wholeNumber, medianMs: wholeNumber, maxMs: wholeNumber }, {});
const Hook = fields(
  { phase: oneOf(['Running', 'Succeeded', 'Failed']) },
  { startedAt: text, finishedAt: text, message: text },
);
const Lease = fields({ holder: text, key: text, acquiredAt: text, expiresAt: text }, { host: text, pid: wholeNumber });
const Decision = fields({ decision: oneOf(DECISIONS), by: text }, { at: text, reason: text, wave: text });
const Approval = fields({ gate: text, by: text }, { at: text });

const Target = fields(
  { phase: oneOf(TARGET_PHASES) },
  {
    step: text,
    from: text,
    version: text,
    to: text,
    versionUnknown: text,
    skipped: flag,
    attempts: wholeNumber,
    startedAt: text,
    finishedAt: text,
    message: text,
    address: text,
    labels: mapOf(text),
    config: text,
    configFrom: text,
    configTo: text,
    replace: fields({ mode: oneOf(['surge', 'drainFirst', 'pool']), old: text }, { new: text }),
    replacedBy: text,
    retired: flag,
    replaces: text,
  },
);

/** One wave of a past rollout (`history[].waves[]`; absent in state written before issue 13). */
const WaveHistory = fields(
  { id: text, size: wholeNumber, phase: oneOf(WAVE_PHASES) },
  {
    durationMs: wholeNumber,
    failed: wholeNumber,
    paused: listOf(text),
    decision: oneOf(DECISIONS),
    verdict: oneOf(['pass', 'fail', 'inconclusive']),
    steps: mapOf(StepTiming),
  },
);

/** The state file: what `parseState` checks before the engine reads it. */
export const StateSchema = fields(
  { name: text, revision: wholeNumber, phase: oneOf(ROLLOUT_PHASES) },
  {
    condition: fields({ reason: text, message: text }, { at: text }),
    fromVersion: text,
    toVersion: text,
    isRollback: flag,
    rolledBackFrom: text,
    lastKnownGood: text,
    fromConfig: text,
    toConfig: text,
    lastKnownGoodConfig: text,
    rolledBackFromConfig: text,
    configs: mapOf(fields({ content: text, format: oneOf(['json', 'yaml', 'text']) }, { source: text })),
    startedAt: text,
    updatedAt: text,
    currentWave: text,
    waves: listOf(
      fields(
        { id: text, phase: oneOf(WAVE_PHASES), targets: listOf(text) },
        {
          startedAt: text,
          finishedAt: text,
          observeUntil: text,
          observedUntil: text,
          decidedAt: text,
          reopened: wholeNumber,
          succeeded: wholeNumber,
          failed: wholeNumber,
          message: text,
          shards: wholeNumber,
          steps: mapOf(StepTiming),
          paused: listOf(text),
        },
      ),
    ),
    targets: mapOf(Target),
    breaker: fields(
      { consecutiveFailures: wholeNumber },
      { trips: listOf(fields({ wave: text, failedTargets: listOf(text), reason: text }, { at: text })) },
    ),
    decisions: listOf(Decision),
    approvals: listOf(Approval),
    hooks: fields({}, { before: Hook, after: Hook, tiers: mapOf(fields({}, { before: Hook, after: Hook })) }),
    excluded: listOf(text),
    lease: Lease,
    shardLegs: mapOf(
      fields(
        {
          wave: text,
          shard: wholeNumber,
          of: wholeNumber,
          holder: text,
          startedAt: text,
          budget: wholeNumber,
          targets: wholeNumber,
        },
        {
          lease: Lease,
          finishedAt: text,
          succeeded: wholeNumber,
          failed: wholeNumber,
          breakerTripped: fields({ reason: text, failedTargets: listOf(text) }, { at: text }),
          budgetExhausted: text,
        },
      ),
    ),
    replacements: mapOf(fields({ by: text, address: text }, { labels: mapOf(text), at: text })),
    pools: mapOf(
      fields(
        { version: text, old: listOf(text), new: listOf(text) },
        { switchedAt: text, keepUntil: text, retiredAt: text, switchedBackAt: text },
      ),
    ),
    history: listOf(
      fields(
        { to: text, phase: oneOf(ROLLOUT_PHASES) },
        {
          from: text,
          rolledBack: text,
          startedAt: text,
          finishedAt: text,
          reason: text,
          approvals: listOf(Approval),
          decisions: listOf(Decision),
          fromConfig: text,
          toConfig: text,
          rollback: flag,
          waves: listOf(WaveHistory),
          waveCount: wholeNumber,
        },
      ),
    ),
  },
);
