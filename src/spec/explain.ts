/**
 * Zod issues carry one message string. Fleetgate's issues carry a message, the
 * expected form and what was found. The schema packs the parts into the zod
 * message with {@link explain}; the issue mapper unpacks them with
 * {@link unexplain}. Internal to `src/spec` (and the providers' settings schemas).
 */
import { z } from 'zod';

const SEPARATOR = '\u001f';

/** The parts of an explained message. */
export interface Explanation {
  message: string;
  expected?: string;
}

/** Packs a message with the expected form into one string (what was found is added by the issue mapper). */
export function explain(message: string, expected?: string): string {
  return [message, expected ?? ''].join(SEPARATOR);
}

/** Unpacks a string made by {@link explain}; `undefined` for any other message (zod's own). */
export function unexplain(text: string): Explanation | undefined {
  if (!text.includes(SEPARATOR)) return undefined;
  const [message = '', expected = ''] = text.split(SEPARATOR);
  const out: Explanation = { message };
  if (expected !== '') out.expected = expected;
  return out;
}

/** `{ error }` option carrying an explained message (zod's per-check error option). */
export function e(message: string, expected?: string): { error: string } {
  return { error: explain(message, expected) };
}

/**
 * A strict map of settings: an unknown key is an error naming the known ones, a value that
 * is not a map says which map was expected (`what`: `slo`, `schedule`, `prometheus`, …).
 */
export function settings<S extends z.core.$ZodLooseShape>(what: string, shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return explain(`unknown ${what} setting`, `one of ${known}`);
      if (issue.code === 'invalid_type') return explain(`must be a map of ${what} settings`, `a map with ${known}`);
      return undefined;
    },
  });
}
