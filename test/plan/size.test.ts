import { describe, expect, it } from 'vitest';
import { FLEET_SIZE_TABLE, autoSizes, ceilPercent, quorumSafeSize, resolveSize } from '../../src/plan/size.js';
import { size } from './helpers.js';

describe('fleet-size table (seed 000)', () => {
  it.each([
    [0, 1, 5],
    [1, 1, 5],
    [49, 1, 5],
    [50, 2, 25],
    [500, 2, 25],
    [501, 5, 50],
    [10_000, 5, 50],
  ])('a tier of %i targets: canary %i, waves of %i', (n, canary, wave) => {
    expect(autoSizes(n)).toEqual({ canary, wave });
  });

  it('has the three rows of seed 000', () => {
    expect(FLEET_SIZE_TABLE.map((r) => [r.maxTargets, r.canary, r.wave])).toEqual([
      [49, 1, 5],
      [500, 2, 25],
      [Infinity, 5, 50],
    ]);
  });
});

describe('quorumSafeSize (seed 000 quorum procedure)', () => {
  it.each([
    [0, 1],
    [1, 1],
    [2, 1],
    [3, 1],
    [4, 1],
    [5, 2],
    [6, 2],
    [7, 3],
  ])('%i members → at most %i down', (n, safe) => expect(quorumSafeSize(n)).toBe(safe));
});

describe('resolveSize', () => {
  it('caps counts at n and keeps a count of 0', () => {
    expect(resolveSize(size(5), 3, 99)).toBe(3);
    expect(resolveSize(size(2), 3, 99)).toBe(2);
    expect(resolveSize(size(0), 3, 99)).toBe(0);
  });

  it('rounds percents up, at least 1, at most n', () => {
    expect(resolveSize(size('20%'), 50, 99)).toBe(10);
    expect(resolveSize(size('10%'), 47, 99)).toBe(5);
    expect(resolveSize(size('1%'), 3, 99)).toBe(1);
    expect(resolveSize(size('0.5%'), 1000, 99)).toBe(5);
    expect(resolveSize(size('100%'), 7, 99)).toBe(7);
  });

  it('is immune to floating-point noise (8.8% of 375 is 33, not 34)', () => {
    expect((375 * 8.8) / 100).not.toBe(33);
    expect(ceilPercent(375, 8.8)).toBe(33);
    expect(resolveSize(size('8.8%'), 375, 0)).toBe(33);
  });

  it('uses the given auto value, capped at n', () => {
    expect(resolveSize(size('auto'), 20, 5)).toBe(5);
    expect(resolveSize(size('auto'), 3, 5)).toBe(3);
  });

  it('is 0 for an empty tier', () => {
    expect(resolveSize(size('50%'), 0, 5)).toBe(0);
    expect(resolveSize(size('auto'), 0, 5)).toBe(0);
  });
});
