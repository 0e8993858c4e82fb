/**
 * The report's charts: Vega-Lite specifications compiled and rendered to SVG in
 * Node with Vega's headless View (`renderer: 'none'`, `toSVG`), so the page
 * needs no script and no network. Colours are the Okabe–Ito palette (safe for
 * the common colour-vision deficiencies); every series is also told apart by
 * shape or dash, and every chart has a table of the same numbers beneath it.
 * This module is heavy (Vega): the CLI imports it only for `report`.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { MetricView, ReportModel, WaveView } from './model.js';

/** Okabe–Ito colours. */
export const PALETTE = {
  blue: '#0072B2',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  grey: '#999999',
  black: '#000000',
} as const;

/** Target outcome → colour (the same in the chart and the legend of the tables). */
export const OUTCOME_COLOURS: Record<string, string> = {
  Succeeded: PALETTE.green,
  Failed: PALETTE.vermillion,
  RolledBack: PALETTE.orange,
  RollbackFailed: PALETTE.purple,
  Progressing: PALETTE.skyBlue,
  Pending: PALETTE.grey,
  Unknown: PALETTE.black,
};

const SPAN_COLOURS: Record<string, string> = {
  steps: PALETTE.blue,
  observation: PALETTE.skyBlue,
  paused: PALETTE.yellow,
  rollback: PALETTE.orange,
};

const MARK_SHAPES: Record<string, string> = {
  approval: 'triangle-up',
  decision: 'diamond',
  'breaker trip': 'cross',
  'analysis verdict': 'circle',
  'alert check': 'square',
  'error-budget check': 'triangle-down',
  condition: 'triangle-right',
};

const TIME_AXIS = { format: '%H:%M:%S', title: 'time (UTC)', labelOverlap: true } as const;

const CONFIG = {
  font: 'sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 11 },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom' },
  background: 'white',
} as const;

/** Renders a Vega-Lite specification to an SVG string (no browser). */
export async function renderSvg(spec: TopLevelSpec, description: string): Promise<string> {
  const vegaSpec = compile({ ...spec, description, config: CONFIG }).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.replace('<svg ', `<svg role="img" aria-label="${description.replace(/[&<>"]/g, ' ')}" `);
  } finally {
    view.finalize();
  }
}

/** The rollout on a real time axis: a row per wave, one for the rollout's gates and decisions, one for a rollback. */
export function timelineSpec(model: ReportModel): TopLevelSpec {
  const spanKinds = [...new Set(model.spans.map((s) => s.kind))];
  const markKinds = [...new Set(model.marks.map((m) => m.kind))];
  const y = { field: 'row', type: 'nominal', sort: model.rows, title: null, scale: { domain: model.rows } } as const;
  return {
    width: 760,
    height: Math.max(60, model.rows.length * 24),
    layer: [
      {
        data: { values: model.spans.map((s) => ({ ...s })) },
        mark: { type: 'bar', height: 14 },
        encoding: {
          y,
          x: { field: 'startMs', type: 'temporal', scale: { type: 'utc' }, axis: TIME_AXIS },
          x2: { field: 'endMs' },
          color: {
            field: 'kind',
            type: 'nominal',
            title: 'span',
            scale: { domain: spanKinds, range: spanKinds.map((k) => SPAN_COLOURS[k]!) },
          },
        },
      },
      {
        data: { values: model.marks.map((m) => ({ ...m })) },
        mark: { type: 'point', filled: true, size: 70, color: PALETTE.black, opacity: 0.85 },
        encoding: {
          y,
          x: { field: 'atMs', type: 'temporal', scale: { type: 'utc' } },
          shape: {
            field: 'kind',
            type: 'nominal',
            title: 'moment',
            scale: { domain: markKinds, range: markKinds.map((k) => MARK_SHAPES[k]!) },
          },
        },
      },
    ],
    resolve: { legend: { color: 'independent', shape: 'independent' } },
  } as unknown as TopLevelSpec;
}

/** Every wave's targets, one square each, coloured (and listed beneath) by outcome. */
export function targetsSpec(waves: WaveView[]): TopLevelSpec {
  const values = waves.flatMap((w) =>
    w.targets.map((t, i) => ({ wave: w.id, position: i + 1, id: t.id, outcome: t.phase })),
  );
  const outcomes = Object.keys(OUTCOME_COLOURS).filter((o) => values.some((v) => v.outcome === o));
  const widest = Math.max(1, ...waves.map((w) => w.targets.length));
  return {
    width: Math.min(760, Math.max(120, widest * 18)),
    height: Math.max(40, waves.length * 22),
    data: { values },
    mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
    encoding: {
      y: { field: 'wave', type: 'nominal', sort: waves.map((w) => w.id), title: null },
      x: {
        field: 'position',
        type: 'ordinal',
        title: 'target (in the order it started)',
        axis: { labelOverlap: true },
      },
      color: {
        field: 'outcome',
        type: 'nominal',
        title: 'outcome',
        scale: { domain: outcomes, range: outcomes.map((o) => OUTCOME_COLOURS[o]!) },
      },
    },
  } as unknown as TopLevelSpec;
}

/**
 * One metric over its window: canary and baseline as recorded, the threshold (a dashed
 * line) or the allowed increase over the baseline (a band), and the moment it was decided.
 */
export function metricSpec(view: MetricView): TopLevelSpec {
  const series = view.points.flatMap((p) => [
    ...(p.canary !== undefined ? [{ atMs: p.atMs, series: 'canary', value: p.canary }] : []),
    ...(p.baseline !== undefined ? [{ atMs: p.atMs, series: 'baseline', value: p.baseline }] : []),
  ]);
  const seriesNames = ['canary', 'baseline'].filter((s) => series.some((v) => v.series === s));
  const x = {
    field: 'atMs',
    type: 'temporal',
    scale: { type: 'utc', domain: [view.fromMs, view.toMs] },
    axis: TIME_AXIS,
  } as const;
  const layers: unknown[] = [];
  const band = view.points.filter((p) => p.allowedUpper !== undefined && p.baseline !== undefined);
  if (band.length > 0)
    layers.push({
      data: {
        values: band.map((p) => ({ atMs: p.atMs, low: p.baseline, high: p.allowedUpper, what: 'allowed increase' })),
      },
      // One look: a thick bar from the baseline to the most allowed, at the moment it was taken.
      mark:
        band.length === 1
          ? { type: 'rule', opacity: 0.45, color: PALETTE.grey, strokeWidth: 14 }
          : { type: 'area', opacity: 0.3, color: PALETTE.grey },
      encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
    });
  if (view.bound)
    layers.push(
      {
        data: { values: [{ value: view.bound.value }] },
        mark: { type: 'rule', color: PALETTE.vermillion, strokeDash: [6, 4], strokeWidth: 2 },
        encoding: { y: { field: 'value', type: 'quantitative' } },
      },
      {
        data: { values: [{ value: view.bound.value, text: `threshold ${view.threshold}` }] },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: PALETTE.vermillion, x: 0 },
        encoding: { y: { field: 'value', type: 'quantitative' }, text: { field: 'text' } },
      },
    );
  layers.push({
    data: { values: [{ atMs: view.decidedAtMs, text: `decided: ${view.verdict}` }] },
    layer: [
      { mark: { type: 'rule', color: PALETTE.purple, strokeWidth: 2 }, encoding: { x } },
      {
        mark: { type: 'text', align: 'right', dx: -4, y: 8, color: PALETTE.purple },
        encoding: { x, text: { field: 'text' } },
      },
    ],
  });
  if (series.length > 0)
    layers.push({
      data: { values: series },
      mark: { type: 'line', point: { filled: true, size: 60 } },
      encoding: {
        x,
        y: { field: 'value', type: 'quantitative', title: view.metric, scale: { zero: true } },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: seriesNames, range: [PALETTE.blue, PALETTE.orange].slice(0, seriesNames.length) },
        },
        shape: { field: 'series', type: 'nominal', scale: { domain: seriesNames, range: ['circle', 'square'] } },
        strokeDash: {
          field: 'series',
          type: 'nominal',
          scale: {
            domain: seriesNames,
            range: [
              [1, 0],
              [5, 3],
            ],
          },
        },
      },
    });
  return { width: 560, height: 200, layer: layers } as unknown as TopLevelSpec;
}

/**
 * Canary ÷ baseline at the decision with its interval, against the most allowed ratio
 * (`limit`) and the regression a pass rules out (`detect`). An unbounded upper end is
 * drawn to the chart's edge (the table says ∞).
 */
export function ratioSpec(view: MetricView): TopLevelSpec | undefined {
  const r = view.ratio;
  if (!r || (r.estimate === undefined && r.interval === undefined)) return undefined;
  const finite = [r.estimate, r.interval?.[0], r.interval?.[1], r.limit, r.detect, 1].filter(
    (v): v is number => v !== undefined && Number.isFinite(v),
  );
  const top = Math.max(...finite) * 1.25;
  const lo = r.interval?.[0] ?? r.estimate!;
  const hi = r.interval && Number.isFinite(r.interval[1]) ? r.interval[1] : top;
  // Labels on three lines, so close limits (1, 1.5, 2) do not print over each other.
  const rules = [
    { value: 1, text: 'no change (1)', colour: PALETTE.grey },
    ...(r.limit !== undefined ? [{ value: r.limit, text: `limit ${round(r.limit)}`, colour: PALETTE.vermillion }] : []),
    ...(r.detect !== undefined ? [{ value: r.detect, text: `detect ${round(r.detect)}`, colour: PALETTE.blue }] : []),
  ].map((rule, i) => ({ ...rule, labelY: 8 + i * 11 }));
  const x = { type: 'quantitative', scale: { domain: [0, top] }, title: 'canary ÷ baseline' } as const;
  return {
    width: 560,
    height: 80,
    layer: [
      {
        data: { values: rules },
        mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 2 },
        encoding: { x: { ...x, field: 'value' }, color: { field: 'colour', type: 'nominal', scale: null } },
      },
      {
        data: { values: rules },
        mark: { type: 'text', dx: 3, align: 'left', fontSize: 10 },
        encoding: {
          x: { ...x, field: 'value' },
          y: { field: 'labelY', type: 'quantitative', scale: null },
          text: { field: 'text' },
        },
      },
      {
        data: { values: [{ lo, hi, y: 'interval' }] },
        mark: { type: 'rule', strokeWidth: 3, color: PALETTE.black, y: 58 },
        encoding: { x: { ...x, field: 'lo' }, x2: { field: 'hi' } },
      },
      ...(r.estimate !== undefined && Number.isFinite(r.estimate)
        ? [
            {
              data: { values: [{ estimate: r.estimate }] },
              mark: { type: 'point', filled: true, size: 90, shape: 'diamond', color: PALETTE.black, y: 58 },
              encoding: { x: { ...x, field: 'estimate' } },
            },
          ]
        : []),
    ],
  } as unknown as TopLevelSpec;
}

function round(v: number): string {
  return String(Number(v.toPrecision(3)));
}
