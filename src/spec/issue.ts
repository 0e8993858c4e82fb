/**
 * A problem found in a spec, inventory or state file, with its location.
 * Rendered as `file:line:col field.path: message (expected …, got …)`.
 */
export interface Issue {
  /** File path as given to the parser. */
  file: string;
  /** 1-based line; 0 when the problem has no position (e.g. an empty file). */
  line: number;
  /** 1-based column; 0 when unknown. */
  col: number;
  /** Field path like `tiers[0].strategy.canary`; `''` for the document itself. */
  path: string;
  message: string;
  expected?: string;
  got?: string;
  severity: 'error' | 'warning';
}

/** Renders an issue the way the CLI and annotations show it. */
export function formatIssue(issue: Issue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  const path = issue.path === '' ? '' : ` ${issue.path}:`;
  const detail: string[] = [];
  if (issue.expected !== undefined) detail.push(`expected ${issue.expected}`);
  if (issue.got !== undefined) detail.push(`got ${issue.got}`);
  const tail = detail.length > 0 ? ` (${detail.join(', ')})` : '';
  const sev = issue.severity === 'warning' ? ' warning:' : '';
  return `${where}${path}${sev} ${issue.message}${tail}`;
}
