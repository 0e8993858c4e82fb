/**
 * Step timings and pauses per wave, for the history later plans learn from (issue 13, part 5):
 * the engine records each step's duration here as it runs, and writes a bounded summary (a
 * median and a maximum per step, see `src/state/history.ts`) into the wave's state once its
 * steps are done.
 */
import { addStepSamples, summarizeWaves } from '../state/history.js';
import {
  WAVE_HISTORY_ENTRIES,
  WAVE_HISTORY_LIMIT,
  type HistoryEntry,
  type RolloutState,
  type WaveState,
} from '../state/types.js';

/** Step names timed: the target-changing steps and the polled checks of `moveTarget`. */
export type TimedStep = 'drain' | 'upgrade' | 'verify' | 'undrain' | 'caughtUp';

/** One run's step durations (ms) per wave, in memory until {@link StepTimer.flush} summarizes them. */
export class StepTimer {
  private readonly byWave = new Map<string, Map<string, number[]>>();

  /** Records that `step` took `ms` milliseconds on a target of `wave`. */
  record(wave: string, step: TimedStep, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    let steps = this.byWave.get(wave);
    if (!steps) {
      steps = new Map<string, number[]>();
      this.byWave.set(wave, steps);
    }
    const list = steps.get(step);
    if (list) list.push(ms);
    else steps.set(step, [ms]);
  }

  /** Adds this run's samples of the wave to its `steps` (median and maximum) and forgets them. */
  flush(ws: WaveState): void {
    const samples = this.byWave.get(ws.id);
    if (!samples) return;
    this.byWave.delete(ws.id);
    const steps = addStepSamples(ws.steps, samples);
    if (steps) ws.steps = steps;
  }
}

/** Records on the wave in progress that the rollout paused there, for `reason` (each reason once). */
export function notePause(state: RolloutState, reason: string): void {
  const ws = state.waves.find((w) => w.id === state.currentWave);
  if (!ws) return;
  if (!(ws.paused ??= []).includes(reason)) ws.paused.push(reason);
}

/**
 * Drops the waves of history entries older than the newest {@link WAVE_HISTORY_ENTRIES} (their
 * count stays in `waveCount`): what bounds the history's wave lines.
 */
export function trimHistoryWaves(history: HistoryEntry[]): void {
  for (const entry of history.slice(WAVE_HISTORY_ENTRIES)) {
    if (!entry.waves) continue;
    entry.waveCount ??= entry.waves.length;
    delete entry.waves;
  }
}

/** The learning fields of a history entry for the rollout in `state`: whether it is a rollback, and its waves. */
export function historyOfWaves(state: RolloutState): Pick<HistoryEntry, 'rollback' | 'waves' | 'waveCount'> {
  const waves = summarizeWaves(state);
  const started = state.waves.filter((w) => w.startedAt !== undefined).length;
  return {
    ...(state.isRollback === true && { rollback: true }),
    ...(waves.length > 0 && { waves }),
    ...(started > WAVE_HISTORY_LIMIT && { waveCount: started }),
  };
}
