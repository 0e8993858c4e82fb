/**
 * Small deterministic pseudo-random numbers for the simulated agent, so a fleet
 * started with the same seed produces the same sequence of outcomes per agent.
 * Not for anything security-related.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** 32-bit FNV-1a hash of a string. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Creates a mulberry32 generator seeded by `seed` and `key` (the agent id), so
 * every agent of a fleet has its own reproducible stream.
 */
export function createRandom(seed: number, key: string): Random {
  return mulberry32((hashString(`${seed}:${key}`) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0);
}

/** The mulberry32 generator from a 32-bit state: the same `seed` gives the same sequence. */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box–Muller). */
export function normalSample(random: Random): number {
  // 1 - u keeps the argument of log in (0, 1].
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A log-normal latency sample (ms) with the given median and spread `sigma`
 * (0.5 gives a p99 about 3.2× the median), clamped to `maxMs`.
 */
export function lognormalMs(random: Random, medianMs: number, sigma: number, maxMs: number): number {
  return Math.min(maxMs, medianMs * Math.exp(sigma * normalSample(random)));
}
