/**
 * GitHub annotations (`::error file=…,line=…,col=…,title=…::message`) through
 * `@actions/core`, so problems show on the pull request's diff at the spec's
 * line and column.
 */
import type * as ActionsCore from '@actions/core';
import type { AnnotationProperties } from '@actions/core';
import type { Issue } from '../spec/issue.js';

/** Annotations of one severity GitHub shows per step (more are dropped without a word). */
export const ANNOTATIONS_PER_STEP = 10;

/**
 * Emits one annotation per issue: `error` or `warning` at its file, line and column. GitHub
 * shows at most {@link ANNOTATIONS_PER_STEP} errors and as many warnings per step, so call it
 * once per step with every issue: past the cap, the first nine of a severity are annotated and
 * the tenth says how many more there are; every issue is then listed in the job summary.
 * `@actions/core` is loaded here, on first use, so commands that never annotate start without it.
 * @returns how many issues were not annotated
 */
export async function emitIssueAnnotations(issues: readonly Issue[]): Promise<number> {
  const core = await import('@actions/core');
  const bySeverity = (s: 'error' | 'warning') => issues.filter((i) => (i.severity === 'warning') === (s === 'warning'));
  let omitted = 0;
  for (const severity of ['error', 'warning'] as const) {
    const all = bySeverity(severity);
    const shown = all.length > ANNOTATIONS_PER_STEP ? all.slice(0, ANNOTATIONS_PER_STEP - 1) : all;
    annotateIssues(core, shown);
    const rest = all.length - shown.length;
    if (rest === 0) continue;
    omitted += rest;
    const note = `${rest} more ${severity === 'error' ? 'error(s)' : 'warning(s)'} not annotated (GitHub shows ${ANNOTATIONS_PER_STEP} per step): every issue is in the job summary`;
    if (severity === 'warning') core.warning(note, { title: 'fleetgate' });
    else core.error(note, { title: 'fleetgate' });
  }
  if (omitted > 0) {
    const lines = issues.map(
      (i) =>
        `- ${i.severity === 'warning' ? 'warning' : 'error'} \`${i.file}:${i.line}:${i.col}\` ${i.path}: ${i.message}`,
    );
    await core.summary.addRaw(`### Spec issues (${issues.length})\n\n${lines.join('\n')}\n`, true).write();
  }
  return omitted;
}

function annotateIssues(core: typeof ActionsCore, issues: readonly Issue[]): void {
  for (const issue of issues) {
    const detail: string[] = [];
    if (issue.expected !== undefined) detail.push(`expected ${issue.expected}`);
    if (issue.got !== undefined) detail.push(`got ${issue.got}`);
    const message = `${issue.message}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`;
    const props: AnnotationProperties = {
      title: issue.path === '' ? 'fleetgate' : `fleetgate: ${issue.path}`,
      file: issue.file,
      ...(issue.line > 0 ? { startLine: issue.line } : {}),
      ...(issue.col > 0 ? { startColumn: issue.col } : {}),
    };
    if (issue.severity === 'warning') core.warning(message, props);
    else core.error(message, props);
  }
}
