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

/** What one target reported to its `version` step (`version` absent: it did not answer). */
export interface ReportedVersion {
  id: string;
  /** Tier the target is in (for the mixed-versions rule). */
  tier: string;
  version?: string;
  /** The step's message (why it did not answer). */
  message?: string;
}

/** Why a fleet may not move to the desired version, with the targets concerned. */
export interface FleetVersionProblem {
  reason: 'Unreachable' | 'UnknownVersion' | 'Downgrade' | 'VersionSkew' | 'StepThroughRequired' | 'MixedVersions';
  /** Target ids concerned. */
  targets: string[];
  /** What is wrong and how to go on. */
  message: string;
}

const EXCLUDE_HINT = 'repair it, or leave it out explicitly (spec `exclude: [id]`, or `--exclude id`)';

/**
 * Judges a move to `desired` per target, on what each target reports (observe, then
 * act), never on the state's record:
 *
 * - a target that did not answer, or reports something that is not a semver version
 *   (`ERROR`, `MISSING`, empty), blocks the move: nodes in ERROR/MISSING states count
 *   in version checks, only deleted ones do not (seed 002);
 * - downgrade, step-through and skew (`assertVersionAllowed`) are checked from each
 *   target's own version; a target already on `desired` is fine;
 * - a tier whose members report more than two distinct versions is refused unless
 *   `policy.allowMixedVersions` (mixed operation is N and N-1: seed 000).
 *
 * @returns every problem found (empty: the move is allowed); problems of one reason are grouped
 */
export function assessReportedVersions(input: {
  reported: readonly ReportedVersion[];
  desired: string;
  policy: VersionPolicySpec;
  isRollback: boolean;
}): FleetVersionProblem[] {
  const byReason = new Map<FleetVersionProblem['reason'], { targets: string[]; messages: string[] }>();
  const add = (reason: FleetVersionProblem['reason'], id: string, message: string) => {
    const entry = byReason.get(reason) ?? { targets: [], messages: [] };
    entry.targets.push(id);
    entry.messages.push(message);
    byReason.set(reason, entry);
  };
  const versionsByTier = new Map<string, Set<string>>();
  for (const r of input.reported) {
    if (r.version === undefined) {
      add('Unreachable', r.id, `${r.id} (${r.message ?? 'no answer'})`);
      continue;
    }
    if (!semver.valid(r.version)) {
      add(
        'UnknownVersion',
        r.id,
        `${r.id} reports ${JSON.stringify(r.version)}, which is not a version: ${EXCLUDE_HINT}`,
      );
      continue;
    }
    const seen = versionsByTier.get(r.tier) ?? new Set<string>();
    seen.add(r.version);
    versionsByTier.set(r.tier, seen);
    if (r.version === input.desired) continue;
    try {
      assertVersionAllowed({
        current: r.version,
        desired: input.desired,
        policy: input.policy,
        isRollback: input.isRollback,
      });
    } catch (error) {
      if (!(error instanceof VersionPolicyError)) throw error;
      add(error.reason as FleetVersionProblem['reason'], r.id, `${r.id} (reports ${r.version}): ${error.message}`);
    }
  }
  if (!input.policy.allowMixedVersions && !input.isRollback) {
    for (const [tier, versions] of versionsByTier) {
      if (versions.size <= 2) continue;
      const ids = input.reported.filter((r) => r.tier === tier).map((r) => r.id);
      byReason.set('MixedVersions', {
        targets: ids,
        messages: [
          `tier ${tier} runs ${versions.size} versions (${[...versions].sort(semver.compare).join(', ')}): mixed operation is N and N-1; bring the tier to at most two versions first, or set versionPolicy.allowMixedVersions: true`,
        ],
      });
    }
  }
  const list = (messages: string[], limit: number) =>
    messages.length <= limit
      ? messages.join('; ')
      : `${messages.slice(0, limit).join('; ')}; and ${messages.length - limit} more`;
  return [...byReason].map(([reason, e]) => ({
    reason,
    targets: e.targets,
    message:
      reason === 'Unreachable'
        ? `${e.targets.length} target(s) did not answer the version step, nothing was touched: ${list(e.messages, 10)} (${EXCLUDE_HINT.replace('repair it', 'repair them')})`
        : list(e.messages, 5),
  }));
}

/**
 * Every version a rollout may be rolled back to: versions the fleet ran, as the state
 * records them — the last known good, each past rollout's starting version and every
 * version a rollout completed on, and (while a rollout is under way) each target's
 * version before it — without the versions that were rolled back, unless a rollout
 * later completed on them. Newest first.
 */
export function knownVersions(state: {
  phase: string;
  isRollback?: boolean;
  rolledBackFrom?: string;
  lastKnownGood?: string;
  fromVersion?: string;
  history: readonly { from?: string; to: string; phase: string; rolledBack?: string }[];
  targets: Record<string, { from?: string }>;
}): string[] {
  const ran = new Set<string>();
  const good = new Set<string>();
  const bad = new Set<string>();
  const valid = (v: string | undefined): v is string => v !== undefined && semver.valid(v) !== null;
  if (valid(state.lastKnownGood)) good.add(state.lastKnownGood);
  if (valid(state.fromVersion)) ran.add(state.fromVersion);
  if (valid(state.rolledBackFrom)) bad.add(state.rolledBackFrom);
  for (const h of state.history) {
    if (valid(h.from)) ran.add(h.from);
    if (valid(h.rolledBack)) bad.add(h.rolledBack);
    if (h.phase === 'Healthy' && valid(h.to)) good.add(h.to);
    if (h.phase === 'RolledBack' && valid(h.to) && h.rolledBack !== undefined && h.to !== h.rolledBack) good.add(h.to);
  }
  const underWay = ['Progressing', 'Paused', 'Degraded', 'RollingBack'].includes(state.phase) && !state.isRollback;
  if (underWay) for (const t of Object.values(state.targets)) if (valid(t.from)) ran.add(t.from);
  const out = new Set([...good, ...[...ran].filter((v) => !bad.has(v))]);
  return [...out].sort(semver.rcompare);
}
