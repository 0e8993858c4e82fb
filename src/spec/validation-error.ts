import { ConfigurationError } from '../errors.js';
import { formatIssue, type Issue } from './issue.js';

/** Issues shown in the error message before "and N more". */
const MAX_MESSAGE_ISSUES = 20;

/**
 * A spec file failed validation. `issues` holds every error (each with file,
 * line and column); `warnings` what was found besides. The message lists the
 * rendered issues, so printing it is enough. A `ConfigurationError`, so the
 * CLI exits 1.
 */
export class SpecValidationError extends ConfigurationError {
  readonly file: string;
  readonly issues: Issue[];
  readonly warnings: Issue[];

  constructor(file: string, issues: Issue[], warnings: Issue[] = []) {
    const lines = issues.slice(0, MAX_MESSAGE_ISSUES).map(formatIssue);
    if (issues.length > MAX_MESSAGE_ISSUES) lines.push(`… and ${issues.length - MAX_MESSAGE_ISSUES} more`);
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the rollout spec\n${lines.join('\n')}`,
    );
    this.name = SpecValidationError.name;
    this.file = file;
    this.issues = issues;
    this.warnings = warnings;
  }
}
