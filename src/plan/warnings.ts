/**
 * Planning warnings: one code and one message template per case, in one place
 * (tests compare against these templates rather than copying prose).
 * The plan carries the rendered strings in `RolloutPlan.warnings`.
 */

/** Most target ids a warning lists before it says how many more there are. */
export const WARNING_ID_LIMIT = 10;

/** Lists ids, cut after {@link WARNING_ID_LIMIT} with "and N more". */
export function listIds(ids: readonly string[]): string {
  if (ids.length <= WARNING_ID_LIMIT) return ids.join(', ');
  return `${ids.slice(0, WARNING_ID_LIMIT).join(', ')} and ${ids.length - WARNING_ID_LIMIT} more`;
}

/** `1 target matches` / `3 targets match`. */
const targetsMatch = (n: number): string => (n === 1 ? '1 target matches' : `${n} targets match`);
const quote = (s: string): string => JSON.stringify(s);

/** Reason codes of planning warnings (stable; the messages may be reworded). */
export const PlanWarningCodes = {
  TargetInNoTier: 'TargetInNoTier',
  TargetInSeveralTiers: 'TargetInSeveralTiers',
  DuplicateTargetId: 'DuplicateTargetId',
  DuplicateTierName: 'DuplicateTierName',
  EmptyTier: 'EmptyTier',
  SmallQuorum: 'SmallQuorum',
  NoQuorumLeader: 'NoQuorumLeader',
  SeveralQuorumLeaders: 'SeveralQuorumLeaders',
  UnknownExcluded: 'UnknownExcluded',
  UnsettledDrain: 'UnsettledDrain',
  ListedNotInTier: 'ListedNotInTier',
  LeftOutOfListedWaves: 'LeftOutOfListedWaves',
  SpreadUnlabelled: 'SpreadUnlabelled',
} as const;

/** A planning warning code. */
export type PlanWarningCode = keyof typeof PlanWarningCodes;

/** Message templates, one per {@link PlanWarningCode}. Each returns the text stored in `RolloutPlan.warnings`. */
export const PlanWarnings = {
  /** Targets that no tier's selector picks are not upgraded. */
  TargetInNoTier: (ids: readonly string[]): string =>
    `${targetsMatch(ids.length)} no tier and will not be upgraded: ${listIds(ids)}`,
  /** Targets picked by several tiers go to the first one (spec order). */
  TargetInSeveralTiers: (tiers: readonly string[], ids: readonly string[]): string =>
    `${targetsMatch(ids.length)} tiers ${tiers.map(quote).join(', ')}; each is planned only in the first, ${quote(tiers[0] ?? '')}: ${listIds(ids)}`,
  /** The inventory holds the same id more than once; the planner keeps one. */
  DuplicateTargetId: (ids: readonly string[]): string =>
    `target id${ids.length === 1 ? '' : 's'} listed more than once, planned once: ${listIds(ids)}`,
  /** Two tiers share a name, so their wave ids collide. */
  DuplicateTierName: (tier: string): string =>
    `tier name ${quote(tier)} is used more than once; wave ids like ${quote(`${tier}/1`)} are ambiguous`,
  /** A tier whose selector picks nothing (or only targets taken by earlier tiers). */
  EmptyTier: (tier: string): string => `tier ${quote(tier)} selects no targets; it has no waves`,
  /** A quorum of 1 or 2 members cannot lose one and keep a majority. */
  SmallQuorum: (tier: string, n: number): string =>
    `quorum tier ${quote(tier)} has ${n} member${n === 1 ? '' : 's'}: a quorum of 2 or fewer cannot lose a member and keep a majority; members are upgraded one at a time anyway`,
  /** A quorum tier where no member carries the leader label: the leader cannot be kept for last. */
  NoQuorumLeader: (tier: string, label: string): string =>
    `quorum tier ${quote(tier)}: no member has label ${quote(label)} = "true", so the leader cannot be upgraded last; label it or expect leader elections during the rollout`,
  /** Several members carry the leader label; the first (natural order) is treated as the leader. */
  SeveralQuorumLeaders: (tier: string, label: string, ids: readonly string[]): string =>
    `quorum tier ${quote(tier)}: ${ids.length} members have label ${quote(label)} = "true" (${listIds(ids)}); ${quote(ids[0] ?? '')} is treated as the leader, the others as followers`,
  /** `exclude` names targets no tier holds (a typo, or a target gone from the inventory). */
  /** A tier's drain has neither `until` nor `grace`: its upgrades start as soon as the drain returns (docs/load-balancers.md). */
  UnsettledDrain: (tier: string): string =>
    `tier ${quote(tier)}: the drain has neither until nor grace, so each upgrade starts as soon as the drain request returns, before a load balancer has stopped sending requests or the ones in flight have finished`,
  UnknownExcluded: (ids: readonly string[]): string =>
    `exclude names target${ids.length === 1 ? '' : 's'} no tier holds (nothing to leave out): ${listIds(ids)}`,
  /** A listed canary or wave names targets that are not members of the tier: they are left out. */
  ListedNotInTier: (tier: string, ids: readonly string[]): string =>
    `tier ${quote(tier)}: the canary or waves list target${ids.length === 1 ? '' : 's'} that ${ids.length === 1 ? 'is' : 'are'} not ${ids.length === 1 ? 'a member' : 'members'} of the tier, left out: ${listIds(ids)}`,
  /** Listed waves leave members out: they are planned in waves of their own after the listed ones. */
  LeftOutOfListedWaves: (tier: string, ids: readonly string[]): string =>
    `tier ${quote(tier)}: ${ids.length === 1 ? '1 target is' : `${ids.length} targets are`} in no listed wave, planned after the listed ones: ${listIds(ids)}`,
  /** A canary spread by a label: members without the label are never the canary (they go in the waves). */
  SpreadUnlabelled: (tier: string, label: string, ids: readonly string[]): string =>
    `tier ${quote(tier)}: the canary is spread by label ${quote(label)}, which ${ids.length === 1 ? '1 member does' : `${ids.length} members do`} not carry (they go in the waves): ${listIds(ids)}`,
} as const satisfies Record<PlanWarningCode, (...args: never[]) => string>;
