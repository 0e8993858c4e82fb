/**
 * Fills a metric's query template for one cohort and window. Pure.
 *
 * | placeholder | value |
 * |---|---|
 * | `{{targets}}`, `{{targets.ids}}` | ids of the measured targets joined by `|` (as written) |
 * | `{{targets.addresses}}` | their addresses joined by `|` (as written) |
 * | `{{targets.regex}}` | their addresses as a regex alternation with metacharacters escaped, ready for a double-quoted PromQL string: `127\\.0\\.0\\.1:8001|127\\.0\\.0\\.1:8002` |
 * | `{{targets.idsRegex}}` | the same for the ids |
 * | `{{baseline}}`, `{{baseline.ids}}`, `{{baseline.addresses}}`, `{{baseline.regex}}`, `{{baseline.idsRegex}}` | the same for the baseline cohort (targets still on the old version) |
 * | `{{window}}` | the window length as a Prometheus duration: `5m`, `90s`, `1500ms` |
 *
 * PromQL matches `=~` regexes against the whole label value (anchored), and
 * so does the `scrape` provider, so `instance=~"{{targets.regex}}"` selects
 * exactly the cohort. When the baseline is measured with `baseline: {cohort:
 * stable}`, the same template is rendered with the baseline cohort as
 * `{{targets}}`.
 */
import { QUERY_PLACEHOLDERS } from '../spec/placeholders.js';
import { ConfigurationError } from '../errors.js';
import type { Target } from '../spec/types.js';

/** What a query is rendered for. */
export interface QueryContext {
  /** The targets being measured (`{{targets…}}`). */
  targets: readonly Target[];
  /** The baseline cohort (`{{baseline…}}`); empty or absent renders as an empty string. */
  baseline?: readonly Target[];
  /** Length of the (sub-)window measured, in milliseconds (`{{window}}`). */
  windowMs: number;
}

/** Placeholder names a query may use, for messages and docs. */
export const QUERY_TEMPLATE_NAMES = QUERY_PLACEHOLDERS;

const PLACEHOLDER = /\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g;

/**
 * Escapes regular-expression metacharacters (RE2 and JavaScript share them),
 * then doubles every backslash so the result can sit inside a double-quoted
 * PromQL (or scrape query) string: `127.0.0.1:80` → `127\\.0\\.0\\.1:80`.
 */
export function escapeRegexForQuery(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\/g, '\\\\');
}

/** The alternation `a|b|c` of escaped values (see {@link escapeRegexForQuery}). */
export function regexAlternation(values: readonly string[]): string {
  return values.map(escapeRegexForQuery).join('|');
}

/**
 * Formats milliseconds as a Prometheus duration in the largest unit that
 * divides it exactly: `300000` → `5m`, `90000` → `90s`, `1500` → `1500ms`,
 * `7200000` → `2h`. Fractions are rounded to a whole millisecond; at least `1ms`.
 */
export function formatPromDuration(ms: number): string {
  const whole = Math.max(1, Math.round(ms));
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (whole % size === 0) return `${whole / size}${unit}`;
  }
  return `${whole}ms`;
}

function cohortValue(field: string, targets: readonly Target[]): string | undefined {
  switch (field) {
    case '':
    case 'ids':
      return targets.map((t) => t.id).join('|');
    case 'addresses':
      return targets.map((t) => t.address).join('|');
    case 'regex':
      return regexAlternation(targets.map((t) => t.address));
    case 'idsRegex':
      return regexAlternation(targets.map((t) => t.id));
    default:
      return undefined;
  }
}

/**
 * Renders a query template.
 *
 * @throws ConfigurationError naming an unknown placeholder and listing the known ones.
 */
export function renderQuery(template: string, ctx: QueryContext): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    let value: string | undefined;
    if (name === 'window') value = formatPromDuration(ctx.windowMs);
    else if (name === 'targets' || name.startsWith('targets.'))
      value = cohortValue(name.slice('targets.'.length), ctx.targets);
    else if (name === 'baseline' || name.startsWith('baseline.'))
      value = cohortValue(name.slice('baseline.'.length), ctx.baseline ?? []);
    if (value === undefined) {
      throw new ConfigurationError(
        `query placeholder {{${name}}} is unknown; known: ${QUERY_TEMPLATE_NAMES.map((n) => `{{${n}}}`).join(', ')}`,
      );
    }
    return value;
  });
}
