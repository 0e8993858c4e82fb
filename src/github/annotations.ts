/**
 * GitHub annotations (`::error file=…,line=…,col=…,title=…::message`) through
 * `@actions/core`, so problems show on the pull request's diff at the spec's
 * line and column.
 */
import type { AnnotationProperties } from '@actions/core';
import type { Issue } from '../spec/issue.js';

/**
 * Emits one annotation per issue: `error` or `warning` at its file, line and column.
 * `@actions/core` is loaded here, on first use, so commands that never annotate start without it.
 */
export async function emitIssueAnnotations(issues: readonly Issue[]): Promise<void> {
  const core = await import('@actions/core');
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
