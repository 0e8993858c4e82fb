import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mannWhitneyGreater } from '../../src/analysis/mann-whitney.js';

// Reference p-values: scipy.stats.mannwhitneyu(x, y, alternative='greater', use_continuity=False, method='asymptotic').
const REFERENCE: Array<[number[], number[], number, number]> = [
  [[1.1, 2.2, 3.3, 4.4, 5.5], [0.5, 0.7, 0.9, 1.0, 1.2], 24, 0.008146801810514264],
  [[3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6], 28, 0.05341591966919648],
  [[1, 2, 2, 3, 3, 3], [2, 3, 3, 4, 4, 5], 7, 0.9673967421730153],
  [[10, 20, 30], [10, 20, 30], 4.5, 0.5],
  [
    [0.011, 0.012, 0.0105, 0.013, 0.0125, 0.0118],
    [0.01, 0.0098, 0.0102, 0.0101, 0.0097, 0.0103, 0.0099, 0.0104],
    48,
    0.0009728868468695743,
  ],
];

describe('mannWhitneyGreater', () => {
  it.each(REFERENCE)('matches scipy for %j vs %j', (x, y, u, p) => {
    const r = mannWhitneyGreater(x, y);
    expect(r.u).toBe(u);
    expect(r.pValue).toBeCloseTo(p, 9);
    expect(r.effect).toBeCloseTo(u / (x.length * y.length), 12);
  });

  it('gives p = 0.5 when every value is equal', () => {
    expect(mannWhitneyGreater([1, 1, 1], [1, 1, 1, 1]).pValue).toBe(0.5);
  });

  it('refuses empty groups and non-finite values', () => {
    expect(() => mannWhitneyGreater([], [1])).toThrow(RangeError);
    expect(() => mannWhitneyGreater([Number.NaN], [1])).toThrow(RangeError);
  });

  it('property: swapping the groups mirrors the one-sided p-value', () => {
    const sample = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(sample, sample, (x, y) => {
        const all = [...x, ...y];
        fc.pre(!all.every((v) => v === all[0]));
        const a = mannWhitneyGreater(x, y);
        const b = mannWhitneyGreater(y, x);
        expect(a.pValue + b.pValue).toBeCloseTo(1, 9);
        expect(a.u + b.u).toBeCloseTo(x.length * y.length, 9);
      }),
    );
  });
});
