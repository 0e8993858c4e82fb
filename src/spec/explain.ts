/**
 * Zod issues carry one message string. Fleetgate's issues carry a message, the
 * expected form and what was found. The schema packs the parts into the zod
 * message with {@link explain}; the issue mapper unpacks them with
 * {@link unexplain}. Internal to `src/spec`.
 */

const SEPARATOR = '\u001f';

/** The parts of an explained message. */
export interface Explanation {
  message: string;
  expected?: string;
  got?: string;
}

/** Packs a message with the expected form (and, rarely, an explicit `got`) into one string. */
export function explain(message: string, expected?: string, got?: string): string {
  return [message, expected ?? '', got ?? ''].join(SEPARATOR);
}

/** Unpacks a string made by {@link explain}; `undefined` for any other message (zod's own). */
export function unexplain(text: string): Explanation | undefined {
  if (!text.includes(SEPARATOR)) return undefined;
  const [message = '', expected = '', got = ''] = text.split(SEPARATOR);
  const out: Explanation = { message };
  if (expected !== '') out.expected = expected;
  if (got !== '') out.got = got;
  return out;
}
