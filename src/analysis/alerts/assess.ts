/**
 * The alert gate's decision, pure: Alertmanager's answer (or why there was
 * none) and the selector rendered per target in, the check with its evidence
 * out. A firing alert that matches fails the check; no answer is
 * `inconclusive`, never a pass.
 */
import { formatMatchers, matchesAll, type Matcher } from '../../spec/matchers.js';
import { MAX_RECORDED_ALERTS, type AlertsCheck, type FiringAlertRecord } from './types.js';

/** An alert as the v2 API returns it (only what is read). */
export interface ApiAlert {
  labels: Record<string, string>;
  startsAt: string;
  fingerprint?: string;
  /** `active`, `suppressed` or `unprocessed`. */
  state?: string;
}

export interface AlertsCheckInput {
  when: 'before' | 'after';
  /** Which wave, for the message. */
  wave: string;
  action: 'fail' | 'pause';
  selector: string;
  /** The `filter=` matchers as sent. */
  filter: string[];
  /**
   * The selector rendered for each target it covers, or one entry with `target` absent when it
   * does not depend on the target.
   */
  rendered: { target?: string; matchers: Matcher[] }[];
  /** Alertmanager's answer (active, not silenced, not inhibited alerts), or why there is none. */
  answer: { ok: true; alerts: ApiAlert[] } | { ok: false; message: string; notAsked?: boolean };
  /**
   * Alerts an operator's `continue` accepted after an earlier check showed them (keys from
   * {@link alertKey}): not counted again. A new alert, or the same one firing anew, counts.
   */
  accepted?: ReadonlySet<string>;
  /** Where Alertmanager is (redacted), for the message. */
  where: string;
  /** ISO time of the decision. */
  at: string;
}

const MAX_TARGETS_PER_ALERT = 5;
const MAX_NAMED = 3;

/** `HighErrorRate{instance="10.0.0.1:80"} since 2026-12-03T06:00:00Z`. */
function describeAlert(a: FiringAlertRecord): string {
  const labels = Object.entries(a.labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${a.name || '(no alertname)'}{${labels}} since ${a.startsAt}`;
}

/** What identifies one firing of an alert: its fingerprint (or labels) and when it started. */
export function alertKey(a: { labels: Record<string, string>; startsAt: string; fingerprint?: string }): string {
  const id = a.fingerprint ?? JSON.stringify(Object.entries(a.labels).sort(([x], [y]) => x.localeCompare(y)));
  return `${id}@${a.startsAt}`;
}

/**
 * Decides one check of the alert gate.
 * @returns the check: `fail` when a firing alert matches the selector for some target (or at
 *   all, when the selector does not depend on the target), `inconclusive` when Alertmanager did
 *   not answer, else `pass`; the matching alerts recorded oldest first, at most 20.
 */
export function assessAlerts(input: AlertsCheckInput): AlertsCheck {
  const base = {
    at: input.at,
    when: input.when,
    action: input.action,
    selector: input.selector,
    filter: input.filter,
    targets: input.rendered.filter((r) => r.target !== undefined).length,
  };
  const moment =
    input.when === 'before' ? `before ${input.wave} starts` : `at the end of ${input.wave}'s observation window`;
  if (!input.answer.ok) {
    return {
      ...base,
      verdict: 'inconclusive',
      ...(input.answer.notAsked ? { notAsked: true } : {}),
      message: input.answer.notAsked
        ? `the alert gate could not ask Alertmanager ${moment}: ${input.answer.message} (the alert gate never passes without an answer)`
        : `Alertmanager at ${input.where} did not answer ${moment}: ${input.answer.message} (the alert gate never passes without an answer)`,
      firing: 0,
      alerts: [],
    };
  }
  const matched: FiringAlertRecord[] = [];
  let accepted = 0;
  for (const alert of input.answer.alerts) {
    if (alert.state !== undefined && alert.state !== 'active') continue;
    const targets = input.rendered.filter((r) => matchesAll(r.matchers, alert.labels));
    if (targets.length === 0) continue;
    if (input.accepted?.has(alertKey(alert))) {
      accepted++;
      continue;
    }
    const ids = targets.flatMap((t) => (t.target === undefined ? [] : [t.target]));
    matched.push({
      name: alert.labels.alertname ?? '',
      labels: { ...alert.labels },
      startsAt: alert.startsAt,
      ...(alert.fingerprint !== undefined ? { fingerprint: alert.fingerprint } : {}),
      ...(ids.length > 0 ? { targets: ids.slice(0, MAX_TARGETS_PER_ALERT) } : {}),
    });
  }
  matched.sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.name.localeCompare(b.name));
  const shown = formatMatchers(input.rendered[0]?.matchers ?? []);
  const selector = input.rendered.some((r) => r.target !== undefined) ? input.selector : shown;
  const acceptedNote =
    accepted > 0 ? ` (${accepted} more, accepted by a continue after an earlier check, not counted)` : '';
  if (matched.length === 0) {
    return {
      ...base,
      verdict: 'pass',
      message: `no firing alert matches ${selector} ${moment}${acceptedNote}`,
      firing: 0,
      alerts: [],
    };
  }
  const named = matched.slice(0, MAX_NAMED).map(describeAlert).join('; ');
  const more = matched.length > MAX_NAMED ? `; and ${matched.length - MAX_NAMED} more` : '';
  return {
    ...base,
    verdict: 'fail',
    message: `${matched.length} firing alert(s) match ${selector} ${moment}: ${named}${more}${acceptedNote}`,
    firing: matched.length,
    alerts: matched.slice(0, MAX_RECORDED_ALERTS),
  };
}
