import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  logMixtureBayesFactor,
  mixtureConfidenceInterval,
  rateInterval,
  rateRatioTest,
  type EventCounts,
} from '../../src/analysis/sequential.js';
import { mulberry32, type Random } from '../../src/fleet/prng.js';

/** Poisson(mean) by Knuth's multiplication method, split for large means (test-only simulation). */
function poisson(random: Random, mean: number): number {
  let total = 0;
  let left = mean;
  while (left > 0) {
    const m = Math.min(left, 30);
    left -= m;
    const limit = Math.exp(-m);
    let k = 0;
    let prod = random();
    while (prod > limit) {
      k++;
      prod *= random();
    }
    total += k;
  }
  return total;
}

interface Run {
  decision: 'fail' | 'pass' | 'continue';
  looks: number;
}

/**
 * Simulates one window: every look adds one interval of traffic to both
 * cohorts (canary errors ~ Poisson(ρ·rate·nc), baseline ~ Poisson(rate·nb))
 * and peeks at the cumulative counts; stops at the first decision.
 */
function simulate(
  random: Random,
  opts: { rho: number; share: number; baselineEventsPerLook: number; looks: number; limit: number },
): Run {
  const canary: EventCounts = { events: 0, exposure: 0 };
  const baseline: EventCounts = { events: 0, exposure: 0 };
  const nb = 10_000;
  const nc = (opts.share / (1 - opts.share)) * nb;
  const rate = opts.baselineEventsPerLook / nb;
  for (let k = 1; k <= opts.looks; k++) {
    canary.exposure += nc;
    baseline.exposure += nb;
    canary.events += poisson(random, opts.rho * rate * nc);
    baseline.events += poisson(random, rate * nb);
    const r = rateRatioTest(canary, baseline, { limit: opts.limit, detect: 2, confidence: 0.99 });
    if (r.decision !== 'continue') return { decision: r.decision, looks: k };
  }
  return { decision: 'continue', looks: opts.looks };
}

describe('the mixture Bayes factor', () => {
  it('equals the Beta mixture integral computed by quadrature', () => {
    const [x, n, p, a, b] = [7, 40, 0.1, 2, 18];
    // ∫ q^x (1-q)^(n-x) Beta(q; a, b) dq / (p^x (1-p)^(n-x)), by the midpoint rule in log space.
    const steps = 200_000;
    const logBeta = (u: number, v: number): number => {
      let s = 0;
      for (let i = 0; i < steps; i++) {
        const q = (i + 0.5) / steps;
        s += Math.exp((u - 1) * Math.log(q) + (v - 1) * Math.log1p(-q));
      }
      return Math.log(s / steps);
    };
    const expected = logBeta(x + a, n - x + b) - logBeta(a, b) - x * Math.log(p) - (n - x) * Math.log1p(-p);
    expect(logMixtureBayesFactor(x, n, p, a, b)).toBeCloseTo(expected, 4);
  });

  it('gives an interval around x/n that narrows with more data', () => {
    const small = mixtureConfidenceInterval(5, 50, 1, 1, 0.01);
    const large = mixtureConfidenceInterval(500, 5000, 1, 1, 0.01);
    expect(small[0]).toBeLessThan(0.1);
    expect(small[1]).toBeGreaterThan(0.1);
    expect(large[0]).toBeGreaterThan(small[0]);
    expect(large[1]).toBeLessThan(small[1]);
    expect(large[1] - large[0]).toBeLessThan(0.05);
    expect(mixtureConfidenceInterval(0, 0, 1, 1, 0.01)).toEqual([0, 1]);
  });

  it('is at least as wide as the fixed-sample 99% interval (the price of peeking)', () => {
    // Wald 99% two-sided for 100/1000: 0.1 ± 2.576·sqrt(0.09/1000) = [0.0756, 0.1244].
    const [lo, hi] = mixtureConfidenceInterval(100, 1000, 1, 1, 0.01);
    expect(lo).toBeLessThan(0.0756);
    expect(hi).toBeGreaterThan(0.1244);
  });
});

describe('rateRatioTest', () => {
  it('fails a 10x increase, passes no change with enough events, continues on few events', () => {
    const settings = { limit: 1.1, detect: 2, confidence: 0.99 };
    const bad = rateRatioTest({ events: 30, exposure: 1000 }, { events: 60, exposure: 19_000 }, settings);
    expect(bad.decision).toBe('fail');
    expect(bad.interval[0]).toBeGreaterThan(1.1);
    expect(bad.estimate).toBeCloseTo(9.5, 5);
    const good = rateRatioTest({ events: 50, exposure: 50_000 }, { events: 950, exposure: 950_000 }, settings);
    expect(good.decision).toBe('pass');
    expect(good.interval[1]).toBeLessThan(2);
    expect(good.interval[0]).toBeLessThan(1);
    const few = rateRatioTest({ events: 4, exposure: 3000 }, { events: 57, exposure: 57_000 }, settings);
    expect(few.decision).toBe('continue');
    expect(few.interval[0]).toBeLessThan(1.1);
    expect(few.interval[1]).toBeGreaterThan(2);
  });

  it('reports an unbounded interval and continues with no events at all', () => {
    const r = rateRatioTest(
      { events: 0, exposure: 100 },
      { events: 0, exposure: 100 },
      {
        limit: 1.1,
        detect: 2,
        confidence: 0.99,
      },
    );
    expect(r.decision).toBe('continue');
    expect(r.interval).toEqual([0, Infinity]);
    expect(r.estimate).toBeNaN();
  });

  it('rejects settings out of range', () => {
    const c = { events: 1, exposure: 10 };
    expect(() => rateRatioTest(c, c, { limit: 2, detect: 2, confidence: 0.99 })).toThrow(RangeError);
    expect(() => rateRatioTest(c, c, { limit: 1.1, detect: 2, confidence: 1 })).toThrow(RangeError);
    expect(() => rateRatioTest(c, { events: 1, exposure: 0 }, { limit: 1.1, detect: 2, confidence: 0.9 })).toThrow(
      RangeError,
    );
  });

  it('false-fails at most 1% of good canaries at 99%, peeking at every interval (random sizes)', () => {
    // Under H0 at its boundary (ρ = limit) and at "no change" (ρ = 1), over random
    // traffic splits and error rates, 30 looks per window.
    let fails = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.03, max: 0.5, noNaN: true }),
        fc.double({ min: 1, max: 40, noNaN: true }),
        fc.constantFrom(1, 1.1),
        (seed, share, baselineEventsPerLook, rho) => {
          const run = simulate(mulberry32(seed), { rho, share, baselineEventsPerLook, looks: 30, limit: 1.1 });
          runs++;
          if (run.decision === 'fail') fails++;
        },
      ),
      { numRuns: 600, seed: 11 },
    );
    expect(runs).toBe(600);
    expect(fails / runs).toBeLessThanOrEqual(0.01);
  });

  it('fails a 2x regression once enough events were seen, and passes it at most 1% of the time', () => {
    let fails = 0;
    let passes = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.05, max: 0.5, noNaN: true }),
        (seed, share) => {
          // About 60 baseline events per look, 40 looks: hundreds of canary events by the end.
          const run = simulate(mulberry32(seed), { rho: 2, share, baselineEventsPerLook: 60, looks: 40, limit: 1.1 });
          if (run.decision === 'fail') fails++;
          if (run.decision === 'pass') passes++;
        },
      ),
      { numRuns: 300, seed: 12 },
    );
    expect(passes / 300).toBeLessThanOrEqual(0.01);
    expect(fails / 300).toBeGreaterThanOrEqual(0.97);
  });
});

describe('rateInterval', () => {
  it('bounds an error ratio, even with no errors', () => {
    const [lo, hi] = rateInterval({ events: 0, exposure: 10_000 }, 0.99);
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(0);
    expect(hi).toBeLessThan(0.002);
    const [lo2, hi2] = rateInterval({ events: 100, exposure: 10_000 }, 0.99);
    expect(lo2).toBeLessThan(0.01);
    expect(hi2).toBeGreaterThan(0.01);
  });
});
