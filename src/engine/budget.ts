/**
 * Disruption budgets, judged on what was observed (observe, then act). Pure.
 *
 * A tier's budget is the most members that may be out of service at once:
 * `maxUnavailable`, or n − `minAvailable` (like a Kubernetes
 * PodDisruptionBudget), and for a quorum tier never more than floor((n-1)/2)
 * (quorum procedure: seed 000, docs/planning.md). Every member counts that is
 * out for any reason: taken down by this run and not back yet, failed and left
 * drained, or observed unhealthy or unreachable by the health probe that runs
 * just before the take-down — also members that were down before the rollout.
 */

/** Why a member of a tier is out of service. */
export type OutOfServiceCause =
  /** Taken down by this run (drain → undrain not finished yet). */
  | 'in-flight'
  /** A step failed after it was taken down: it is left drained (recorded in the state). */
  | 'failed'
  /** Its health check failed just now. */
  | 'unhealthy'
  /** Its health check could not reach it just now. */
  | 'unreachable';

/** One member that uses the budget. */
export interface OutOfService {
  id: string;
  cause: OutOfServiceCause;
  /** What the probe or the state said (`connection refused`, `upgrade to 1.2.0 failed: …`). */
  message?: string;
}

/** The verdict on taking `candidate` out of service now. */
export interface TakeDownAssessment {
  /** True: take it down now. */
  allowed: boolean;
  /** Most members out at once (the tier's budget). */
  budget: number;
  /** Members out of service now, the candidate excluded, in id order of the input. */
  out: OutOfService[];
  /** True when the candidate itself is out already (taking it down costs no capacity). */
  candidateOut: boolean;
  /** True when at least one member in `out` is in flight (it will come back without help: wait for it). */
  waitable: boolean;
}

/**
 * Decides whether `candidate` may be taken out of service now.
 *
 * Rule: a candidate that is already out (unhealthy, unreachable, failed) may be
 * worked on, because that costs no capacity; otherwise it may go only when the
 * members out of service now plus the candidate stay within `budget`.
 *
 * @param candidate - target id about to be drained
 * @param budget - most members of its tier out at once (≥ 0)
 * @param out - every member of the tier observed or recorded out of service now (may include the candidate)
 */
export function assessTakeDown(candidate: string, budget: number, out: readonly OutOfService[]): TakeDownAssessment {
  const others = out.filter((o) => o.id !== candidate);
  const candidateOut = others.length !== out.length;
  const allowed = candidateOut || others.length + 1 <= budget;
  return { allowed, budget, out: others, candidateOut, waitable: others.some((o) => o.cause === 'in-flight') };
}

/** One line naming the members that use the budget, for pause messages: `edge-2 (unhealthy: HTTP 503), edge-4 (in flight)`. */
export function describeOutOfService(out: readonly OutOfService[]): string {
  return out
    .map((o) => `${o.id} (${o.cause === 'in-flight' ? 'in flight' : o.cause}${o.message ? `: ${o.message}` : ''})`)
    .join(', ');
}
