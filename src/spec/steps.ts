/**
 * A tier's steps: the spec's top-level `steps` with the tier's own `steps` over them, step
 * by step (a tier that writes `drain` replaces only the drain). Seed 000 rolls node agents,
 * schedulers, API servers and quorum members in one order with a procedure each; a tier that
 * writes nothing uses the top-level steps. Pure: no I/O.
 */
import { ConfigurationError } from '../errors.js';
import type { RolloutSpec, StepsSpec, TierSpec } from './types.js';

/** Every step name a spec or a tier may write, in the order they are listed in docs. */
export const STEP_NAMES = [
  'version',
  'drain',
  'upgrade',
  'verify',
  'undrain',
  'leader',
  'transferLeadership',
  'caughtUp',
  'provision',
  'inService',
  'retire',
  'switch',
  'configRevision',
  'reload',
] as const;
/** Steps every in-place tier must end up with (from its own steps or the top-level ones). */
export const REQUIRED_STEP_NAMES = ['version', 'upgrade', 'verify'] as const;
/** Steps every `replace` tier must end up with: it provisions and retires targets instead of upgrading them. */
export const REPLACE_REQUIRED_STEP_NAMES = ['version', 'verify', 'provision', 'retire'] as const;
/** Steps every `blueGreen` tier must end up with: a replace tier's and the traffic switch. */
export const BLUE_GREEN_REQUIRED_STEP_NAMES = ['version', 'verify', 'provision', 'retire', 'switch'] as const;

/** The steps a tier of strategy `type` must end up with (`inPlace` when absent). */
export function requiredStepNames(type: string | undefined): readonly string[] {
  if (type === 'replace') return REPLACE_REQUIRED_STEP_NAMES;
  if (type === 'blueGreen') return BLUE_GREEN_REQUIRED_STEP_NAMES;
  return REQUIRED_STEP_NAMES;
}

/** Names of the required steps a tier ends up without (empty: complete). */
export function missingSteps(
  spec: Pick<RolloutSpec, 'steps'>,
  tier: Pick<TierSpec, 'steps'> & { strategy?: Pick<TierSpec['strategy'], 'type'> },
): string[] {
  return requiredStepNames(tier.strategy?.type).filter(
    (n) => (tier.steps?.[n as keyof StepsSpec] ?? spec.steps[n as keyof StepsSpec]) === undefined,
  );
}

/**
 * The steps `tier` runs.
 * @throws ConfigurationError when a required step is missing (the validator reports that
 *   before any target is touched, so this means a spec that was not validated)
 */
export function tierSteps(
  spec: Pick<RolloutSpec, 'steps'>,
  tier: Pick<TierSpec, 'name' | 'steps'> & { strategy?: Pick<TierSpec['strategy'], 'type'> },
): StepsSpec {
  const merged = { ...spec.steps, ...definedOnly(tier.steps ?? {}) };
  const missing = missingSteps(spec, tier);
  if (missing.length > 0)
    throw new ConfigurationError(
      `tier ${tier.name} has no ${missing.join(', ')} step (not in its steps nor the spec's)`,
    );
  return merged as StepsSpec;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
