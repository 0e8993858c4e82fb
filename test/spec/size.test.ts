import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { formatSize, parsePercent, parseSize } from '../../src/spec/size.js';
import { formatThreshold, parseThreshold } from '../../src/spec/threshold.js';

describe('parseSize', () => {
  it('reads counts, percents and auto', () => {
    expect(parseSize(5)).toEqual({ kind: 'count', value: 5 });
    expect(parseSize('5')).toEqual({ kind: 'count', value: 5 });
    expect(parseSize('20%')).toEqual({ kind: 'percent', value: 20 });
    expect(parseSize('0.5%')).toEqual({ kind: 'percent', value: 0.5 });
    expect(parseSize('100%')).toEqual({ kind: 'percent', value: 100 });
    expect(parseSize('auto')).toEqual({ kind: 'auto' });
  });

  it('allows a count of 0 only when asked (no canary)', () => {
    expect(parseSize(0, { minCount: 0 })).toEqual({ kind: 'count', value: 0 });
    expect(() => parseSize(0)).toThrow(/expected a count ≥ 1/);
  });

  it('refuses auto where it has no meaning (maxUnavailable)', () => {
    expect(() => parseSize('auto', { allowAuto: false })).toThrow(ConfigurationError);
  });

  it.each(['0%', '101%', '100.5%', '-5%', '20 %', 'twenty', '1.5', ''])('refuses %j', (text) => {
    expect(() => parseSize(text)).toThrow(ConfigurationError);
  });

  it.each([1.5, -1, Number.NaN])('refuses the number %d', (n) => {
    expect(() => parseSize(n)).toThrow(ConfigurationError);
  });

  it('formats back what it reads', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 1, max: 100_000 }).map(String),
          fc.integer({ min: 1, max: 100 }).map((n) => `${n}%`),
          fc.constant('auto'),
        ),
        (text) => {
          expect(formatSize(parseSize(text))).toBe(text);
        },
      ),
    );
  });
});

describe('parsePercent', () => {
  it('bounds percents by use', () => {
    expect(parsePercent('20%')).toBe(20);
    expect(() => parsePercent('0%')).toThrow(/above 0 and at most 100/);
    expect(parsePercent('0%', 'tolerance')).toBe(0);
    expect(() => parsePercent('101%', 'tolerance')).toThrow(ConfigurationError);
    expect(parsePercent('250%', 'increase')).toBe(250);
    expect(parsePercent('0%', 'increase')).toBe(0);
    expect(() => parsePercent('-1%', 'increase')).toThrow(ConfigurationError);
  });
});

describe('parseThreshold', () => {
  it.each([
    ['< 0.01', '<', 0.01],
    ['<=30', '<=', 30],
    ['>= 0.99', '>=', 0.99],
    ['== 0', '==', 0],
    ['!= -1', '!=', -1],
    ['> 1e3', '>', 1000],
  ] as const)('reads %j', (text, op, value) => {
    expect(parseThreshold(text)).toEqual({ op, value });
  });

  it.each(['0.01', '< ', '=< 1', 'about 5', '<< 1'])('refuses %j', (text) => {
    expect(() => parseThreshold(text)).toThrow(/expected an operator/);
  });

  it('formats as written', () => {
    expect(formatThreshold({ op: '<', value: 0.01 })).toBe('< 0.01');
  });
});
