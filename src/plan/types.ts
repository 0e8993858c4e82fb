/**
 * The plan: ordered waves computed by the pure planner from a spec, an
 * inventory and (optionally) the current state. Durations in milliseconds.
 */
export type WaveKind = 'canary' | 'wave' | 'leader';

export interface PlannedWave {
  /** Stable id, `<tier>/canary`, `<tier>/1`, `<tier>/2`, …, `<tier>/leader`. Used as the key in state. */
  id: string;
  /** 0-based position in the whole rollout. */
  index: number;
  tier: string;
  kind: WaveKind;
  /** Target ids, in the order they start. */
  targets: string[];
  /** Most targets of this wave out of service at once (≥ 1). */
  maxUnavailable: number;
  /**
   * A `replace` tier's wave: most replacements at once that provision their new target before the
   * old one leaves (min(tier maxSurge, wave size)); with `maxUnavailable` the wave's concurrency.
   */
  maxSurge?: number;
  /** Observation window after the wave (ms). */
  observeMs: number;
  /** Estimated wall time of the wave (ms): ceil(targets / maxUnavailable) × expected target time + `observeMs`. */
  estimatedMs?: number;
}

export interface PlannedTier {
  name: string;
  /** Targets the tier's selector picked. */
  targets: string[];
  quorum: boolean;
  canarySize: number;
  waveSize: number;
  maxUnavailable: number;
  /**
   * Most members of the tier out of service at once, for any reason (in flight, failed,
   * observed down): `maxUnavailable`, or n − `minAvailable`; quorum: ≤ floor((n-1)/2). May be 0.
   */
  budget: number;
  /** Members left out of the rollout explicitly (in `targets` still: they count when observed down). */
  excluded?: string[];
  /**
   * For a quorum tier: the leader target id, done last — the member carrying the leader label,
   * or the one the engine's `leader` step observed (undefined when neither says).
   */
  leader?: string;
  /** For a quorum tier with a `leader` step: the engine finds the leader right before each wave. */
  leaderStep?: boolean;
  /**
   * How the canary was chosen when the spec chose it: `listed` (`canary: [ids]`), or `spread` —
   * one member per value of `label` (`canary: {spreadBy: label}`), `values` in natural order.
   * Absent: sized (`canarySize` from a count, percent or `auto`).
   */
  canaryChoice?: { kind: 'listed' } | { kind: 'spread'; label: string; values: string[] };
  /** True when the spec lists the waves (`waves: [[ids], …]`); `waveSize` is then the largest. */
  wavesListed?: boolean;
  /** How the tier's targets get the new version (absent = `inPlace`). */
  strategy?: 'replace' | 'blueGreen';
  /** A `replace` tier: most targets above its size at once (resolved `maxSurge`, rounded up). */
  maxSurge?: number;
}

export interface RolloutPlan {
  rollout: string;
  component: string;
  version: string;
  tiers: PlannedTier[];
  waves: PlannedWave[];
  /** Estimated wall time (ms): per wave, ceil(targets / maxUnavailable) × expected target time + observation window. */
  estimatedDurationMs: number;
  /** Planning warnings (e.g. a target in no tier, or in two). */
  warnings: string[];
}
