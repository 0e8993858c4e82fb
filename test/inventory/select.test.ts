import { describe, expect, it } from 'vitest';
import { matchesSelector } from '../../src/spec/selector.js';

const target = (labels: Record<string, string>) => ({ labels });

describe('matchesSelector', () => {
  it('matches when every selector label has the same value', () => {
    expect(matchesSelector(target({ role: 'edge', zone: 'a' }), { role: 'edge' })).toBe(true);
    expect(matchesSelector(target({ role: 'edge', zone: 'a' }), { role: 'edge', zone: 'a' })).toBe(true);
  });

  it('does not match a missing label or a different value (case-sensitive)', () => {
    expect(matchesSelector(target({ role: 'edge' }), { role: 'edge', zone: 'a' })).toBe(false);
    expect(matchesSelector(target({ role: 'Edge' }), { role: 'edge' })).toBe(false);
  });

  it('an empty selector matches every target', () => {
    expect(matchesSelector(target({}), {})).toBe(true);
  });

  it('only counts the target’s own labels', () => {
    expect(matchesSelector(target({}), { constructor: 'function Object() { [native code] }' })).toBe(false);
    expect(matchesSelector(target({}), { toString: '' })).toBe(false);
  });
});
