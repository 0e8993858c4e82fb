import { describe, expect, it } from 'vitest';
import { isValidAgentVersion, parseVersionBehaviour, versionTag } from '../../src/fleet/version-behaviour.js';

describe('parseVersionBehaviour', () => {
  it('gives a plain version the base behaviour', () => {
    expect(parseVersionBehaviour('1.2.0')).toEqual({
      broken: false,
      flaky: false,
      errorMultiplier: 1,
      latencyMultiplier: 1,
    });
  });

  it('reads the tag after the first - or +', () => {
    expect(versionTag('1.2.0-broken')).toBe('broken');
    expect(versionTag('1.2.0+slow3')).toBe('slow3');
    expect(versionTag('1.2.0')).toBe('');
    expect(parseVersionBehaviour('1.2.0-broken').broken).toBe(true);
    expect(parseVersionBehaviour('1.2.0-rc.1+build.flaky').flaky).toBe(true);
  });

  it('defaults errors/slow to 2x and reads an explicit factor', () => {
    expect(parseVersionBehaviour('1.3.0-errors').errorMultiplier).toBe(2);
    expect(parseVersionBehaviour('1.3.0-errors5').errorMultiplier).toBe(5);
    expect(parseVersionBehaviour('1.3.0-slow').latencyMultiplier).toBe(2);
    expect(parseVersionBehaviour('1.3.0-slow10').latencyMultiplier).toBe(10);
    expect(parseVersionBehaviour('1.3.0-errors0').errorMultiplier).toBe(1);
  });

  it('combines tags', () => {
    expect(parseVersionBehaviour('1.4.0-slow3.errors5')).toEqual({
      broken: false,
      flaky: false,
      errorMultiplier: 5,
      latencyMultiplier: 3,
    });
  });

  it('ignores words in the release part', () => {
    // No tag: "broken" in a non-tag position does not count.
    expect(parseVersionBehaviour('broken').broken).toBe(false);
  });
});

describe('isValidAgentVersion', () => {
  it.each(['1.0.0', '1.2.0-broken', '2024.06.1', 'v1', '1.0.0+build_7'])('accepts %s', (v) => {
    expect(isValidAgentVersion(v)).toBe(true);
  });
  it.each(['', '-1', '1.0 0', '1.0.0;rm', 'x'.repeat(129), '1/2'])('refuses %j', (v) => {
    expect(isValidAgentVersion(v)).toBe(false);
  });
});
