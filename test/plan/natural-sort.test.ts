import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareNatural } from '../../src/plan/natural-sort.js';

describe('compareNatural', () => {
  it('sorts digit runs as numbers', () => {
    expect(['edge-10', 'edge-2', 'edge-1', 'edge-100', 'db-3'].sort(compareNatural)).toEqual([
      'db-3',
      'edge-1',
      'edge-2',
      'edge-10',
      'edge-100',
    ]);
    expect(['r2-n10', 'r2-n9', 'r10-n1'].sort(compareNatural)).toEqual(['r2-n9', 'r2-n10', 'r10-n1']);
  });

  it('handles numbers longer than a double and leading zeros', () => {
    expect(compareNatural('n-99999999999999999999', 'n-100000000000000000000')).toBeLessThan(0);
    expect(compareNatural('a01', 'a1')).not.toBe(0);
    expect(compareNatural('a01', 'a2')).toBeLessThan(0);
  });

  it('is a total order: antisymmetric, 0 only for equal strings, transitive', () => {
    const id = fc.stringMatching(/^[a-c0-9-]{0,6}$/);
    fc.assert(
      fc.property(id, id, id, (a, b, c) => {
        const ab = compareNatural(a, b);
        expect(Math.sign(ab) + Math.sign(compareNatural(b, a))).toBe(0);
        expect(ab === 0).toBe(a === b);
        if (ab < 0 && compareNatural(b, c) < 0) expect(compareNatural(a, c)).toBeLessThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});
