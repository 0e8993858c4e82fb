/** How the alert gate's evidence reads for people (`status`, the job summary): plain text, rounded nothing (the state has it all). */
import type { AlertsCheck, FiringAlertRecord } from './types.js';

/** `HighErrorRate{instance="127.0.0.1:8080",severity="critical"} since 2026-12-03T06:00:00.000Z (t-1)`. */
export function formatFiringAlert(a: FiringAlertRecord): string {
  const labels = Object.entries(a.labels)
    .filter(([k]) => k !== 'alertname')
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  const targets = a.targets && a.targets.length > 0 ? ` (${a.targets.join(', ')})` : '';
  return `${a.name || '(no alertname)'}{${labels}} since ${a.startsAt}${targets}`;
}

/** The checks recorded for a wave, in the order they ran. */
export function alertChecksOf(wave: { alerts?: { before?: AlertsCheck; after?: AlertsCheck } }): AlertsCheck[] {
  return [wave.alerts?.before, wave.alerts?.after].filter((c): c is AlertsCheck => c !== undefined);
}
