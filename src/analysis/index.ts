/**
 * The analysis module's public surface: providers measure, assessors decide,
 * `analyzeWindow` runs one wave's window. See `docs/analysis.md`.
 */
export {
  analyzeWindow,
  beginAnalysisWindow,
  defaultBeforeWindow,
  formatMeasurements,
  mapToBefore,
  planEvaluations,
} from './analyze.js';
export {
  assessAnalysis,
  assessMeasurement,
  assessMetric,
  combineMetricAssessments,
  relativeChangePercent,
  satisfiesThreshold,
  STATISTICAL_ALPHA,
} from './assess.js';
export type {
  AnalysisAssessment,
  AnalyzeOptions,
  AssessedMeasurement,
  Comparison,
  MetricAssessment,
  Observation,
  StatisticalClass,
} from './extra-types.js';
export { describeThreshold, formatValue } from './messages.js';
export { createProvider, getProviderTypes } from './providers/index.js';
export {
  renderQuery,
  formatPromDuration,
  escapeRegexForQuery,
  QUERY_TEMPLATE_NAMES,
  type QueryContext,
} from './query.js';
export type * from './types.js';
