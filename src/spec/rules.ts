/**
 * Rules that relate one part of a spec to another. They run once every field
 * has the right form (the schema passed), on the normalized spec, and report
 * every problem they find (no early exit). Pure: data in, problems out.
 */
import semver from 'semver';
import { checkAlertsRules } from './alerts.js';
import { checkSloRules } from './slo.js';
import { checkScheduleRules } from './schedule.js';
import { checkConfigRules } from './config.js';
import { DEFAULT_MARGINAL_SCORE, DEFAULT_PASS_SCORE } from './defaults.js';
import { checkQuorumSteps } from './quorum-rules.js';
import { checkReplaceRules } from './replace-rules.js';
import { formatDuration } from './duration.js';
import { formatPath, type PathSegment } from './locate.js';
import { labelPlaceholders } from './placeholders.js';
import type { SpecProblem } from './problem.js';
import type { WrittenRolloutSpec, WrittenStep } from './schema.js';
import type { RolloutSpec, StepSpec, Target, TierSpec } from './types.js';
import { REQUIRED_STEP_NAMES, requiredStepNames, STEP_NAMES } from './steps.js';
import { tierSelects } from './selector.js';
import { checkExplicitRules, checkExplicitTargets } from './explicit-targets.js';

/** Individual "target is in no tier" warnings before they are summed up in one. */
export const MAX_TARGET_WARNINGS = 10;
/** Target ids listed in one message before "and N more". */
const MAX_LISTED = 5;

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_LISTED).join(', ');
  return ids.length > MAX_LISTED ? `${shown} and ${ids.length - MAX_LISTED} more` : shown;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A quorum leader label's value: `"true"` in any letter case (as the planner reads it). */
export function isLeaderValue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}

function tierPath(written: WrittenRolloutSpec, index: number, ...rest: PathSegment[]): PathSegment[] {
  return written.tiers === undefined ? [] : ['tiers', index, ...rest];
}

function checkTierNames(spec: RolloutSpec, written: WrittenRolloutSpec, out: SpecProblem[]): void {
  const first = new Map<string, number>();
  spec.tiers.forEach((tier, i) => {
    const earlier = first.get(tier.name);
    if (earlier === undefined) {
      first.set(tier.name, i);
      return;
    }
    out.push({
      path: tierPath(written, i, 'name'),
      message: `tier name "${tier.name}" is already used by tiers[${earlier}]`,
      expected: 'a name no other tier has',
      severity: 'error',
    });
  });
}

/** Where target `i` of a list is written: `['inventory', 'targets', i]` in a spec, `['targets', i]` in an inventory file. */
export type TargetPathOf = (i: number) => PathSegment[];

/** Inline targets: their paths in the spec. */
const INLINE_TARGET: TargetPathOf = (i) => ['inventory', 'targets', i];

/**
 * Repeated target ids (errors, on the later one) and addresses (warnings) in a list of targets,
 * inline or loaded: the same checks for every kind of inventory.
 * @param at - where each target is written (the problems' paths start with it)
 */
export function checkTargetList(targets: readonly Target[], at: TargetPathOf): SpecProblem[] {
  const out: SpecProblem[] = [];
  const ids = new Map<string, number>();
  const addresses = new Map<string, number>();
  targets.forEach((target, i) => {
    const sameId = ids.get(target.id);
    if (sameId === undefined) ids.set(target.id, i);
    else {
      out.push({
        path: [...at(i), 'id'],
        message: `target id "${target.id}" is already used by ${formatPath(at(sameId))}`,
        expected: 'an id no other target has',
        severity: 'error',
      });
    }
    const sameAddress = addresses.get(target.address);
    if (sameAddress === undefined) addresses.set(target.address, i);
    else {
      out.push({
        path: [...at(i), 'address'],
        message: `address "${target.address}" is also the address of ${formatPath(at(sameAddress))}: the same machine would be upgraded twice`,
        severity: 'warning',
      });
    }
  });
  return out;
}

/** Which tiers (by index) select each inline target. */
export function tierMembership(targets: readonly Target[], tiers: readonly TierSpec[]): number[][] {
  return targets.map((target) => tiers.flatMap((tier, i) => (tierSelects(tier, target) ? [i] : [])));
}

/** Problems of {@link checkMembership}: about a target (where it is written) or about a tier (in the spec). */
export interface MembershipProblems {
  targets: SpecProblem[];
  spec: SpecProblem[];
}

/**
 * Judges targets against the tiers that select them, for every kind of inventory: a target in
 * no tier (warning), a target two tiers select (error, at the later tier's `select`), a tier
 * that selects nothing (warning), a second leader in a quorum tier (error).
 * @param written - the spec as written (for the tiers' paths)
 * @param at - where each target is written
 */
export function checkMembership(
  spec: RolloutSpec,
  written: WrittenRolloutSpec,
  targets: readonly Target[],
  at: TargetPathOf,
): MembershipProblems {
  const found: MembershipProblems = { targets: [], spec: [] };
  const membership = tierMembership(targets, spec.tiers);
  const unmatched = targets.flatMap((_t, i) => (membership[i]!.length === 0 ? [i] : []));
  for (const i of unmatched.slice(0, MAX_TARGET_WARNINGS)) {
    found.targets.push({
      path: [...at(i), 'id'],
      message: `target "${targets[i]!.id}" is in no tier, so this rollout never upgrades it`,
      expected: "labels that match some tier's select",
      severity: 'warning',
    });
  }
  if (unmatched.length > MAX_TARGET_WARNINGS) {
    const rest = unmatched.slice(MAX_TARGET_WARNINGS).map((i) => targets[i]!.id);
    found.targets.push({
      path: [...at(unmatched[MAX_TARGET_WARNINGS]!), 'id'],
      message: `${plural(rest.length, 'more target')} in no tier: ${listIds(rest)}`,
      severity: 'warning',
    });
  }

  // Overlaps, one problem per pair of tiers.
  const overlaps = new Map<string, string[]>();
  membership.forEach((tiers, i) => {
    for (let a = 0; a < tiers.length; a++) {
      for (let b = a + 1; b < tiers.length; b++) {
        const key = `${tiers[a]}:${tiers[b]}`;
        const ids = overlaps.get(key) ?? [];
        ids.push(targets[i]!.id);
        overlaps.set(key, ids);
      }
    }
  });
  for (const [key, ids] of overlaps) {
    const [a, b] = key.split(':').map(Number) as [number, number];
    const second = spec.tiers[b]!;
    found.spec.push({
      path: tierPath(written, b, ...(written.tiers?.[b]?.select !== undefined ? ['select'] : [])),
      message: `selects ${plural(ids.length, 'target')} that tier "${spec.tiers[a]!.name}" also selects (${listIds(ids)})${
        Object.keys(second.select).length === 0 && (second.matchExpressions ?? []).length === 0
          ? ': an empty select matches every target'
          : ''
      }`,
      expected: 'each target in exactly one tier',
      severity: 'error',
    });
  }

  spec.tiers.forEach((tier, t) => {
    if (membership.some((tiers) => tiers.includes(t))) return;
    found.spec.push({
      path: tierPath(written, t, ...(written.tiers?.[t]?.select !== undefined ? ['select'] : [])),
      message: `tier "${tier.name}" selects no target`,
      expected: 'a selector matching some target labels',
      severity: 'warning',
    });
  });

  // Quorum leaders: at most one per quorum tier.
  spec.tiers.forEach((tier, t) => {
    if (!tier.strategy.quorum) return;
    const label = tier.strategy.leaderLabel;
    const leaders = targets.flatMap((target, i) =>
      membership[i]!.includes(t) && isLeaderValue(target.labels[label]) ? [i] : [],
    );
    for (const i of leaders.slice(1)) {
      found.targets.push({
        path: [...at(i), 'labels', label],
        message: `second leader in quorum tier "${tier.name}": target "${targets[leaders[0]!]!.id}" already has ${label}: "true"`,
        expected: `at most one target of the tier with ${label}: "true"`,
        showGot: true,
        severity: 'error',
      });
    }
  });
  return found;
}

function checkLeaderLabels(written: WrittenRolloutSpec, out: SpecProblem[]): void {
  written.tiers?.forEach((tier, i) => {
    if (tier.strategy?.leaderLabel !== undefined && tier.strategy.quorum !== true) {
      out.push({
        path: ['tiers', i, 'strategy', 'leaderLabel'],
        message: 'has no effect without quorum: true',
        severity: 'warning',
      });
    }
    // A quorum tier goes one member at a time, the leader last: never split across runners.
    if (tier.strategy?.shards !== undefined && tier.strategy.shards > 1 && tier.strategy.quorum === true) {
      out.push({
        path: ['tiers', i, 'strategy', 'shards'],
        message: 'a quorum tier is never sharded: its members go one at a time, the leader last (remove shards)',
        severity: 'error',
      });
    }
  });
}

function checkVersionPolicy(spec: RolloutSpec, out: SpecProblem[]): void {
  const steps = spec.versionPolicy.stepThrough;
  steps.forEach((version, i) => {
    const path: PathSegment[] = ['versionPolicy', 'stepThrough', i];
    const previous = steps[i - 1];
    if (previous !== undefined && !semver.gt(version, previous)) {
      out.push({
        path,
        message: `must be higher than the version before it (${previous}): list stepThrough versions in ascending order`,
        expected: `a version above ${previous}`,
        showGot: true,
        severity: 'error',
      });
    }
    if (semver.eq(version, spec.version)) {
      out.push({
        path,
        message: `is the rollout's own version: stepThrough lists versions on the way to ${spec.version}, not ${spec.version} itself`,
        expected: `a version below ${spec.version}`,
        showGot: true,
        severity: 'error',
      });
    } else if (semver.gt(version, spec.version)) {
      out.push({
        path,
        message: `is above the rollout's version ${spec.version}, so it is never on the way there`,
        expected: `a version below ${spec.version}`,
        showGot: true,
        severity: 'error',
      });
    }
  });
}

function checkAnalysis(written: WrittenRolloutSpec, out: SpecProblem[]): void {
  const metrics = written.analysis?.metrics ?? [];
  const names = new Map<string, number>();
  metrics.forEach((metric, i) => {
    const earlier = names.get(metric.name);
    if (earlier === undefined) names.set(metric.name, i);
    else {
      out.push({
        path: ['analysis', 'metrics', i, 'name'],
        message: `metric name "${metric.name}" is already used by analysis.metrics[${earlier}]`,
        expected: 'a name no other metric has',
        severity: 'error',
      });
    }
    const stat = metric.statistical;
    if (stat !== undefined) {
      const pass = stat.passScore ?? DEFAULT_PASS_SCORE;
      const marginal = stat.marginalScore ?? DEFAULT_MARGINAL_SCORE;
      if (marginal > pass) {
        const base: PathSegment[] = ['analysis', 'metrics', i, 'statistical'];
        out.push(
          stat.marginalScore !== undefined
            ? {
                path: [...base, 'marginalScore'],
                message: `must not be above passScore (${pass}${stat.passScore === undefined ? ', the default' : ''})`,
                expected: `a score ≤ ${pass}`,
                showGot: true,
                severity: 'error',
              }
            : {
                path: [...base, 'passScore'],
                message: `is below the default marginalScore ${marginal}: set marginalScore too`,
                expected: `a score ≥ ${marginal}, or marginalScore ≤ ${pass}`,
                showGot: true,
                severity: 'error',
              },
        );
      }
    }
    if (metric.baseline !== undefined && metric.maxIncrease === undefined && metric.statistical === undefined) {
      out.push({
        path: ['analysis', 'metrics', i, 'baseline'],
        message: 'is unused: only maxIncrease and statistical compare against a baseline',
        severity: 'warning',
      });
    }
  });
}

/** Every templated string of a written step, with its path. */
function stepStrings(step: WrittenStep, base: PathSegment[]): { path: PathSegment[]; text: string }[] {
  const found: { path: PathSegment[]; text: string }[] = [];
  step.run?.forEach((text, i) => found.push({ path: [...base, 'run', i], text }));
  for (const [key, value] of Object.entries(step.env ?? {})) {
    if (typeof value === 'string') found.push({ path: [...base, 'env', key], text: value });
  }
  if (step.cwd !== undefined) found.push({ path: [...base, 'cwd'], text: step.cwd });
  if (step.http !== undefined) {
    found.push({ path: [...base, 'http', 'url'], text: step.http.url });
    for (const [key, value] of Object.entries(step.http.headers ?? {})) {
      if (typeof value === 'string') found.push({ path: [...base, 'http', 'headers', key], text: value });
    }
    if (step.http.body !== undefined) found.push({ path: [...base, 'http', 'body'], text: step.http.body });
  }
  return found;
}

/** A step as written somewhere in the spec: its path, and for per-target steps the tiers that run it. */
interface WrittenStepAt {
  path: PathSegment[];
  written: WrittenStep;
  normalized: StepSpec;
  /** Step name (`version` … `undrain`) or `hook`. */
  name: string;
  /** Indexes of the tiers that run it (every tier for a top-level step no tier replaces). */
  tiers: number[];
}

/** Every step and hook written in the spec: top-level ones, and each tier's own. */
function writtenSteps(spec: RolloutSpec, written: WrittenRolloutSpec): WrittenStepAt[] {
  const found: WrittenStepAt[] = [];
  const all = spec.tiers.map((_, i) => i);
  for (const name of STEP_NAMES) {
    const w = written.steps?.[name];
    const n = spec.steps[name];
    if (w !== undefined && n !== undefined) {
      const tiers = all.filter((i) => spec.tiers[i]!.steps?.[name] === undefined);
      found.push({ path: ['steps', name], written: w, normalized: n, name, tiers });
    }
  }
  for (const which of ['before', 'after'] as const) {
    const w = written.hooks?.[which];
    const n = spec.hooks[which];
    if (w !== undefined && n !== undefined)
      found.push({ path: ['hooks', which], written: w, normalized: n, name: 'hook', tiers: [] });
  }
  written.tiers?.forEach((tier, i) => {
    const normalized = spec.tiers[i];
    for (const name of STEP_NAMES) {
      const w = tier.steps?.[name];
      const n = normalized?.steps?.[name];
      if (w !== undefined && n !== undefined)
        found.push({ path: ['tiers', i, 'steps', name], written: w, normalized: n, name, tiers: [i] });
    }
    for (const which of ['before', 'after'] as const) {
      const w = tier.hooks?.[which];
      const n = normalized?.hooks?.[which];
      if (w !== undefined && n !== undefined)
        found.push({ path: ['tiers', i, 'hooks', which], written: w, normalized: n, name: 'hook', tiers: [] });
    }
  });
  return found;
}

/**
 * Every tier ends up with a version, an upgrade and a verify step, from its own steps or the
 * top-level ones. Works on the document as written (not yet schema-checked), so that a missing
 * step is reported together with every other problem.
 */
export function checkRequiredSteps(data: unknown): SpecProblem[] {
  const out: SpecProblem[] = [];
  const record = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const doc = record(data);
  if (!doc) return out;
  const top = record(doc.steps) ?? {};
  const has = (steps: Record<string, unknown>, n: string) => steps[n] !== undefined && steps[n] !== null;
  if (!Array.isArray(doc.tiers)) {
    for (const name of REQUIRED_STEP_NAMES)
      if (!has(top, name))
        out.push({
          path: ['steps', name],
          message: 'is required',
          expected: 'a step: {run: [program, args...]} or {http: {url: ...}}',
          severity: 'error',
        });
    return out;
  }
  doc.tiers.forEach((t, i) => {
    const tier = record(t);
    const own = record(tier?.steps) ?? {};
    // A replace or blue-green tier provisions and retires targets instead of upgrading them.
    const type = record(tier?.strategy)?.type;
    // An unknown type is the schema's to report; which steps it would need is not known.
    if (typeof type === 'string' && !['inPlace', 'replace', 'blueGreen'].includes(type)) return;
    const missing = requiredStepNames(typeof type === 'string' ? type : undefined).filter(
      (n) => !has(own, n) && !has(top, n),
    );
    if (missing.length === 0) return;
    const name = typeof tier?.name === 'string' ? tier.name : `#${i + 1}`;
    out.push({
      path: ['tiers', i],
      message: `tier ${name} has no ${missing.join(', ')} step`,
      expected: `${missing.join(', ')} in the top-level steps or in tiers[${i}].steps`,
      severity: 'error',
    });
  });
  return out;
}

function checkLabelPlaceholders(
  spec: RolloutSpec,
  written: WrittenRolloutSpec,
  targets: readonly Target[],
  out: SpecProblem[],
): void {
  const membership = tierMembership(targets, spec.tiers);
  for (const at of writtenSteps(spec, written)) {
    if (at.name === 'hook') continue;
    const runBy = targets.filter((_, t) => membership[t]!.some((i) => at.tiers.includes(i)));
    for (const { path, text } of stepStrings(at.written, at.path)) {
      for (const key of new Set(labelPlaceholders(text))) {
        const missing = runBy.filter((t) => !Object.hasOwn(t.labels, key)).map((t) => t.id);
        if (missing.length === 0) continue;
        out.push({
          path,
          message: `uses {{target.labels.${key}}}, but ${plural(missing.length, 'target')} ${missing.length === 1 ? 'has' : 'have'} no label "${key}" (${listIds(missing)})`,
          expected: `every target to have label ${key}`,
          severity: 'error',
        });
      }
    }
  }
}

/** Longest wait a Node.js timer supports (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Every duration the engine waits on with a timer, with its path. */
function timedDurations(spec: RolloutSpec, written: WrittenRolloutSpec): { path: PathSegment[]; ms: number }[] {
  const found: { path: PathSegment[]; ms: number }[] = [];
  if (spec.inventory.kind === 'discover')
    found.push({ path: ['inventory', 'discover', 'timeout'], ms: spec.inventory.timeoutMs });
  spec.tiers.forEach((tier, i) => {
    found.push({ path: tierPath(written, i, 'strategy', 'observe'), ms: tier.strategy.observeMs });
    found.push({ path: tierPath(written, i, 'strategy', 'observeInterval'), ms: tier.strategy.observeIntervalMs });
  });
  for (const { path, normalized: step } of writtenSteps(spec, written)) {
    found.push({ path: [...path, 'timeout'], ms: step.timeoutMs });
    found.push({ path: [...path, 'interval'], ms: step.intervalMs });
  }
  spec.analysis?.metrics.forEach((metric, i) =>
    found.push({ path: ['analysis', 'metrics', i, 'interval'], ms: metric.intervalMs }),
  );
  return found;
}

function checkTimings(spec: RolloutSpec, written: WrittenRolloutSpec, out: SpecProblem[]): void {
  for (const { path, ms } of timedDurations(spec, written)) {
    if (ms <= MAX_TIMER_MS) continue;
    out.push({
      path,
      message: `is longer than a timer can wait (${formatDuration(MAX_TIMER_MS)})`,
      expected: `a duration up to 24d`,
      showGot: true,
      severity: 'error',
    });
  }
  for (const at of writtenSteps(spec, written)) {
    const verify = at.normalized;
    if (at.name !== 'verify' || verify.intervalMs < verify.timeoutMs) continue;
    out.push({
      path: [...at.path, at.written.interval !== undefined ? 'interval' : 'timeout'],
      message: `verify is polled every ${formatDuration(verify.intervalMs)} within ${formatDuration(verify.timeoutMs)}, so it gets a single try`,
      expected: 'interval shorter than timeout',
      severity: 'warning',
    });
  }
  spec.tiers.forEach((tier, i) => {
    const s = tier.strategy;
    if (s.observeMs > 0 && s.observeIntervalMs > s.observeMs) {
      out.push({
        path: tierPath(written, i, 'strategy', 'observeInterval'),
        message: `is longer than the observation window (${formatDuration(s.observeMs)}), so health is checked once per window at most`,
        severity: 'warning',
      });
    }
  });
}

/**
 * Checks the rules that relate fields to each other:
 *
 * - tier names are unique; metric names are unique; every tier has a version, upgrade and
 *   verify step (its own or the top-level one);
 * - inline inventory: target ids are unique (same address twice: warning);
 *   every target is in some tier (warning) and in at most one (error);
 *   a tier that selects no target (warning); a quorum tier has at most one
 *   target whose leader label is `"true"`; every `{{target.labels.<key>}}`
 *   in steps names a label every target has;
 * - `leaderLabel` without `quorum: true` (warning); `leader` / `transferLeadership` outside a
 *   quorum tier, `transferLeadership` without `leader` (warnings: `checkQuorumSteps`);
 * - `versionPolicy.stepThrough` is ascending, below `version`, and does not
 *   list `version` itself (seed 003: version skipping through a path);
 * - statistical `marginalScore` ≤ `passScore` (defaults 75 and 95 included); a baseline nothing uses (warning);
 * - every duration waited on by a timer (timeouts, intervals, observation
 *   windows) is at most {@link MAX_TIMER_MS} (about 24.8 days);
 * - verify interval not shorter than its timeout, observe interval longer than
 *   the observation window (warnings).
 *
 * @param spec - the normalized spec (`normalizeSpec(written)`).
 * @param written - the spec as written, for paths and "was it set" questions.
 * @returns problems with field paths; `parse.ts` locates them.
 */
export function checkSpecRules(spec: RolloutSpec, written: WrittenRolloutSpec): SpecProblem[] {
  const out: SpecProblem[] = [];
  checkTierNames(spec, written, out);
  if (spec.inventory.kind === 'inline') {
    out.push(...checkTargetList(spec.inventory.targets, INLINE_TARGET));
    const membership = checkMembership(spec, written, spec.inventory.targets, INLINE_TARGET);
    out.push(...membership.targets, ...membership.spec);
    checkLabelPlaceholders(spec, written, spec.inventory.targets, out);
    out.push(...checkExplicitTargets(spec.tiers, spec.inventory.targets, spec.exclude));
  }
  out.push(...checkExplicitRules(written.tiers));
  checkLeaderLabels(written, out);
  checkVersionPolicy(spec, out);
  checkAnalysis(written, out);
  checkTimings(spec, written, out);
  checkDrains(written, out);
  out.push(...checkQuorumSteps(spec));
  out.push(...checkReplaceRules(spec, written));
  out.push(...checkAlertsRules(written.alerts, spec.inventory.kind === 'inline' ? spec.inventory.targets : undefined));
  out.push(...checkSloRules(written.slo, written.analysis?.provider));
  out.push(...checkScheduleRules(written.schedule));
  out.push(...checkConfigRules(spec, written));
  return out;
}

/** Message of the warning for a drain with neither `until` nor `grace` (also used by `plan`). */
export const UNSETTLED_DRAIN_WARNING =
  'the drain has neither until nor grace: the upgrade starts as soon as the drain request returns, before a load balancer has stopped sending requests or the ones in flight have finished';

/**
 * A drain (top-level or a tier's) with neither `until` nor `grace` (warning): the upgrade
 * would start as soon as the drain returns (see docs/load-balancers.md).
 */
function checkDrains(written: WrittenRolloutSpec, out: SpecProblem[]): void {
  const drains: { path: (string | number)[]; drain: { until?: unknown; grace?: unknown } | undefined }[] = [
    { path: ['steps', 'drain'], drain: written.steps?.drain },
    ...(written.tiers ?? []).map((t, i) => ({ path: ['tiers', i, 'steps', 'drain'], drain: t.steps?.drain })),
  ];
  for (const { path, drain } of drains) {
    if (drain === undefined || drain.until !== undefined || drain.grace !== undefined) continue;
    out.push({
      path,
      message: UNSETTLED_DRAIN_WARNING,
      expected:
        'until: a check that passes once the target is out (the load balancer reports 0 sessions), or grace: a minimum wait',
      severity: 'warning',
    });
  }
}
