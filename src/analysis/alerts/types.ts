/**
 * What the alert gate and the silences record in the state file: the evidence
 * of each check (which alerts fired, with their labels and since when) and the
 * silences a run created and has not expired yet. Times are ISO-8601 (UTC).
 */

/** One firing alert as the state records it. */
export interface FiringAlertRecord {
  /** Its `alertname` label (`""` when it has none). */
  name: string;
  /** Every label of the alert. */
  labels: Record<string, string>;
  /** When Alertmanager says it started firing. */
  startsAt: string;
  /** Alertmanager's fingerprint of the label set. */
  fingerprint?: string;
  /** Targets whose rendered selector it matched (a selector with `{{target.*}}`), at most 5. */
  targets?: string[];
}

/** One check of the alert gate: before a wave starts, or at the end of its observation window. */
export interface AlertsCheck {
  /** When it was decided. */
  at: string;
  when: 'before' | 'after';
  /** `fail`: a matching alert fires; `inconclusive`: Alertmanager did not answer (never a pass). */
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** The spec's action at the time (what a `fail` does). */
  action: 'fail' | 'pause';
  /** The selector as written. */
  selector: string;
  /** The query as sent: the `filter=` matchers (those that do not depend on the target). */
  filter: string[];
  /** Targets the selector was rendered for (how many). */
  targets: number;
  message: string;
  /** True when Alertmanager was not asked (the selector could not be rendered): `inconclusive`. */
  notAsked?: boolean;
  /** How many firing alerts matched. */
  firing: number;
  /** The matching alerts, at most {@link MAX_RECORDED_ALERTS}, oldest first. */
  alerts: FiringAlertRecord[];
}

/** Most matching alerts one check records (the count says how many there were). */
export const MAX_RECORDED_ALERTS = 20;

/** A silence Fleetgate created for a target while it is drained and upgraded, not yet expired. */
export interface SilenceRecord {
  /** Alertmanager's silence id. */
  id: string;
  target: string;
  wave: string;
  createdAt: string;
  /** When Alertmanager ends it by itself (the upper bound, `silence.duration`). */
  endsAt: string;
}
