/**
 * Absolute metric thresholds written as `"< 0.01"`, `"<= 30"`, `">= 0.99"`,
 * `"== 0"`, `"!= 1"`: the measured value must satisfy the comparison to pass.
 */
import { ConfigurationError } from '../errors.js';
import type { AbsoluteThreshold } from './types.js';

/** Comparison operators, longest first so `<=` is not read as `<`. */
export const THRESHOLD_OPERATORS = ['<=', '>=', '==', '!=', '<', '>'] as const;

/** Regex source (no flags) of a written threshold: operator, optional spaces, a decimal number. */
export const THRESHOLD_PATTERN = String.raw`^\s*(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$`;

const THRESHOLD_RE = new RegExp(THRESHOLD_PATTERN);

/**
 * Parses `"< 0.01"` into `{op: '<', value: 0.01}`.
 * @throws ConfigurationError when the text is not `<op> <number>`.
 */
export function parseThreshold(text: string): AbsoluteThreshold {
  const match = THRESHOLD_RE.exec(text);
  if (match === null) {
    throw new ConfigurationError(
      `invalid threshold ${JSON.stringify(text)}: expected an operator (${THRESHOLD_OPERATORS.join(' ')}) and a number, like "< 0.01"`,
    );
  }
  return { op: match[1] as AbsoluteThreshold['op'], value: Number(match[2]) };
}

/** Formats a threshold as written: `"< 0.01"`. */
export function formatThreshold(threshold: AbsoluteThreshold): string {
  return `${threshold.op} ${threshold.value}`;
}
