/**
 * The written `alerts` section → the `AlertsSpec` the program uses (durations
 * in ms, defaults filled in), and the rules the schema cannot express (the
 * matcher syntax), reported with the field's path so `parse.ts` locates them.
 */
import type { WrittenAlerts } from '../analysis/providers/alertmanager-settings.js';
import { parseDuration } from './duration.js';
import { parseMatchers } from './matchers.js';
import { labelPlaceholders } from './placeholders.js';
import type { SpecProblem } from './problem.js';
import type { AlertsSpec, Target } from './types.js';

/** How long a silence lasts when `silence.duration` is omitted: an upper bound, it is expired as soon as the target is back. */
export const DEFAULT_SILENCE_DURATION = '30m';
/** The matcher naming the target in its silence when `silence.matchers` is omitted. */
export const DEFAULT_SILENCE_MATCHERS = 'instance="{{target.address}}"';
/** What a firing alert does when `action` is omitted: pause for a person. */
export const DEFAULT_ALERT_ACTION = 'pause';
/** Alertmanager request defaults: 10 s per request, 2 retries from 500 ms. */
export const ALERTMANAGER_DEFAULTS = { timeout: '10s', retries: 2, backoff: '500ms' } as const;

/** Applies the defaults of the `alerts` section (10 s per request, 2 retries from 500 ms; pause; silences of 30 m naming `instance`). */
export function normalizeAlerts(written: WrittenAlerts): AlertsSpec {
  const am = written.alertmanager;
  const out: AlertsSpec = {
    alertmanager: {
      url: am.url,
      headers: { ...(am.headers ?? {}) },
      timeoutMs: parseDuration(am.timeout ?? ALERTMANAGER_DEFAULTS.timeout),
      retries: am.retries ?? ALERTMANAGER_DEFAULTS.retries,
      backoffMs: parseDuration(am.backoff ?? ALERTMANAGER_DEFAULTS.backoff),
      ...(am.bearerTokenEnv !== undefined ? { bearerTokenEnv: am.bearerTokenEnv } : {}),
    },
    select: written.select,
    action: written.action ?? DEFAULT_ALERT_ACTION,
  };
  if (written.silence !== undefined) {
    const s = written.silence === true ? {} : written.silence;
    out.silence = {
      durationMs: parseDuration(s.duration ?? DEFAULT_SILENCE_DURATION),
      matchers: s.matchers ?? DEFAULT_SILENCE_MATCHERS,
      ...(s.comment !== undefined ? { comment: s.comment } : {}),
    };
  }
  return out;
}

/**
 * Checks the matcher syntax of `alerts.select` and `alerts.silence.matchers`, and (given the
 * inline inventory's targets) that every target has the labels they read through
 * `{{target.labels.<key>}}`.
 * @returns one problem per field that does not parse or reads a label a target lacks
 */
export function checkAlertsRules(written: WrittenAlerts | undefined, targets?: readonly Target[]): SpecProblem[] {
  if (written === undefined) return [];
  const fields: { path: (string | number)[]; text: string }[] = [{ path: ['alerts', 'select'], text: written.select }];
  if (written.silence !== undefined && written.silence !== true && written.silence.matchers !== undefined)
    fields.push({ path: ['alerts', 'silence', 'matchers'], text: written.silence.matchers });
  const out: SpecProblem[] = [];
  for (const { path, text } of fields) {
    for (const key of new Set(labelPlaceholders(text))) {
      const missing = (targets ?? []).filter((t) => !Object.hasOwn(t.labels, key)).map((t) => t.id);
      if (missing.length === 0) continue;
      out.push({
        path,
        message: `uses {{target.labels.${key}}}, but ${missing.length} target(s) have no label "${key}" (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''})`,
        expected: `every target to have label ${key}`,
        severity: 'error',
      });
    }
    const parsed = parseMatchers(text);
    if (parsed.ok) continue;
    const p = parsed.problem;
    out.push({
      path,
      message: `${p.message} (at character ${p.offset + 1})`,
      expected: p.expected,
      showGot: true,
      severity: 'error',
    });
  }
  return out;
}
