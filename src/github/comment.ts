/**
 * One sticky comment per pull request: found by a hidden marker, updated in
 * place, never duplicated. A body that did not change is not written again.
 */
import type { IssueComment, RolloutScm } from './scm.js';

export interface StickyResult {
  action: 'created' | 'updated' | 'unchanged';
  comment: IssueComment;
}

/**
 * The comment to update: the newest one holding `marker` written by a bot (the
 * token's identity), else the newest one holding it. Someone quoting the marker
 * in their own comment does not make us edit theirs when ours exists.
 */
export function findStickyComment(comments: readonly IssueComment[], marker: string): IssueComment | undefined {
  const marked = comments.filter((c) => c.body.includes(marker));
  return marked.filter((c) => c.user?.endsWith('[bot]')).at(-1) ?? marked.at(-1);
}

/**
 * Creates or updates the comment holding `marker` on issue or pull request `issue`.
 * `body` must contain `marker`.
 */
export async function upsertStickyComment(
  scm: RolloutScm,
  issue: number,
  marker: string,
  body: string,
): Promise<StickyResult> {
  if (!body.includes(marker)) throw new Error('sticky comment body must contain its marker');
  const existing = findStickyComment(await scm.listIssueComments(issue), marker);
  if (!existing) return { action: 'created', comment: await scm.createIssueComment(issue, body) };
  if (existing.body === body) return { action: 'unchanged', comment: existing };
  return { action: 'updated', comment: await scm.updateIssueComment(existing.id, body) };
}
