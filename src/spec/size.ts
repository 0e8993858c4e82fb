/**
 * Sizes (canary, waves, maxUnavailable, rollback waves) and percents.
 *
 * A size is written as a whole count (`5`), a percent string (`"20%"`) or
 * `auto` (the fleet-size table of seed 000). Percents are kept as **percent
 * numbers** (20 means 20 %), never ratios.
 */
import { ConfigurationError } from '../errors.js';
import type { Size } from './types.js';

/** Percent in (0, 100], decimals allowed: `"20%"`, `"0.5%"`, `"100%"`. Regex source, no flags. */
export const PERCENT_PATTERN = String.raw`^(?:100(?:\.0+)?|[1-9]\d?(?:\.\d+)?|0?\.(?=\d*[1-9])\d+)%$`;

/** Percent in [0, 100]: `"0%"`, `"2.5%"`, `"100%"` (failure tolerance). Regex source, no flags. */
export const PERCENT_OR_ZERO_PATTERN = String.raw`^(?:100(?:\.0+)?|[1-9]?\d(?:\.\d+)?)%$`;

/** Percent ≥ 0 with no upper bound: `"0%"` (no increase at all, seed 000), `"10%"`, `"250%"` (a relative increase). Regex source, no flags. */
export const INCREASE_PATTERN = String.raw`^\d+(?:\.\d+)?%$`;

/** How a percent may be bounded, for {@link parsePercent}. */
export type PercentRange = 'size' | 'tolerance' | 'increase';

const PERCENT_RES: Record<PercentRange, RegExp> = {
  size: new RegExp(PERCENT_PATTERN),
  tolerance: new RegExp(PERCENT_OR_ZERO_PATTERN),
  increase: new RegExp(INCREASE_PATTERN),
};

const RANGE_TEXT: Record<PercentRange, string> = {
  size: 'a percent above 0 and at most 100, like "20%"',
  tolerance: 'a percent from 0 to 100, like "10%"',
  increase: 'a percent ≥ 0, like "10%" ("0%" = no increase)',
};

/**
 * Parses `"20%"` into the percent number `20`.
 * @param range - `size`: 0 < p ≤ 100 (default); `tolerance`: 0 ≤ p ≤ 100; `increase`: p ≥ 0.
 * @throws ConfigurationError when the text is not a percent in that range.
 */
export function parsePercent(text: string, range: PercentRange = 'size'): number {
  const trimmed = text.trim();
  if (!PERCENT_RES[range].test(trimmed)) {
    throw new ConfigurationError(`invalid percent ${JSON.stringify(text)}: expected ${RANGE_TEXT[range]}`);
  }
  return Number(trimmed.slice(0, -1));
}

/** Options for {@link parseSize}. */
export interface SizeOptions {
  /** Smallest count allowed (0 for a canary, where 0 means no canary; otherwise 1). Default 1. */
  minCount?: 0 | 1;
  /** Whether `auto` is allowed (default true). */
  allowAuto?: boolean;
}

/**
 * Parses a written size: a whole number (count), `"N%"` (0 < N ≤ 100) or `"auto"`.
 * A string of digits (`"5"`, e.g. from a CLI flag) is a count.
 * @throws ConfigurationError naming the accepted forms when the value is none of them.
 */
export function parseSize(value: string | number, options: SizeOptions = {}): Size {
  const minCount = options.minCount ?? 1;
  const allowAuto = options.allowAuto ?? true;
  const forms = `a count ≥ ${minCount}, a percent like "20%"${allowAuto ? ' or "auto"' : ''}`;
  const fail = (): never => {
    throw new ConfigurationError(`invalid size ${JSON.stringify(value)}: expected ${forms}`);
  };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < minCount) fail();
    return { kind: 'count', value };
  }
  const text = value.trim();
  if (text === 'auto') return allowAuto ? { kind: 'auto' } : fail();
  if (/^\d+$/.test(text)) return parseSize(Number(text), options);
  if (!PERCENT_RES.size.test(text)) fail();
  return { kind: 'percent', value: Number(text.slice(0, -1)) };
}

/** Formats a size the way a spec writes it: `5`, `"20%"`, `"auto"`. */
export function formatSize(size: Size): string {
  switch (size.kind) {
    case 'count':
      return String(size.value);
    case 'percent':
      return `${size.value}%`;
    case 'auto':
      return 'auto';
  }
}
