/**
 * Durations as people write them in specs and CLI flags, and as the program
 * uses them (milliseconds).
 *
 * Written forms: a string of one or more `<number><unit>` parts, units `ms`,
 * `s`, `m`, `h`, `d` (`"300ms"`, `"5s"`, `"15m"`, `"1h30m"`, `"1.5h"`), or a
 * bare number meaning **seconds** (`30`, `0.5`, or the string `"30"`).
 */
import { ConfigurationError } from '../errors.js';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const PART = String.raw`\d+(?:\.\d+)?(?:ms|s|m|h|d)`;
const BARE = String.raw`\d+(?:\.\d+)?`;

/**
 * Regular expression source (no flags) for a written duration string, zero allowed.
 * Shared by the zod schema and the generated JSON Schema (`pattern`).
 */
export const DURATION_PATTERN = String.raw`^(?:(?:${PART})+|${BARE})$`;

/** Like {@link DURATION_PATTERN} but the duration must be above zero (some digit 1-9 appears). */
export const POSITIVE_DURATION_PATTERN = String.raw`^(?=.*[1-9])(?:(?:${PART})+|${BARE})$`;

const DURATION_RE = new RegExp(DURATION_PATTERN);
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** What {@link parseDuration} accepts, for messages. */
export const DURATION_EXPECTED = 'a duration like "300ms", "30s", "15m", "1h30m" or a number of seconds';

/**
 * Parses a written duration into **milliseconds** (rounded to a whole millisecond).
 *
 * - `number`: seconds (`30` → 30000, `0.5` → 500).
 * - `string`: `<number><unit>` parts summed (`"1h30m"` → 5400000, `"300ms"` → 300),
 *   or digits only, meaning seconds (`"30"` → 30000, handy for CLI flags).
 *
 * @throws ConfigurationError when the value is negative, not finite or not in one of these forms.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new ConfigurationError(`invalid duration ${String(value)}: expected ${DURATION_EXPECTED}`);
    }
    return Math.round(value * 1000);
  }
  const text = value.trim();
  if (!DURATION_RE.test(text)) {
    throw new ConfigurationError(`invalid duration ${JSON.stringify(value)}: expected ${DURATION_EXPECTED}`);
  }
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  let total = 0;
  for (const match of text.matchAll(PART_RE)) {
    total += Number(match[1]) * UNIT_MS[match[2] as Unit];
  }
  if (!Number.isFinite(total)) {
    throw new ConfigurationError(`invalid duration ${JSON.stringify(value)}: too long`);
  }
  return Math.round(total);
}

/**
 * Formats milliseconds the way specs write durations: largest units first,
 * zero parts left out (`5400000` → `"1h30m"`, `1500` → `"1s500ms"`,
 * `300` → `"300ms"`, `0` → `"0s"`, `90061000` → `"1d1h1m1s"`).
 * Fractions of a millisecond are rounded. The result parses back with
 * {@link parseDuration} to the same (rounded) number.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.round(Math.abs(ms));
  const sign = ms < 0 && rest > 0 ? '-' : '';
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return sign + parts.join('');
}
