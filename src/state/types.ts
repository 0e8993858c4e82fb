/**
 * The state file (`rollouts/<name>.state.yaml`): observed progress, written only by Fleetgate.
 * Its types come from its schema (src/state/schema.ts, where each field is documented), so
 * what the engine writes and what a read checks are one description; here with the limits
 * that bound the file. Times are ISO-8601 strings (UTC); durations in ms.
 */
export { STATE_API_VERSION, STATE_KIND } from './schema.js';
export type {
  Approval,
  BreakerTrip,
  Condition,
  Decision,
  DecisionRecord,
  HistoryEntry,
  HookRecord,
  PoolRecord,
  Replacement,
  RolloutPhase,
  RolloutState,
  ShardLeg,
  StateLease,
  StepTiming,
  TargetPhase,
  TargetState,
  WaveHistory,
  WavePhase,
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
