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
  AnalysisFailed: 'AnalysisFailed',
  AnalysisInconclusive: 'AnalysisInconclusive',
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
  decide: (name: string) => `decide with: fleetgate resume rollouts/${name}.yaml --decision continue|rollback|abort`,
} as const;
