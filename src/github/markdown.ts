/**
 * Markdown for pull-request plan comments and job summaries: tables of waves,
 * a mermaid diagram of the rollout, approvals and decisions. Pure: data in,
 * text out. Every value that came from a spec, an inventory or a person is
 * escaped, because a pull request from anyone can propose a spec.
 */
import { alertChecksOf, formatFiringAlert } from '../analysis/alerts/format.js';
import type { AlertsCheck } from '../analysis/alerts/types.js';
import { formatSloBudget, formatSloHeader, formatSloPairs, sloChecksOf } from '../analysis/slo/format.js';
import { describeObservedWindow, verdictMeasurements, viewEvidence } from '../analysis/evidence-format.js';
import type { PreflightReport } from '../engine/rollout.js';
import { abbreviateIds, formatDurationMs } from '../plan/describe.js';
import type { RolloutPlan } from '../plan/types.js';
import type { Issue } from '../spec/issue.js';
import { formatIssue } from '../spec/issue.js';
import type { GatesSpec } from '../spec/types.js';
import type { RolloutState, WaveState } from '../state/types.js';
import type { GateAudit } from './environments.js';
import { renderMermaidTimeline } from '../report/mermaid-timeline.js';

/** Hidden marker that identifies Fleetgate's sticky plan comment on a pull request. */
export const PLAN_COMMENT_MARKER = '<!-- fleetgate:plan -->';

/** GitHub's limit for one step's job summary (1 MiB); we stay under it with room for the truncation note. */
export const STEP_SUMMARY_LIMIT_BYTES = 1024 * 1024;

/** GitHub's limit for an issue comment body (65,536 characters). */
export const COMMENT_LIMIT_CHARS = 65_536;

/** Escapes text for a markdown table cell or inline text: no HTML, no table breaks, no mentions. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/[|*_`[\]<>#~]/g, (c) => `\\${c}`)
    .replace(/@/g, '@\u200b')
    .replace(/\r?\n/g, ' ');
}

/** Inline code that cannot be broken out of (backticks in the value are replaced). */
export function code(text: string): string {
  return `\`${text.replace(/`/g, 'ʼ').replace(/\r?\n/g, ' ')}\``;
}

/** A value from a state record, as text (objects as compact JSON). */
function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

function mermaidLabel(text: string): string {
  return text.replace(/["<>\\`]/g, '').replace(/\r?\n/g, ' ');
}

const PHASE_MARK: Record<string, string> = {
  Completed: '✅',
  Healthy: '✅',
  Succeeded: '✅',
  Progressing: '🔄',
  Observing: '👀',
  Pending: '⏳',
  Paused: '⏸️',
  Failed: '❌',
  Degraded: '❌',
  RollingBack: '↩️',
  RolledBack: '↩️',
};

/** `✅ Completed`, `⏳ Pending`, … */
export function phaseBadge(phase: string): string {
  return `${PHASE_MARK[phase] ?? '•'} ${phase}`;
}

/** Everything the plan comment says about one spec. */
export interface PlanReport {
  specPath: string;
  /** Problems when the spec is invalid (then `plan` is absent). */
  issues?: Issue[];
  plan?: RolloutPlan;
  gates?: GatesSpec;
  state?: Pick<RolloutState, 'phase' | 'toVersion' | 'lastKnownGood' | 'fromVersion'>;
  /** Read-only preflight, or why it did not run. */
  preflight?: PreflightReport | { skipped: string };
  audit?: GateAudit[];
  /** The "Estimated duration" cell when history gave one (`learning-markdown.ts`), and its suggestion notes. */
  estimate?: string;
  learned?: string[];
  /** The plan's gates, analysis and what a rollback restores, as `fleetgate plan` prints them (`describeSafeguards`). */
  safeguards?: string;
}

/** Version-skew and policy verdict in one line. */
export function skewVerdict(preflight: PlanReport['preflight']): string {
  if (!preflight) return 'not checked';
  if ('skipped' in preflight) return `not checked: ${escapeMarkdown(preflight.skipped)}`;
  const versions = Object.entries(preflight.versions)
    .sort((a, b) => b[1] - a[1])
    .map(([v, n]) => `${code(v)} ×${n}`);
  const skew =
    versions.length > 1 ? `⚠️ version skew: ${versions.join(', ')}` : `no skew (${versions[0] ?? 'no answers'})`;
  const unreachable =
    preflight.unreachable.length > 0 ? `; ❌ ${preflight.unreachable.length} target(s) did not answer` : '';
  const policy = preflight.policy.ok
    ? '; version policy ✅'
    : `; ❌ version policy (${code(preflight.policy.reason)}): ${escapeMarkdown(preflight.policy.message)}`;
  return `${skew}${unreachable}${policy}`;
}

/** Mermaid flowchart of a plan (gates as diamonds); long plans fold the middle waves into one node. */
export function renderPlanDiagram(
  plan: RolloutPlan,
  gates: GatesSpec | undefined,
  waves?: readonly WaveState[],
): string {
  const phaseOf = new Map((waves ?? []).map((w) => [w.id, w.phase]));
  const lines = ['```mermaid', 'flowchart LR'];
  const shown = plan.waves.length <= 12 ? plan.waves : [...plan.waves.slice(0, 6), ...plan.waves.slice(-5)];
  const firstPromoted = plan.waves.find((w) => w.index > 0 && w.kind !== 'canary');
  const hasCanary = plan.waves.some((w) => w.kind === 'canary');
  let previous = 'start';
  lines.push('  start(["start"])');
  shown.forEach((w, i) => {
    if (i > 0 && shown[i - 1]!.index + 1 !== w.index) {
      const hidden = w.index - shown[i - 1]!.index - 1;
      lines.push(`  more${i}["… ${hidden} more waves"]`, `  ${previous} --> more${i}`);
      previous = `more${i}`;
    }
    let gate: string | undefined;
    if (w.index === 0 && gates?.canary) gate = gates.canary;
    if (gates?.promote && hasCanary && firstPromoted?.id === w.id) gate = gates.promote;
    if (gate) {
      lines.push(`  g${w.index}{"${mermaidLabel(gate)}"}`, `  ${previous} --> g${w.index}`);
      previous = `g${w.index}`;
    }
    const phase = phaseOf.get(w.id);
    lines.push(
      `  w${w.index}["${mermaidLabel(w.id)}<br/>${w.targets.length} target${w.targets.length === 1 ? '' : 's'}${phase ? `<br/>${phase}` : ''}"]`,
      `  ${previous} --> w${w.index}`,
    );
    if (phase) lines.push(`  class w${w.index} ${phase.toLowerCase()}`);
    previous = `w${w.index}`;
  });
  lines.push(`  done(["done"])`, `  ${previous} --> done`);
  lines.push(
    '  classDef completed fill:#d4f7d4,stroke:#2a7',
    '  classDef observing fill:#fff3c4,stroke:#b90',
    '  classDef progressing fill:#d6e8ff,stroke:#36c',
    '  classDef failed fill:#ffd6d6,stroke:#c33',
    '  classDef rolledback fill:#eee,stroke:#888',
    '```',
  );
  return lines.join('\n');
}

function waveRows(plan: RolloutPlan, limit: number): string[] {
  const rows = ['| # | wave | tier | kind | targets | maxUnavailable | observe |', '|---|---|---|---|---|---|---|'];
  for (const w of plan.waves.slice(0, limit)) {
    rows.push(
      `| ${w.index} | ${code(w.id)} | ${escapeMarkdown(w.tier)} | ${w.kind} | ${w.targets.length}: ${escapeMarkdown(abbreviateIds(w.targets))} | ${w.maxUnavailable} | ${formatDurationMs(w.observeMs)} |`,
    );
  }
  if (plan.waves.length > limit) rows.push(`| … | ${plan.waves.length - limit} more waves | | | | | |`);
  return rows;
}

/** One spec's section of the plan comment. */
export function renderPlanSection(r: PlanReport, opts: { waveLimit?: number } = {}): string {
  const out: string[] = [];
  if (r.issues && r.issues.some((i) => i.severity === 'error')) {
    out.push(`### ❌ ${code(r.specPath)} is not valid`, '');
    out.push('```text', ...r.issues.map((i) => formatIssue(i).replace(/```/g, "'''")), '```');
    return out.join('\n');
  }
  const plan = r.plan;
  if (!plan) return `### ${code(r.specPath)}\n\nNo plan.`;
  const from = r.state?.phase === 'Healthy' ? r.state.toVersion : (r.state?.lastKnownGood ?? r.state?.fromVersion);
  out.push(`### ${code(r.specPath)}: ${code(plan.rollout)} ${from ? `${code(from)} → ` : ''}${code(plan.version)}`, '');
  const targets = plan.tiers.reduce((n, t) => n + t.targets.length, 0);
  const canary = plan.waves.filter((w) => w.kind === 'canary');
  const gateText = [
    r.gates?.canary ? `canary: environment ${code(r.gates.canary)}` : undefined,
    r.gates?.promote ? `promote: environment ${code(r.gates.promote)}` : undefined,
  ].filter(Boolean);
  const restore = r.state?.lastKnownGood
    ? `${code(r.state.lastKnownGood)} (last known good)`
    : 'nothing yet (no last known good version recorded)';
  out.push('| | |', '|---|---|');
  out.push(`| Component | ${code(plan.component)} |`);
  out.push(`| Phase now | ${phaseBadge(r.state?.phase ?? 'Pending')} |`);
  out.push(
    `| Tiers | ${plan.tiers.map((t) => `${escapeMarkdown(t.name)} (${t.targets.length}${t.quorum ? ', quorum' : ''})`).join(' → ') || 'none'} |`,
  );
  out.push(`| Targets | ${targets} |`);
  out.push(
    `| Canary | ${canary.length > 0 ? canary.map((w) => `${code(w.id)}: ${escapeMarkdown(abbreviateIds(w.targets))}`).join('; ') : 'none'} |`,
  );
  out.push(`| Waves | ${plan.waves.length} |`);
  out.push(`| Gates | ${gateText.length > 0 ? gateText.join('; ') : 'none: no approval before canary or promotion'} |`);
  out.push(`| Estimated duration | ${r.estimate ?? formatDurationMs(plan.estimatedDurationMs)} |`);
  out.push(`| Version skew | ${skewVerdict(r.preflight)} |`);
  const alertsNow = r.preflight && !('skipped' in r.preflight) ? r.preflight.alerts : undefined;
  if (alertsNow) out.push(`| Alerts now | ${alertsVerdict(alertsNow)} |`);
  out.push(`| A rollback would restore | ${restore} |`);
  out.push('');
  for (const a of r.audit ?? []) {
    if (a.severity === 'warning') out.push(`> [!WARNING]\n> ${a.message}`, '');
  }
  for (const note of r.learned ?? []) out.push(note, '');
  for (const w of plan.warnings) out.push(`- ⚠️ ${escapeMarkdown(w)}`);
  if (plan.warnings.length > 0) out.push('');
  out.push('<details><summary>Waves</summary>', '', ...waveRows(plan, opts.waveLimit ?? 100), '', '</details>', '');
  if (r.safeguards)
    out.push(
      '<details><summary>Gates, analysis and what a rollback would restore</summary>',
      '',
      '```text',
      r.safeguards.replace(/```/g, "'''"),
      '```',
      '',
      '</details>',
      '',
    );
  out.push(renderPlanDiagram(plan, r.gates));
  return out.join('\n');
}

/** The whole sticky comment: marker, one section per spec, a footer. Kept under GitHub's comment limit. */
export function renderPlanComment(reports: readonly PlanReport[], footer?: string): string {
  const head = `${PLAN_COMMENT_MARKER}\n## Fleetgate plan\n`;
  const tail = footer ? `\n---\n${footer}\n` : '';
  for (const waveLimit of [100, 20, 5]) {
    const body = `${head}\n${reports.map((r) => renderPlanSection(r, { waveLimit })).join('\n\n')}\n${tail}`;
    if (body.length <= COMMENT_LIMIT_CHARS) return body;
  }
  const short = reports.map((r) => `- ${code(r.specPath)}: ${r.plan ? `${r.plan.waves.length} waves` : 'invalid'}`);
  return `${head}\nThe plan is too long for a comment; see the job summary.\n\n${short.join('\n')}\n${tail}`.slice(
    0,
    COMMENT_LIMIT_CHARS,
  );
}

/** What a stage's job summary shows. */
export interface RunSummaryInput {
  /** The workflow stage whose job this is (`wave`, `analyze`, `decide`, `rollback`), for the title. */
  stage: string;
  specPath: string;
  plan: RolloutPlan;
  gates?: GatesSpec;
  state?: RolloutState;
  result?: {
    outcome: string;
    reason?: string;
    message?: string;
    observeUntil?: string;
    remainingWaves?: string[];
  };
  runUrl?: string;
}

/** A job summary: outcome, versions, wave table, mermaid diagram, approvals, decisions, failed targets. */
export function renderRunSummary(s: RunSummaryInput): string {
  const st = s.state;
  const out: string[] = [];
  out.push(`## Fleetgate ${escapeMarkdown(s.stage)}: ${code(s.plan.rollout)}`, '');
  if (s.result) {
    out.push(
      `**${phaseBadge(s.result.outcome)}**${s.result.reason ? ` (${code(s.result.reason)})` : ''}${s.result.message ? `: ${escapeMarkdown(s.result.message)}` : ''}`,
      '',
    );
  }
  if (st) {
    out.push(
      `Phase ${phaseBadge(st.phase)} · ${code(st.fromVersion ?? '?')} → ${code(st.toVersion ?? '?')} · last known good ${st.lastKnownGood ? code(st.lastKnownGood) : 'none'} · revision ${st.revision}`,
      '',
    );
    if (st.condition) out.push(`> ${code(st.condition.reason)}: ${escapeMarkdown(st.condition.message)}`, '');
  }
  if (s.result?.observeUntil) out.push(`Observation window open until ${s.result.observeUntil}.`, '');
  if (s.result?.remainingWaves && s.result.remainingWaves.length > 0)
    out.push(
      `Remaining waves: ${s.result.remainingWaves.length} (${s.result.remainingWaves.slice(0, 10).map(code).join(', ')}${s.result.remainingWaves.length > 10 ? ', …' : ''}).`,
      '',
    );
  const byId = new Map((st?.waves ?? []).map((w) => [w.id, w]));
  out.push('| # | wave | targets | phase | ok | failed | started | finished |', '|---|---|---|---|---|---|---|---|');
  for (const w of s.plan.waves) {
    const ws = byId.get(w.id);
    out.push(
      `| ${w.index} | ${code(w.id)} | ${w.targets.length} | ${phaseBadge(ws?.phase ?? 'Pending')} | ${ws?.succeeded ?? ''} | ${ws?.failed ?? ''} | ${ws?.startedAt ?? ''} | ${ws?.finishedAt ?? (ws?.observeUntil ? `observing until ${ws.observeUntil}` : '')} |`,
    );
  }
  out.push('', renderPlanDiagram(s.plan, s.gates, st?.waves), '');
  const timeline = renderMermaidTimeline(st);
  if (timeline) out.push('### Timeline', '', timeline, '');
  const analysis = renderAnalysis(st, s.plan);
  if (analysis) out.push(analysis, '');
  const alerts = renderAlerts(st);
  if (alerts) out.push(alerts, '');
  const budget = renderErrorBudget(st);
  if (budget) out.push(budget, '');
  if (st && st.approvals.length > 0) {
    out.push('### Approvals', '', '| gate | by | at | comment |', '|---|---|---|---|');
    for (const a of st.approvals as ((typeof st.approvals)[number] & { comment?: string })[])
      out.push(`| ${code(a.gate)} | ${escapeMarkdown(a.by)} | ${a.at} | ${escapeMarkdown(a.comment ?? '')} |`);
    out.push('');
  }
  if (st && st.decisions.length > 0) {
    out.push('### Decisions', '', '| decision | by | at | wave | reason |', '|---|---|---|---|---|');
    for (const d of st.decisions)
      out.push(
        `| ${d.decision} | ${escapeMarkdown(d.by)} | ${d.at} | ${d.wave ? code(d.wave) : ''} | ${escapeMarkdown(d.reason ?? '')} |`,
      );
    out.push('');
  }
  const failed = Object.entries(st?.targets ?? {}).filter(
    ([, t]) => t.phase === 'Failed' || t.phase === 'RollbackFailed',
  );
  if (failed.length > 0) {
    out.push('### Targets that failed', '');
    for (const [id, t] of failed.slice(0, 100))
      out.push(`- ${code(id)} (${t.phase}${t.step ? ` at ${t.step}` : ''}): ${escapeMarkdown(t.message ?? '')}`);
    if (failed.length > 100) out.push(`- … ${failed.length - 100} more`);
    out.push('');
  }
  if (s.runUrl) out.push(`[This run](${s.runUrl})`);
  return capMarkdown(out.join('\n'), STEP_SUMMARY_LIMIT_BYTES - 4096);
}

/**
 * Metric analysis of each observed wave (the engine's `waves[].analysis`): verdict,
 * and each measurement's value against its threshold and baseline; then, per wave, how long
 * its window lasted and the evidence of each metric's verdict (rounded; exact in the state).
 * @param plan - gives each wave's planned window (`observe`), to say how much of it was observed
 */
export function renderAnalysis(state: RolloutState | undefined, plan?: RolloutPlan): string | undefined {
  const rows: string[] = [];
  const evidence: string[] = [];
  for (const w of state?.waves ?? []) {
    if (!w.analysis) continue;
    rows.push(`| ${code(w.id)} | **${w.analysis.verdict}** | | | | ${escapeMarkdown(w.analysis.message)} |`);
    for (const m of w.analysis.measurements) {
      rows.push(
        `| | ${escapeMarkdown(m.metric)} | ${text(m.value)} | ${escapeMarkdown(m.threshold)} | ${text(m.baselineValue)} | ${m.verdict}${m.message ? `: ${escapeMarkdown(m.message)}` : ''} |`,
      );
    }
    evidence.push(...renderEvidence(w, plan?.waves.find((p) => p.id === w.id)?.observeMs));
  }
  if (rows.length === 0) return undefined;
  return [
    '### Analysis',
    '',
    '| wave | metric | value | threshold | baseline | verdict |',
    '|---|---|---|---|---|---|',
    ...rows,
    ...(evidence.length > 0 ? ['', ...evidence] : []),
  ].join('\n');
}

/**
 * One wave's evidence: the window actually observed, then per metric its decision, estimate with
 * its confidence interval, limit, cohorts with sample sizes, rule, when decided and the query.
 */
function renderEvidence(w: WaveState, observeMs: number | undefined): string[] {
  if (!w.analysis || w.analysis.measurements.length === 0) return [];
  const out = [
    `<details><summary>Evidence for ${escapeMarkdown(w.id)} (rounded; exact in the state file)</summary>`,
    '',
  ];
  const observed = describeObservedWindow(w, observeMs);
  if (observed) out.push(`${escapeMarkdown(observed)}.`, '');
  out.push(
    '| metric | decision | estimate | limit | canary | baseline | rule | decided | query |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const m of verdictMeasurements(w.analysis.measurements)) {
    const v = viewEvidence(m);
    out.push(
      `| ${escapeMarkdown(v.metric)} | **${escapeMarkdown(v.decision)}** | ${escapeMarkdown(v.estimate ?? '')} | ${escapeMarkdown(v.limit ?? '')} | ${escapeMarkdown(v.canary ?? '')} | ${escapeMarkdown(v.baseline ?? '')} | ${escapeMarkdown(v.rule ?? '')} | ${escapeMarkdown(v.decided)} | ${code(v.query).replace(/\|/g, '\\|')} |`,
    );
  }
  out.push('', '</details>', '');
  return out;
}

/** The alert gate's preview in the plan: none firing, which fire (the canary would pause), or no answer. */
export function alertsVerdict(check: AlertsCheck): string {
  if (check.verdict === 'pass') return `✅ none firing (${code(check.selector)})`;
  if (check.verdict === 'inconclusive') return `⚠️ ${escapeMarkdown(check.message)}`;
  const named = check.alerts
    .slice(0, 3)
    .map((a) => code(a.name || '(no alertname)'))
    .join(', ');
  return `❌ ${check.firing} firing (${named}${check.firing > 3 ? ', …' : ''}): a run now would pause before its first wave`;
}

/**
 * The alert gate's checks of each wave (the engine's `waves[].alerts`): verdict, and each
 * firing alert that matched (name, labels, since when).
 */
export function renderAlerts(state: RolloutState | undefined): string | undefined {
  const rows: string[] = [];
  for (const w of state?.waves ?? []) {
    for (const check of alertChecksOf(w)) {
      rows.push(`| ${code(w.id)} | ${check.when} | **${check.verdict}** | ${escapeMarkdown(check.message)} |`);
      for (const a of check.alerts.slice(0, 10)) rows.push(`| | | | ${escapeMarkdown(formatFiringAlert(a))} |`);
    }
  }
  if (rows.length === 0) return undefined;
  return ['### Alerts', '', '| wave | when | verdict | alerts |', '|---|---|---|---|', ...rows].join('\n');
}

/**
 * The error-budget gate's checks of each wave (the engine's `waves[].slo`): verdict, the
 * objective, the budget consumed since the rollout began and each burn-rate pair (rounded; the
 * state has the exact counts), and the queries.
 */
export function renderErrorBudget(state: RolloutState | undefined): string | undefined {
  const rows: string[] = [];
  let queries: { bad: string; total: string } | undefined;
  for (const w of state?.waves ?? []) {
    for (const check of sloChecksOf(w)) {
      queries ??= check.queries;
      const evidence = [formatSloHeader(check), formatSloBudget(check), ...formatSloPairs(check)]
        .map(escapeMarkdown)
        .join('<br>');
      rows.push(`| ${code(w.id)} | ${check.when} | **${check.verdict}** | ${check.at} | ${evidence} |`);
    }
  }
  if (rows.length === 0 || !queries) return undefined;
  return [
    '### Error budget',
    '',
    '| wave | when | verdict | at | budget and burn rates |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Bad events: ${code(queries.bad)} · all events: ${code(queries.total)}`,
  ].join('\n');
}

/** Cuts markdown to at most `maxBytes` UTF-8 bytes, on a line boundary, with a note saying so. */
export function capMarkdown(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const note = '\n\n… cut to stay under the job summary limit (1 MiB per step); see the state file for everything.\n';
  const budget = maxBytes - Buffer.byteLength(note, 'utf8');
  const lines = text.split('\n');
  let size = 0;
  const kept: string[] = [];
  for (const line of lines) {
    const n = Buffer.byteLength(line, 'utf8') + 1;
    if (size + n > budget) break;
    kept.push(line);
    size += n;
  }
  // Never leave a code fence open.
  const fences = kept.filter((l) => l.startsWith('```')).length;
  if (fences % 2 === 1) kept.push('```');
  return `${kept.join('\n')}${note}`;
}
