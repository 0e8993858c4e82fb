/**
 * Building blocks of the providers' settings schemas (zod, as the spec schema
 * is): every provider declares its settings in `<provider>-settings.ts`, and
 * `src/spec/schema.ts` builds `analysis.provider` — and so
 * `schema/rollout.schema.json` and `fleetgate validate` — from them, so a typo
 * fails at its line and column. Only checks JSON Schema can express; the
 * provider's own parser still validates what needs the environment
 * (`${VAR}` expansion, secrets).
 */
import { z } from 'zod';
import { DURATION_EXPECTED, POSITIVE_DURATION_PATTERN } from '../../spec/duration.js';
import { e, settings } from '../../spec/explain.js';

export { e, settings };

/** A duration above zero: `"30s"`, or a number of seconds. */
export function positiveDuration() {
  const err = e('must be a duration above zero', DURATION_EXPECTED);
  return z.union([z.string(err).regex(new RegExp(POSITIVE_DURATION_PATTERN), err), z.number(err).positive(err)], err);
}

/** A whole number in [min, max]. */
export function wholeNumber(min: number, max: number) {
  const err = e('must be a whole number', `a whole number from ${min} to ${max}`);
  return z.number(err).int(err).min(min, err).max(max, err);
}

const ENV_NAME_PATTERN = String.raw`^[A-Za-z_][A-Za-z0-9_]*$`;
const HEADER_NAME_PATTERN = String.raw`^[!#$%&'*+.^_` + '`' + String.raw`|~0-9A-Za-z-]+$`;

/** The NAME of an environment variable that holds a secret (the spec never holds the secret). */
export function envName() {
  const err = e('must be an environment variable name', 'letters, digits and _, not starting with a digit');
  return z.string(err).regex(new RegExp(ENV_NAME_PATTERN), err);
}

/** Extra request headers: names to values (values may use `${VAR}`; expanded values are masked). */
export function headers() {
  return z.record(
    z.string().regex(new RegExp(HEADER_NAME_PATTERN), e('must be an HTTP header name', 'letters, digits and -')),
    z.string(e('must be a header value', 'a string (${VAR} is read from the environment)')),
    e('must be a map of header names to values', 'a map like {x-scope-orgid: tenant-1}'),
  );
}

/** Retry settings every provider shares: timeout per attempt, retries, backoff. */
export function retrySettings(defaults: { timeout: string; retries: number; backoff: string }) {
  return {
    timeout: positiveDuration()
      .optional()
      .describe(`Time allowed per request (default ${defaults.timeout}).`)
      .meta({ default: defaults.timeout }),
    retries: wholeNumber(0, 10)
      .optional()
      .describe(`Retries after a failed request (default ${defaults.retries}).`)
      .meta({ default: defaults.retries }),
    backoff: positiveDuration()
      .optional()
      .describe(`Wait before the first retry, doubled each time (default ${defaults.backoff}).`)
      .meta({ default: defaults.backoff }),
  };
}
