/**
 * Version policy (semver): downgrades are refused unless it is a rollback or
 * explicitly allowed; skew and step-through paths (seed 003: downgrade
 * prevention, version skipping via a step-by-step path; seed 000: N/N-1 skew).
 */
import semver from 'semver';
import { VersionPolicyError } from '../errors.js';
import type { VersionPolicySpec } from '../spec/types.js';

export interface VersionCheck {
  /** Version the fleet runs now (last known good, or what most targets report). */
  current: string | undefined;
  desired: string;
  policy: VersionPolicySpec;
  /** True for `fleetgate rollback` and the rollback decision. */
  isRollback: boolean;
}

/**
 * Checks a move from `current` to `desired`.
 * @throws VersionPolicyError with reason `Downgrade`, `VersionSkew` or `StepThroughRequired`, and the fix in the message.
 */
export function assertVersionAllowed(check: VersionCheck): void {
  const { current, desired, policy } = check;
  if (current === undefined || !semver.valid(current) || !semver.valid(desired)) return;
  if (semver.lt(desired, current)) {
    if (check.isRollback || policy.allowDowngrade) return;
    throw new VersionPolicyError(
      'Downgrade',
      `refusing to downgrade ${current} → ${desired}: use \`fleetgate rollback\` to go back, or set versionPolicy.allowDowngrade: true`,
    );
  }
  if (check.isRollback) return;
  const pending = policy.stepThrough.filter((v) => semver.gt(v, current) && semver.lt(v, desired));
  if (pending.length > 0) {
    throw new VersionPolicyError(
      'StepThroughRequired',
      `${current} → ${desired} must step through ${pending.join(', ')} first (versionPolicy.stepThrough): set version to ${pending[0]} and roll that out`,
    );
  }
  if (policy.maxSkew !== undefined) {
    const skew = minorDistance(current, desired);
    if (skew > policy.maxSkew) {
      throw new VersionPolicyError(
        'VersionSkew',
        `${current} → ${desired} moves ${skew === Infinity ? 'a major version' : `${skew} minor versions`}, more than versionPolicy.maxSkew ${policy.maxSkew}: targets would run versions too far apart during the rollout`,
      );
    }
  }
}

/** Minor versions between two versions of the same major; `Infinity` across majors. */
export function minorDistance(a: string, b: string): number {
  const x = semver.parse(a)!;
  const y = semver.parse(b)!;
  if (x.major !== y.major) return Infinity;
  return Math.abs(y.minor - x.minor);
}

/** The version most targets report (ties: the highest), for a fleet with no state yet. */
export function prevailingVersion(versions: Iterable<string>): string | undefined {
  const counts = new Map<string, number>();
  for (const v of versions) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (
      c > bestCount ||
      (c === bestCount && best !== undefined && semver.valid(v) && semver.valid(best) && semver.gt(v, best))
    ) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}
