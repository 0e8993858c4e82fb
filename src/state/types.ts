/**
 * The state file (`rollouts/<name>.state.yaml`): observed progress, written only by Fleetgate.
 * Its types come from its schema (src/state/schema.ts, where each field is documented), so
 * what the engine writes and what a read checks are one description; here with the limits
 * that bound the file. Times are ISO-8601 strings (UTC); durations in ms.
 */
import { STATE_API_VERSION, STATE_KIND, type RolloutState } from './schema.js';

export { STATE_API_VERSION, STATE_KIND };
export type {
  Approval,
  Condition,
  Decision,
  DecisionRecord,
  HistoryEntry,
  HookRecord,
  PoolRecord,
  RolloutPhase,
  RolloutState,
  ShardLeg,
  StateLease,
  StepTiming,
  TargetPhase,
  TargetState,
  WaveHistory,
  WaveState,
} from './schema.js';

/** Waves kept per history entry (the first ones; `waveCount` says how many there were). */
export const WAVE_HISTORY_LIMIT = 50;

/**
 * History entries, the newest, that keep their `waves`: the plan reads the last 5 rollouts of new
 * versions, and 10 leave room for rollbacks between them. Older entries keep `waveCount` only, so
 * a full history adds at most 500 wave lines (a 10,000-target state stays under 2 MB).
 */
export const WAVE_HISTORY_ENTRIES = 10;

/** Approvals and decisions kept per history entry. */
export const AUDIT_LIMIT = 20;

/** Most past rollouts kept in `history`. */
export const HISTORY_LIMIT = 20;

/** A state with nothing done yet. */
export function createEmptyState(name: string): RolloutState {
  return {
    apiVersion: STATE_API_VERSION,
    kind: STATE_KIND,
    name,
    revision: 0,
    phase: 'Pending',
    waves: [],
    targets: {},
    breaker: { consecutiveFailures: 0, trips: [] },
    decisions: [],
    approvals: [],
    history: [],
  };
}
