import { ConfigurationError } from '../errors.js';
import type { Issue } from './issue.js';

/**
 * A spec file failed validation. `issues` holds every error (each with file,
 * line and column); `warnings` what was found besides. The message is one
 * line (`rollouts/x.yaml: 3 problems in the rollout spec`): print the issues
 * with `formatIssue`. A `ConfigurationError`, so the CLI exits 1.
 */
export class SpecValidationError extends ConfigurationError {
  readonly file: string;
  readonly issues: Issue[];
  readonly warnings: Issue[];

  constructor(file: string, issues: Issue[], warnings: Issue[] = []) {
    super(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the rollout spec`);
    this.name = SpecValidationError.name;
    this.file = file;
    this.issues = issues;
    this.warnings = warnings;
  }
}
