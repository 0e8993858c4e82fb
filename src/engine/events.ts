/**
 * Rollout events, emitted as JSON lines. Names follow seed 001's event stream (a group
 * started, a health check per instance, the group completed, the breaker tripped) in
 * Fleetgate's vocabulary: `wave_started`, `target_health_check`, `wave_completed`,
 * `circuit_breaker_tripped`.
 */
export type RolloutEventName =
  | 'rollout_started'
  | 'preflight_completed'
  | 'hook_started'
  | 'hook_completed'
  | 'gate_pending'
  | 'gate_approved'
  | 'wave_started'
  | 'target_started'
  | 'target_step'
  | 'target_health_check'
  | 'target_skipped'
  | 'target_completed'
  | 'target_failed'
  | 'wave_observing'
  | 'analysis_warning'
  /** The analysis verdict, with where the window ended (`observedUntil`, `endedEarly`) and when it was decided. */
  | 'analysis_completed'
  /** A window the provider could not measure any more (`scrape` in a later run) was opened again, from now. */
  | 'analysis_window_reopened'
  | 'wave_completed'
  | 'wave_failed'
  | 'circuit_breaker_tripped'
  | 'rollout_paused'
  | 'decision_recorded'
  | 'rollback_started'
  | 'target_rolled_back'
  | 'rollout_rolled_back'
  | 'rollout_completed'
  | 'rollout_degraded'
  | 'state_committed'
  /** A take-down waits for its tier's budget (members out of service are named). */
  | 'budget_wait'
  /** A target's version was read again after a failed step (what it runs now). */
  | 'target_observed'
  /** A quorum tier's `leader` step answered, right before one of its waves (the leader goes last). */
  | 'leader_observed'
  /** `transferLeadership` ran before the leader's drain (`ok`, `transferee`, the leader seen after it). */
  | 'leadership_transferred'
  /** The run took the rollout's lease in the state (shared backends: before any target is touched). */
  | 'lease_taken'
  /** The lease was free only because its holder's expired or its process is gone (`message` says which). */
  | 'lease_taken_over'
  /** The run ended and removed its lease (or could not: `message`, and when it expires). */
  | 'lease_released'
  | 'lease_release_failed'
  /** Renewing the lease failed (the run's next commit fails too if another run took it). */
  | 'lease_renewal_failed'
  /** The alert gate asked Alertmanager (verdict, how many alerts fired). */
  | 'alerts_checked'
  /** A silence was created for a target's planned work, or expired. */
  | 'silence_created'
  | 'silence_expired'
  /** A silence could not be created or expired (the rollout goes on; the id stays recorded). */
  | 'alerts_warning'
  /** The error-budget gate measured (verdict, budget consumed). */
  | 'slo_checked'
  /** A wave was opened for N legs (`run --open-shards`), a leg (`run --shard i/N`) began or ended, or a verdict read the legs. */
  | 'wave_sharded'
  | 'shard_started'
  | 'shard_completed'
  | 'shards_assessed'
  /** The run stopped before a wave: outside the deploy windows or inside a freeze (`reason`, `opensAt`). */
  | 'schedule_held'
  /** A notification (spec `notify`) could not be delivered after its retries (the rollout goes on). */
  | 'notify_warning'
  /** A replace or blue-green tier provisioned a target (`new`, `address`) for a slot (`target`), or retired one. */
  | 'target_provisioned'
  | 'target_retired'
  /** A blue-green tier's traffic was switched to a pool (`version`, `pool`), or switched back. */
  | 'pool_switched';

export interface RolloutEvent {
  /** ISO-8601 time. */
  ts: string;
  event: RolloutEventName;
  rollout: string;
  wave?: string;
  target?: string;
  [key: string]: unknown;
}

/** Receives every event; the CLI prints them, tests collect them. */
export type EventSink = (event: RolloutEvent) => void;

/** Fans one event out to several sinks; a throwing sink never stops the rollout. */
export function combineSinks(...sinks: EventSink[]): EventSink {
  return (event) => {
    for (const sink of sinks) {
      try {
        sink(event);
      } catch {
        // An output problem (closed pipe, full disk for the events file) must not stop a rollout mid-wave.
      }
    }
  };
}
