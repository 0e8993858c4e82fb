/**
 * Public API of the spec module: parse and validate `rollouts/<name>.yaml`
 * with positions, normalize it, and the helpers other modules use for
 * durations, sizes, thresholds and templates.
 */
export { formatIssue, type Issue } from './issue.js';
export * from './types.js';
export { parseSpec, readSpecFile, loadSpec, MAX_ALIAS_COUNT, type ParseResult, type LoadSpecOptions } from './parse.js';
export { normalizeSpec, normalizeStep, normalizeStrategy, normalizeLabels } from './normalize.js';
export { checkSpecRules, matchesSelector, tierMembership } from './rules.js';
export { tierSteps, missingSteps, STEP_NAMES, REQUIRED_STEP_NAMES } from './steps.js';
export type { SpecProblem } from './problem.js';
export { SpecValidationError } from './validation-error.js';
export {
  WrittenRolloutSpecSchema,
  KNOWN_PROVIDER_TYPES,
  SEMVER_PATTERN,
  NAME_PATTERN,
  type KnownProviderType,
  type WrittenRolloutSpec,
  type WrittenStep,
  type WrittenStrategy,
  type WrittenMetric,
} from './schema.js';
export {
  parseDuration,
  formatDuration,
  isDuration,
  DURATION_PATTERN,
  POSITIVE_DURATION_PATTERN,
  DURATION_EXPECTED,
} from './duration.js';
export {
  parseSize,
  formatSize,
  parsePercent,
  PERCENT_PATTERN,
  PERCENT_OR_ZERO_PATTERN,
  INCREASE_PATTERN,
  type SizeOptions,
  type PercentRange,
} from './size.js';
export { parseThreshold, formatThreshold, THRESHOLD_OPERATORS, THRESHOLD_PATTERN } from './threshold.js';
export {
  STEP_PLACEHOLDERS,
  HOOK_PLACEHOLDERS,
  QUERY_PLACEHOLDERS,
  findPlaceholders,
  findUnknownPlaceholders,
  isKnownPlaceholder,
  describePlaceholders,
  labelPlaceholders,
  templatePattern,
  type TemplateContext,
  type Placeholder,
} from './placeholders.js';
export * from './defaults.js';
export { formatPath, type PathSegment } from './locate.js';
export { createRolloutJsonSchema, renderRolloutJsonSchema, ROLLOUT_SCHEMA_PATH } from './json-schema.js';
