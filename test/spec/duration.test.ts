import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { formatDuration, parseDuration } from '../../src/spec/duration.js';

describe('parseDuration', () => {
  it.each([
    ['300ms', 300],
    ['5s', 5_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
    ['1m30s500ms', 90_500],
    ['0s', 0],
    ['30', 30_000],
    ['0.25', 250],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('reads a bare number as seconds', () => {
    expect(parseDuration(30)).toBe(30_000);
    expect(parseDuration(0.5)).toBe(500);
    expect(parseDuration(0)).toBe(0);
  });

  it('tolerates surrounding spaces (CLI flags)', () => {
    expect(parseDuration(' 15m ')).toBe(900_000);
  });

  it.each(['', '15 minutes', '1h 30m', 'm', '-5s', '5sec', '1.s', '.5s', 'PT5M'])(
    'refuses %j with a ConfigurationError naming the accepted forms',
    (text) => {
      expect(() => parseDuration(text)).toThrow(ConfigurationError);
      expect(() => parseDuration(text)).toThrow(
        /expected a duration like "300ms", "30s", "15m", "1h30m" or a number of seconds/,
      );
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses the number %d', (n) => {
    expect(() => parseDuration(n)).toThrow(ConfigurationError);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [300, '300ms'],
    [1_500, '1s500ms'],
    [30_000, '30s'],
    [900_000, '15m'],
    [5_400_000, '1h30m'],
    [90_061_000, '1d1h1m1s'],
    [-30_000, '-30s'],
    [1.6, '2ms'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration for every whole number of milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
