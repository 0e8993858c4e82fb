/**
 * The scheduled drift check's GitHub side: one issue per rollout, labelled
 * {@link DRIFT_LABEL} and found again by a hidden marker, opened when targets report
 * something other than what the state says they run, updated while they do (only when
 * the report changed), and closed with a comment once they agree again.
 */
import type { DriftReport } from '../app/drift.js';
import { code, escapeMarkdown } from './markdown.js';
import type { IssueInfo, RolloutScm } from './scm.js';

/** The label every drift issue carries (GitHub creates it with the first issue). */
export const DRIFT_LABEL = 'fleetgate-drift';

/** Rows of drifted targets listed in the issue body; the rest are counted. */
export const DRIFT_ROWS_SHOWN = 100;

/** The hidden marker that ties an issue to one rollout. */
export function driftMarker(rollout: string): string {
  return `<!-- fleetgate-drift:${rollout} -->`;
}

/** What {@link syncDriftIssue} did. */
export type DriftIssueAction = 'opened' | 'updated' | 'unchanged' | 'closed' | 'none';

/** The issue title for a drift report. */
export function driftTitle(report: DriftReport): string {
  return `Fleetgate: ${report.rollout} has drifted (${report.drifted.length} of ${report.checked} targets)`;
}

/** The issue body: the marker, what drifted, and how to go on. */
export function driftBody(report: DriftReport, spec: string, runUrl?: string): string {
  const rows = report.drifted
    .slice(0, DRIFT_ROWS_SHOWN)
    .map(
      (d) =>
        `| ${escapeMarkdown(d.target)} | ${escapeMarkdown(d.expected ?? '?')}${
          d.expectedConfig !== undefined ? `, config ${escapeMarkdown(d.expectedConfig)}` : ''
        } | ${d.reported !== undefined ? escapeMarkdown(d.reported) : `no answer: ${escapeMarkdown(d.message ?? '')}`}${
          d.expectedConfig !== undefined ? `, config ${escapeMarkdown(d.reportedConfig ?? 'none')}` : ''
        } |`,
    );
  const more = report.drifted.length - rows.length;
  return [
    driftMarker(report.rollout),
    `${report.drifted.length} of ${report.checked} targets of ${code(spec)} do not report the version the rollout's state says they run.`,
    '',
    '| target | state says | target reports |',
    '|---|---|---|',
    ...rows,
    ...(more > 0 ? [``, `… and ${more} more (${code(`fleetgate drift ${spec}`)} lists them all).`] : []),
    '',
    'Someone or something changed these targets outside Fleetgate, or a change did not stick. ' +
      `Put them back (${code(`fleetgate rollback ${spec} --to <version>`)} for a version the fleet ran), or make the spec say what should run and roll it out. ` +
      'This issue closes itself when every target agrees with the state again.',
    ...(runUrl ? ['', `Checked by ${runUrl}.`] : []),
  ].join('\n');
}

/**
 * Opens, updates or closes the rollout's drift issue for `report`.
 * @returns what it did and the issue (absent for `none`: no drift and no issue open)
 * @throws GitHubApiError
 */
export async function syncDriftIssue(
  scm: RolloutScm,
  report: DriftReport,
  opts: { spec: string; runUrl?: string },
): Promise<{ action: DriftIssueAction; issue?: IssueInfo }> {
  const marker = driftMarker(report.rollout);
  const open = (await scm.listIssues(DRIFT_LABEL, 'open')).find((i) => i.body.includes(marker));
  if (report.drifted.length === 0) {
    if (!open) return { action: 'none' };
    await scm.createIssueComment(
      open.number,
      `All ${report.checked} targets of ${code(opts.spec)} report the version the state says they run again.${opts.runUrl ? ` Checked by ${opts.runUrl}.` : ''}`,
    );
    return { action: 'closed', issue: await scm.updateIssue(open.number, { state: 'closed' }) };
  }
  const title = driftTitle(report);
  const body = driftBody(report, opts.spec);
  if (!open) {
    return {
      action: 'opened',
      issue: await scm.createIssue({ title, body: driftBody(report, opts.spec, opts.runUrl), labels: [DRIFT_LABEL] }),
    };
  }
  // The run link changes every time: compare without it, so an unchanged report writes nothing.
  if (open.title === title && open.body.replace(/\n\nChecked by \S+\.$/, '') === body)
    return { action: 'unchanged', issue: open };
  return {
    action: 'updated',
    issue: await scm.updateIssue(open.number, { title, body: driftBody(report, opts.spec, opts.runUrl) }),
  };
}
