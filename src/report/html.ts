/**
 * `fleetgate report`: one self-contained HTML page (inline SVG charts and CSS,
 * no script, no network) from a rollout's state. Each chart has a table of the
 * same numbers beneath it, rounded for people; the state keeps exact values.
 */
import type { RolloutState } from '../state/types.js';
import { metricSpec, OUTCOME_COLOURS, PALETTE, ratioSpec, renderSvg, targetsSpec, timelineSpec } from './charts.js';
import { clock, dateTime, duration, escapeHtml as e, formatCount, roundForPeople as r } from './format.js';
import { buildReportModel, type MetricView, type PlanHints, type ReportModel, type WaveView } from './model.js';

/** Options of {@link renderReport}. */
export interface ReportOptions {
  /** What the plan says per wave (observation length, tier), when the spec loaded. */
  hints?: PlanHints;
  /** The report's time (ms): written in its header, and the end of a pause still open. */
  nowMs?: number;
  /** Most targets listed per wave in its table (the chart and the counts show all). Default 200. */
  maxTargetRows?: number;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#111;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc}h3{margin-top:1.6rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{border:1px solid #bbb;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f1f1}td.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:.2rem 0}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#333}.note{font-size:.9rem;color:#333}
.chip{display:inline-block;width:.8em;height:.8em;border:1px solid #555;margin-right:.3em;vertical-align:middle}
.phase,.verdict{font-weight:600}.svg{overflow-x:auto}
details{margin:.4rem 0}summary{cursor:pointer}
`;

function chip(colour: string): string {
  return `<span class="chip" style="background:${colour}" aria-hidden="true"></span>`;
}

function table(caption: string, head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h) => `<th scope="col">${e(h)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><caption>${e(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function figure(cls: string, attrs: string, svg: string, caption: string, after: string): string {
  return `<figure class="${cls}" ${attrs}><div class="svg">${svg}</div><figcaption>${caption}</figcaption>${after}</figure>`;
}

async function timelineSection(model: ReportModel): Promise<string> {
  if (model.spans.length === 0 && model.marks.length === 0)
    return '<section id="timeline"><h2>Timeline</h2><p>Nothing has run yet.</p></section>';
  const svg = await renderSvg(timelineSpec(model), `Timeline of rollout ${model.name}`);
  const events = [
    ...model.spans.map((s) => ({
      at: s.startMs,
      row: [clock(s.startMs), clock(s.endMs), e(s.row), e(s.kind), e(s.label)],
    })),
    ...model.marks.map((m) => ({ at: m.atMs, row: [clock(m.atMs), '', e(m.row), e(m.kind), e(m.label)] })),
  ].sort((a, b) => a.at - b.at);
  return `<section id="timeline"><h2>Timeline</h2>${figure(
    'timeline-chart',
    'data-chart="timeline"',
    svg,
    'Bars are spans (the steps of a wave, its observation window, a pause, a rollback); symbols are moments (approvals, decisions, breaker trips, verdicts, gate checks). Time is UTC.',
    table(
      'Timeline as a table (UTC)',
      ['from', 'until', 'row', 'what', 'detail'],
      events.map((x) => x.row),
    ),
  )}</section>`;
}

function outcomeCounts(w: WaveView): string {
  const counts = new Map<string, number>();
  for (const t of w.targets) counts.set(t.phase, (counts.get(t.phase) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${chip(OUTCOME_COLOURS[k] ?? PALETTE.black)}${e(k)} ${n}`).join(', ');
}

async function targetsSection(model: ReportModel): Promise<string> {
  const withTargets = model.waves.filter((w) => w.targets.length > 0);
  if (withTargets.length === 0) return '';
  const svg = await renderSvg(targetsSpec(withTargets), 'Targets of every wave, coloured by outcome');
  const rows = withTargets.map((w) => [e(w.id), e(w.phase), String(w.targets.length), outcomeCounts(w)]);
  return `<section id="targets"><h2>Targets per wave</h2>${figure(
    'targets-chart',
    'data-chart="targets"',
    svg,
    "One square per target, in the order the wave started them, coloured by outcome (also listed in each wave's table).",
    table('Outcomes per wave', ['wave', 'wave phase', 'targets', 'outcomes'], rows, [2]),
  )}</section>`;
}

function metricTable(v: MetricView): string {
  const rows = v.points.map((p) => [
    clock(p.atMs),
    `${clock(p.windowStartMs)}–${clock(p.windowEndMs)}`,
    r(p.canary),
    r(p.baseline),
    p.allowedUpper !== undefined ? r(p.allowedUpper) : v.bound ? `${e(v.bound.op)} ${r(v.bound.value)}` : '–',
    e(p.verdict),
    e(p.message),
  ]);
  return table(
    `${v.metric} in ${v.wave}: the numbers of the chart`,
    ['measured at', 'window (UTC)', 'canary', 'baseline', 'allowed', 'verdict', 'message'],
    rows,
    [2, 3, 4],
  );
}

function evidenceTable(v: MetricView): string {
  const rows: string[][] = [];
  const add = (k: string, val: string | undefined) => {
    if (val !== undefined && val !== '–') rows.push([e(k), val]);
  };
  add('rule', v.rule ? e(v.rule) : undefined);
  add('threshold as written', e(v.threshold));
  add('severity', e(v.severity));
  add('verdict', `<span class="verdict">${e(v.verdict)}</span>`);
  add('decided at', dateTime(v.decidedAtMs));
  if (v.ratio) {
    add('canary ÷ baseline', r(v.ratio.estimate));
    if (v.ratio.interval)
      add(
        `interval${v.ratio.confidence !== undefined ? ` (${r(v.ratio.confidence * 100)}%)` : ''}`,
        `${r(v.ratio.interval[0])} to ${r(v.ratio.interval[1])}`,
      );
    add('limit (most allowed ratio)', v.ratio.limit !== undefined ? r(v.ratio.limit) : undefined);
    add('detect (regression a pass rules out)', v.ratio.detect !== undefined ? r(v.ratio.detect) : undefined);
  }
  add('looks', v.looks !== undefined ? String(v.looks) : undefined);
  add('p-value', v.pValue !== undefined ? r(v.pValue) : undefined);
  const counts = (c: MetricView['canaryCounts']) =>
    c
      ? [
          c.events !== undefined
            ? `${formatCount(c.events)} events${c.exposure !== undefined ? ` of ${formatCount(c.exposure)}` : ''}`
            : '',
          c.samples !== undefined ? `${formatCount(c.samples)} samples` : '',
        ]
          .filter(Boolean)
          .join('; ')
      : undefined;
  add('canary counts', counts(v.canaryCounts) || undefined);
  add(
    `baseline counts${v.baselineCounts?.kind ? ` (${v.baselineCounts.kind})` : ''}`,
    counts(v.baselineCounts) || undefined,
  );
  return table(`${v.metric} in ${v.wave}: evidence`, ['', 'value'], rows);
}

async function metricFigure(v: MetricView): Promise<string> {
  const desc = `${v.metric} in wave ${v.wave}: canary against baseline over the observation window, ${v.verdict}`;
  const svg = await renderSvg(metricSpec(v), desc);
  const ratio = ratioSpec(v);
  const ratioSvg = ratio
    ? `<div class="svg ratio">${await renderSvg(ratio, `${v.metric} in wave ${v.wave}: canary ÷ baseline with its interval`)}</div>`
    : '';
  const how = v.bound
    ? 'The dashed line is the threshold.'
    : v.points.some((p) => p.allowedUpper !== undefined)
      ? 'The grey band runs from the baseline to the most the canary may be (baseline × limit).'
      : '';
  return `<figure class="metric-chart" data-wave="${e(v.wave)}" data-metric="${e(v.metric)}">
<h4>${e(v.metric)} <span class="verdict">${e(v.verdict)}</span></h4>
<div class="svg">${svg}</div>${ratioSvg}
<figcaption>Canary (blue, circles, solid) against baseline (orange, squares, dashed). ${how} The purple line is the moment the metric was decided. ${e(v.seriesNote)}${ratio ? ' Below: canary ÷ baseline at the decision (diamond) with its interval (bar), against the limit and the regression size a pass rules out.' : ''}</figcaption>
${metricTable(v)}${evidenceTable(v)}</figure>`;
}

async function waveSection(w: WaveView, maxRows: number): Promise<string> {
  const facts = table(
    `Wave ${w.id}`,
    ['', ''],
    [
      ['tier', e(w.tier)],
      ['phase', `<span class="phase">${e(w.phase)}</span>`],
      ['started', dateTime(w.startedAtMs)],
      [
        'observation window',
        `${clock(w.observationStartMs)}–${clock(w.observationEndMs)} (${duration(w.observationEndMs !== undefined && w.observationStartMs !== undefined ? w.observationEndMs - w.observationStartMs : undefined)})`,
      ],
      ['finished', dateTime(w.finishedAtMs)],
      ...(w.verdict ? [['analysis', `${e(w.verdict.verdict)}: ${e(w.verdict.message)}`]] : []),
      ...(w.message ? [['message', e(w.message)]] : []),
      ['outcomes', outcomeCounts(w)],
    ],
  );
  const shown = w.targets.slice(0, maxRows);
  const targets = table(
    `Targets of ${w.id}${shown.length < w.targets.length ? ` (first ${shown.length} of ${w.targets.length})` : ''}`,
    ['target', 'outcome', 'version', 'message'],
    shown.map((t) => [
      e(t.id),
      `${chip(OUTCOME_COLOURS[t.phase] ?? PALETTE.black)}${e(t.phase)}`,
      e(t.version ?? '–'),
      e(t.message ?? ''),
    ]),
  );
  const gates = [
    ...w.alerts.map((a) => [clock(a.atMs), 'alerts', e(a.when), e(a.verdict), e(a.message)]),
    ...w.slo.map((s) => [
      clock(s.atMs),
      'error budget',
      e(s.when),
      e(s.verdict),
      `${e(s.message)} (consumed ${s.consumed !== undefined ? `${r(s.consumed * 100)}%` : '–'} of ${r(s.limit * 100)}% allowed)`,
    ]),
  ];
  const metrics = await Promise.all(w.metrics.map(metricFigure));
  return `<section class="wave" id="wave-${e(w.id.replace(/[^A-Za-z0-9_-]/g, '-'))}" data-wave="${e(w.id)}">
<h3>Wave ${e(w.id)} — ${e(w.phase)}</h3>${facts}
<details><summary>Targets (${w.targets.length})</summary>${targets}</details>
${gates.length > 0 ? table(`Gate checks of ${w.id}`, ['at (UTC)', 'gate', 'when', 'verdict', 'message'], gates) : ''}
${metrics.length > 0 ? `<h4>Metrics of the observation window</h4>${metrics.join('\n')}` : w.verdict ? '' : '<p class="note">No metric analysis recorded for this wave.</p>'}
</section>`;
}

function auditSection(model: ReportModel): string {
  const approvals = model.approvals.map((a) => [dateTime(Date.parse(a.at)), e(a.gate), e(a.by)]);
  const decisions = model.decisions.map((d) => [
    dateTime(Date.parse(d.at)),
    e(d.decision),
    e(d.by),
    e(d.wave ?? ''),
    e(d.reason ?? ''),
  ]);
  const trips = model.breakerTrips.map((t) => [
    dateTime(Date.parse(t.at)),
    e(t.wave),
    e(t.reason),
    e(t.failedTargets.join(', ')),
  ]);
  const history = model.history.map((h) => [
    e(`${h.from ?? '?'} → ${h.to}`),
    e(h.phase),
    dateTime(h.startedAt ? Date.parse(h.startedAt) : undefined),
    dateTime(h.finishedAt ? Date.parse(h.finishedAt) : undefined),
    e(h.reason ?? ''),
  ]);
  return `<section id="audit"><h2>Gates, decisions, breaker</h2>
${approvals.length ? table('Approvals', ['at', 'gate', 'approved by'], approvals) : '<p>No gate approvals in this rollout.</p>'}
${decisions.length ? table('Decisions', ['at', 'decision', 'by', 'wave', 'reason'], decisions) : '<p>No decisions in this rollout.</p>'}
${trips.length ? table('Circuit-breaker trips', ['at', 'wave', 'reason', 'failed targets'], trips) : '<p>The circuit breaker did not trip.</p>'}
</section>
<section id="history"><h2>Earlier rollouts</h2>${history.length ? table('History (newest first)', ['versions', 'phase', 'started', 'finished', 'reason'], history) : '<p>None recorded.</p>'}</section>`;
}

/**
 * Renders the report of a rollout's state as one self-contained HTML page.
 * @param state the state as read from its backend
 * @returns the page (UTF-8 text)
 */
export async function renderReport(state: RolloutState, opts: ReportOptions = {}): Promise<string> {
  const nowMs = opts.nowMs ?? Date.now();
  const maxRows = opts.maxTargetRows ?? 200;
  const model = buildReportModel(state, opts.hints, nowMs);
  const waves = await Promise.all(model.waves.map((w) => waveSection(w, maxRows)));
  const title = `Rollout ${model.name}: ${model.fromVersion ?? '?'} → ${model.toVersion ?? '?'}`;
  const metricCount = model.waves.reduce((n, w) => n + w.metrics.length, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${e(title)}</h1>
<p><span class="phase">${e(model.phase)}</span>${model.isRollback ? ' (a rollback)' : ''}${model.condition ? ` — ${e(model.condition.reason)}: ${e(model.condition.message)}` : ''}</p>
<p class="note">Started ${dateTime(model.startedAtMs)}, state last written ${dateTime(model.updatedAtMs)}, report made ${dateTime(nowMs)}. ${model.waves.length} wave(s), ${metricCount} metric chart(s). Numbers are rounded to three significant digits; the state file keeps the exact values.</p>
<nav><a href="#timeline">Timeline</a> · <a href="#targets">Targets</a> · <a href="#waves">Waves</a> · <a href="#audit">Gates and decisions</a> · <a href="#history">History</a></nav>
${await timelineSection(model)}
${await targetsSection(model)}
<section id="waves"><h2>Waves</h2>${waves.join('\n') || '<p>No wave has started.</p>'}</section>
${auditSection(model)}
</main></body></html>
`;
}
