/**
 * Reason codes and message templates for phase changes, in one place (the way
 * Argo Rollouts keeps them in `utils/conditions`). Tests assert on reasons.
 */
export const Reasons = {
  RolloutStarted: 'RolloutStarted',
  RolloutCompleted: 'RolloutCompleted',
  CompletedWithFailures: 'CompletedWithFailures',
  AlreadyAtVersion: 'AlreadyAtVersion',
  CircuitBreakerTripped: 'CircuitBreakerTripped',
  WaveFailureToleranceExceeded: 'WaveFailureToleranceExceeded',
  ObservationFailed: 'ObservationFailed',
  GatePending: 'GatePending',
  HookFailed: 'HookFailed',
  DecisionContinue: 'DecisionContinue',
  Aborted: 'Aborted',
  RolledBack: 'RolledBack',
  RollbackFailed: 'RollbackFailed',
  RollbackRequested: 'RollbackRequested',
  Interrupted: 'Interrupted',
  WaveBoundary: 'WaveBoundary',
  ObservationWindowOpen: 'ObservationWindowOpen',
  /** A wave was opened for its legs (`run --open-shards N`): they run next, then an unsharded run takes the verdict. */
  WaveSharded: 'WaveSharded',
  /** A leg of a sharded wave moved its slice (`run --shard i/N`): the verdict run decides the wave. */
  ShardCompleted: 'ShardCompleted',
  AnalysisFailed: 'AnalysisFailed',
  AnalysisInconclusive: 'AnalysisInconclusive',
  /** A target could not be taken down within its tier's budget (members out for any reason). */
  BudgetExhausted: 'BudgetExhausted',
  /** Another rollout in the repository holds a target of this one. */
  TargetHeld: 'TargetHeld',
  /** A rollback found every target already on the version. */
  NothingToRollBack: 'NothingToRollBack',
  /** A firing Alertmanager alert matches the spec's `alerts.select` (before a wave, or at the end of its window). */
  AlertFiring: 'AlertFiring',
  /** Alertmanager did not answer the alert gate: never a pass. */
  AlertmanagerUnreachable: 'AlertmanagerUnreachable',
  /** The alert gate could not ask (a per-target selector reads a label a target lacks): never a pass. */
  AlertGateNotAsked: 'AlertGateNotAsked',
  /** The rollout burnt more of the error budget than `slo.maxBudgetConsumed`, or a fast/slow pair burns above its rate (spec `slo`). */
  ErrorBudgetBurn: 'ErrorBudgetBurn',
  /** The error-budget gate could not measure (Prometheus unreachable, no data, no traffic): never a pass. */
  ErrorBudgetUnknown: 'ErrorBudgetUnknown',
  /** A quorum tier's `leader` step failed on every member, or named no member of the tier. */
  LeaderUnknown: 'LeaderUnknown',
  /** `transferLeadership` failed, or the leader did not move within its timeout (the leader is untouched). */
  LeadershipNotTransferred: 'LeadershipNotTransferred',
  /** A member's `caughtUp` check did not pass within its timeout after it was back (target failed). */
  NotCaughtUp: 'NotCaughtUp',
  /** Outside every deploy window of `schedule.windows`: the run stopped at a wave boundary (exit 6) until the next one. */
  OutsideDeployWindow: 'OutsideDeployWindow',
  /** Inside a `schedule.freezes` period: the run stopped at a wave boundary (exit 6) until it ends. */
  DeployFreeze: 'DeployFreeze',
  /** A replace tier's `provision` step failed or printed no usable `{"id", "address"}` (target failed). */
  ProvisionFailed: 'ProvisionFailed',
  /** A provisioned target did not pass its health check or reported another version: left provisioned, not in service. */
  ReplacementUnhealthy: 'ReplacementUnhealthy',
  /** A replace tier's `retire` step failed, or the old target still answered after it (target failed). */
  RetireFailed: 'RetireFailed',
  /** A blue-green tier switched to its new pool and keeps the old one until `keepOldPool` is over (exit 6; run again after it). */
  OldPoolKept: 'OldPoolKept',
  /** A blue-green tier's `switch` step failed (the rollout pauses; traffic stays where it was). */
  SwitchFailed: 'SwitchFailed',
} as const;
export type Reason = (typeof Reasons)[keyof typeof Reasons];

export const Messages = {
  breakerTripped: (failed: string[], max: number) =>
    `circuit breaker tripped: ${failed.length} consecutive target failures (maxConsecutiveFailures ${max}): ${failed.join(', ')}`,
  waveTolerance: (wave: string, failed: number, total: number, tolerance: number) =>
    `wave ${wave}: ${failed}/${total} targets failed (${((failed / total) * 100).toFixed(1)}%), above the failure tolerance of ${tolerance}%`,
  observationFailed: (wave: string, targets: string[]) =>
    `observation window after ${wave}: ${targets.join(', ')} turned unhealthy`,
  gatePending: (gate: string) =>
    `waiting for approval of gate "${gate}": approve on a terminal, re-run with --yes, or approve the GitHub environment`,
  budgetExhausted: (target: string, tier: string, budget: number, out: string) =>
    `${target} was not taken out of service: tier ${tier} may have ${budget} member(s) out at once and ${out} ${out.includes(',') ? 'are' : 'is'} out now. Wait for them to come back, roll this rollout's failed targets back (\`fleetgate resume --decision rollback\`), or repair them and leave the repaired ones out (\`--exclude\`: an excluded member counts only while a health check sees it down), then \`fleetgate resume --decision continue\``,
  targetHeld: (rollout: string, phase: string, targets: string[]) =>
    `${targets.length} target(s) are held by rollout "${rollout}" (${phase}): ${targets.slice(0, 10).join(', ')}${targets.length > 10 ? ' …' : ''}; finish, roll back or abort that rollout first`,
  leaderNotMember: (tier: string, askedOf: string, answer: string) =>
    `the leader step of quorum tier ${tier} (asked of ${askedOf}) answered ${JSON.stringify(answer)}, which is not a member of the tier: it must print the leader's target id; no member was taken down`,
  leaderUnread: (tier: string, failures: string[]) =>
    `the leader step of quorum tier ${tier} failed on every member (${failures.join('; ') || 'no member to ask'}); the leader cannot be kept for last, so no member was taken down`,
  noTransferee: (tier: string, leader: string, desired: string) =>
    `no member of tier ${tier} runs ${desired} yet: leadership was not moved off ${leader} before its drain`,
  transferFailed: (leader: string, transferee: string, message: string) =>
    `transferLeadership from ${leader} to ${transferee} failed: ${message}; ${leader} was not taken down`,
  leaderDidNotMove: (leader: string, transferee: string, timeoutMs: number, last: string) =>
    `leadership did not move off ${leader} (transferred to ${transferee}) within ${timeoutMs} ms: ${last}; ${leader} was not taken down`,
  notCaughtUp: (target: string, version: string, timeoutMs: number, probes: number, message: string) =>
    `${target} on ${version} did not catch up within ${timeoutMs} ms (${probes} checks): ${message}; left out of service`,
  alertFiring: (message: string, touched: boolean, action: 'fail' | 'pause') =>
    action === 'fail' && !touched
      ? `${message}; nothing of this rollout was touched yet, so there is nothing to roll back: paused`
      : message,
  alertmanagerUnreachable: (message: string) =>
    `${message}. Bring Alertmanager back and \`fleetgate resume --decision continue\` (the gate is checked again), or decide otherwise`,
  windowReopened: (wave: string, provider: string, previousUntil: string) =>
    `the ${provider} provider holds no samples of ${wave}'s observation window (until ${previousUntil}): this run did not open it (an earlier run was interrupted, or deferred it), so the window is opened again from now and waited out`,
  errorBudgetBurn: (message: string) =>
    `${message}. Find what burns the budget (the new version or something else), then \`fleetgate resume --decision rollback\`, or \`--decision continue\` to accept what was burnt so far (the budget is then counted from the decision)`,
  errorBudgetUnknown: (message: string) =>
    `${message}. Make Prometheus answer the slo queries (check slo.bad and slo.total), then \`fleetgate resume --decision continue\` (the gate is checked again), or decide otherwise`,
  outsideDeployWindow: (wave: string, opensAt: string | undefined) =>
    `stopped before ${wave}: outside the deploy windows (schedule.windows); ${opensAt ? `the next window opens at ${opensAt}` : 'no window opens within the search horizon'}. Run again then (nothing is touched until it opens); a rollback is never held`,
  deployFreeze: (wave: string, reason: string, until: string, opensAt: string | undefined) =>
    `stopped before ${wave}: deploy freeze until ${until} (${reason}); ${opensAt ? `waves may start again at ${opensAt}` : 'no window opens within the search horizon'}. Run again then; a rollback is never held`,
  /** `specPath`: the spec file as the run was given it (`EngineDeps.specPath`), so the command can be pasted. */
  decide: (specPath: string) => `decide with: fleetgate resume ${specPath} --decision continue|rollback|abort`,
} as const;
