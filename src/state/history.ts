/**
 * What a finished rollout leaves in its history entry for later ones to learn from: per wave its
 * size, wall time, failures, pauses and decision, and per step a median and a maximum (ms) —
 * bounded, never every sample. Pure: data in, data out.
 */
import {
  WAVE_HISTORY_LIMIT,
  type Decision,
  type RolloutState,
  type StepTiming,
  type WaveHistory,
  type WaveState,
} from './types.js';
import { median } from '../util/median.js';

/**
 * A step's timing from its samples (ms), rounded to whole milliseconds.
 * @returns `undefined` for no samples
 */
function summarizeTimings(samplesMs: readonly number[]): StepTiming | undefined {
  const m = median(samplesMs);
  if (m === undefined) return undefined;
  return { count: samplesMs.length, medianMs: Math.round(m), maxMs: Math.round(Math.max(...samplesMs)) };
}

/**
 * Two timings of the same step of the same wave (a wave moved by two runs, e.g. after an
 * interruption): counts add up, the maximum is the larger; the median is the one of the larger
 * group (the exact median of both needs their samples, which are not kept).
 */
function mergeTimings(a: StepTiming | undefined, b: StepTiming | undefined): StepTiming | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    count: a.count + b.count,
    medianMs: a.count >= b.count ? a.medianMs : b.medianMs,
    maxMs: Math.max(a.maxMs, b.maxMs),
  };
}

/**
 * Adds one run's samples of a wave's steps (step name → durations in ms) to what the wave
 * already records (see {@link mergeTimings}).
 * @returns the wave's new `steps`, or `undefined` when there is nothing to record
 */
export function addStepSamples(
  recorded: Record<string, StepTiming> | undefined,
  samples: ReadonlyMap<string, readonly number[]>,
): Record<string, StepTiming> | undefined {
  const out: Record<string, StepTiming> = { ...recorded };
  for (const [step, values] of samples) {
    const merged = mergeTimings(out[step], summarizeTimings(values));
    if (merged) out[step] = merged;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Milliseconds from one ISO time to another, when both parse and the second is not earlier. */
function between(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * The waves of the rollout in `state` as its history entry keeps them: the first
 * {@link WAVE_HISTORY_LIMIT}. A wave's `target` timing is read from its succeeded targets'
 * own start and finish times (the probe to the confirmed undrain, across runs); the other
 * steps' come from `WaveState.steps`. A wave that never started is left out.
 */
export function summarizeWaves(state: RolloutState): WaveHistory[] {
  const out: WaveHistory[] = [];
  for (const w of state.waves) {
    if (out.length >= WAVE_HISTORY_LIMIT) break;
    if (w.startedAt === undefined) continue;
    out.push(summarizeWave(w, state));
  }
  return out;
}

function summarizeWave(w: WaveState, state: RolloutState): WaveHistory {
  const targetMs: number[] = [];
  let failed = 0;
  for (const id of w.targets) {
    const t = state.targets[id];
    if (!t) continue;
    if (t.phase === 'Failed' || t.phase === 'RollbackFailed') failed++;
    if (t.phase !== 'Succeeded' || t.skipped) continue;
    const ms = between(t.startedAt, t.finishedAt);
    if (ms !== undefined) targetMs.push(ms);
  }
  // The wave's own count, written after its steps, outlives a rollback that returns its targets.
  failed = Math.max(failed, w.failed ?? 0);
  const target = summarizeTimings(targetMs);
  // Copies, never the wave's own objects: a shared object would be written as a YAML alias.
  const steps: Record<string, StepTiming> = target ? { target } : {};
  for (const [name, timing] of Object.entries(w.steps ?? {})) steps[name] = { ...timing };
  let decision: Decision | undefined;
  for (const d of state.decisions) if (d.wave === w.id) decision = d.decision;
  const durationMs = between(w.startedAt, w.finishedAt);
  return {
    id: w.id,
    size: w.targets.length,
    phase: w.phase,
    ...(durationMs !== undefined && { durationMs }),
    ...(failed > 0 && { failed }),
    ...(w.paused && w.paused.length > 0 && { paused: [...w.paused] }),
    ...(decision && { decision }),
    ...(w.analysis && { verdict: w.analysis.verdict }),
    ...(Object.keys(steps).length > 0 && { steps }),
  };
}
