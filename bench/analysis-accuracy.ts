/**
 * Analysis accuracy sweep: how often a good canary is wrongly failed (false
 * positive) and how often a canary with twice the error rate is caught
 * (detection), over repeated runs against a real local fleet with noisy
 * synthetic traffic, through the real `scrape` provider and `analyzeWindow`.
 *
 *   npx tsx bench/analysis-accuracy.ts [--runs 20] [--window 10s] [--rps 200]
 *                                      [--error-rate 0.01] [--canary 3] [--baseline 9] [--write]
 *
 * Each run upgrades the canary agents to `1.1.0` (good) or `1.1.0-errors`
 * (2× the base 5xx ratio), opens a window, and analyses it with several
 * error-rate metrics at once (relative limits of 10%, 25%, 50% and 100%, and
 * the statistical Mann-Whitney test over per-target ratios), so every
 * threshold is judged on the same traffic. Runs alternate good and bad. The
 * noise is the agents' own: each request fails with probability `error-rate`
 * (binomial counts) from a per-agent random stream, seeded per fleet.
 * `--write` replaces the `## Analysis accuracy` section of bench/RESULTS.md.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { analyzeWindow, beginAnalysisWindow } from '../src/analysis/analyze.js';
import { createProvider } from '../src/analysis/providers/index.js';
import type { Cohort } from '../src/analysis/types.js';
import { startLocalFleet } from '../src/fleet/local-fleet.js';
import { parseDuration } from '../src/spec/duration.js';
import type { AnalysisSpec, MetricSpec, Target } from '../src/spec/types.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    window: { type: 'string', default: '10s' },
    rps: { type: 'string', default: '200' },
    'error-rate': { type: 'string', default: '0.01' },
    canary: { type: 'string', default: '3' },
    baseline: { type: 'string', default: '9' },
    seed: { type: 'string', default: '7' },
    write: { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const WINDOW_MS = parseDuration(values.window);
const RPS = Number(values.rps);
const ERROR_RATE = Number(values['error-rate']);
const CANARY = Number(values.canary);
const BASELINE = Number(values.baseline);
const SEED = Number(values.seed);

const QUERY = 'ratio(http_requests_total{code=~"5.."}, http_requests_total)';
const common: Omit<MetricSpec, 'name'> = {
  query: QUERY,
  baseline: { cohort: 'stable' },
  severity: 'critical',
  noData: 'pause',
  intervalMs: WINDOW_MS,
  count: 1,
  failureLimit: 0,
  inconclusiveLimit: 0,
};
const LIMITS = [10, 25, 50, 100];
const SPEC: AnalysisSpec = {
  provider: { type: 'scrape', config: {} },
  noData: 'pause',
  metrics: [
    ...LIMITS.map((limit): MetricSpec => ({ ...common, name: `no increase > ${limit}%`, maxIncreasePercent: limit })),
    { ...common, name: 'mann-whitney (per-target ratios)', statistical: { passScore: 95, marginalScore: 75 } },
  ],
};

async function upgrade(targets: readonly Target[], version: string): Promise<void> {
  await Promise.all(
    targets.map(async (t) => {
      const res = await request(`http://${t.address}/upgrade?version=${version}`, { method: 'POST' });
      await res.body.text();
      if (res.statusCode >= 300) throw new Error(`upgrade ${t.id}: HTTP ${res.statusCode}`);
    }),
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface Tally {
  fail: number;
  inconclusive: number;
  pass: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const fleet = await startLocalFleet({
    count: CANARY + BASELINE,
    version: '1.0.0',
    trafficRps: RPS,
    baseErrorRate: ERROR_RATE,
    seed: SEED,
    agentsPerProcess: CANARY + BASELINE,
    upgradeMs: 50,
    idPrefix: 'acc-',
  });
  const canary: Cohort = { name: 'canary', targets: fleet.targets.slice(0, CANARY) };
  const baseline: Cohort = { name: 'baseline', targets: fleet.targets.slice(CANARY) };
  const provider = createProvider(SPEC.provider, { env: {}, mask: () => undefined, now: () => Date.now() });
  const tallies = new Map<string, { good: Tally; bad: Tally }>(
    SPEC.metrics.map((m) => [
      m.name,
      { good: { fail: 0, inconclusive: 0, pass: 0 }, bad: { fail: 0, inconclusive: 0, pass: 0 } },
    ]),
  );
  const ratios: { good: number[]; bad: number[] } = { good: [], bad: [] };
  try {
    for (let run = 0; run < 2 * RUNS; run++) {
      const kind = run % 2 === 0 ? 'good' : 'bad';
      await upgrade(canary.targets, kind === 'good' ? `1.1.${run}` : `1.1.${run}-errors`);
      await sleep(300); // the simulated restart (50 ms) and a few traffic ticks
      const window = { startMs: Date.now(), endMs: Date.now() + WINDOW_MS };
      await beginAnalysisWindow(provider, { cohort: canary, baseline, window });
      const result = await analyzeWindow(SPEC, provider, {
        cohort: canary,
        baseline,
        window,
        now: () => Date.now(),
        sleep,
      });
      for (const m of result.metrics) {
        const t = tallies.get(m.metric)?.[kind];
        if (!t) continue;
        if (m.phase === 'Failed') t.fail++;
        else if (m.phase === 'Successful') t.pass++;
        else t.inconclusive++;
      }
      const first = result.measurements[0];
      if (first?.value !== undefined && first.baselineValue !== undefined && first.baselineValue > 0)
        ratios[kind].push(first.value / first.baselineValue);
      process.stderr.write(
        `run ${run + 1}/${2 * RUNS} ${kind}: ${result.metrics.map((m) => `${m.metric}=${m.phase}`).join(', ')}\n`,
      );
    }
  } finally {
    await fleet.stop();
  }
  const pct = (n: number): string => `${Math.round((100 * n) / RUNS)}%`;
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const spread = (xs: number[]): string => {
    const s = [...xs].sort((a, b) => a - b);
    return `${(s[0] ?? Number.NaN).toFixed(2)}–${(s[s.length - 1] ?? Number.NaN).toFixed(2)} (median ${median(xs).toFixed(2)})`;
  };
  const rows = [...tallies].map(
    ([name, t]) =>
      `| ${name} | ${pct(t.good.fail)} (${t.good.fail}/${RUNS}) | ${pct(t.good.inconclusive)} | ${pct(t.bad.fail)} (${t.bad.fail}/${RUNS}) | ${pct(t.bad.inconclusive)} |`,
  );
  const requestsPerWindow = Math.round((RPS * WINDOW_MS) / 1000);
  const section = [
    '## Analysis accuracy',
    '',
    `Measured by \`npx tsx bench/analysis-accuracy.ts --runs ${RUNS} --window ${values.window} --rps ${RPS} --error-rate ${ERROR_RATE} --canary ${CANARY} --baseline ${BASELINE}\``,
    `on ${new Date(started).toISOString().slice(0, 10)} (Node ${process.version}, ${cpus().length} cores), ${Math.round((Date.now() - started) / 1000)} s.`,
    '',
    `Setup: ${CANARY} canary and ${BASELINE} baseline agents of the local fleet (real processes), ${RPS} synthetic requests/s each, base 5xx ratio ${ERROR_RATE};`,
    `each run is one ${values.window} observation window analysed through the \`scrape\` provider and \`analyzeWindow\``,
    `(about ${requestsPerWindow} requests and ${Math.round(requestsPerWindow * ERROR_RATE)} errors per agent per window). ${RUNS} runs with a good canary`,
    `(\`1.1.x\`) and ${RUNS} with twice the error rate (\`1.1.x-errors\`), alternating; every metric judges the same runs.`,
    '',
    '| error-rate metric (canary vs baseline) | good canary failed (false positive) | good inconclusive | 2× errors failed (detection) | 2× inconclusive |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Canary / baseline error ratio: good ${spread(ratios.good)}, 2× errors ${spread(ratios.bad)}.`,
    '',
    "Reading: a relative limit must sit above the window's noise. With about a hundred errors per",
    'cohort per window the canary/baseline ratio of a good version spreads by ±30% or more, so a',
    '10% limit fails good canaries; a limit halfway to the regression you want to catch (50% for 2×)',
    'separates them. The Mann-Whitney test needs no limit but per-target samples (3+ targets per',
    'cohort); its nominal false-positive rate is its 2.5% significance level (the normal approximation',
    'with 3 vs 9 samples may run somewhat above it). Longer windows or more',
    'traffic shrink the noise as 1/√errors (docs/analysis.md#accuracy).',
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (values.write) await writeSection(section);
}

async function writeSection(section: string): Promise<void> {
  const path = new URL('./RESULTS.md', import.meta.url);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    text = '# Benchmark results\n\n';
  }
  const start = text.indexOf('## Analysis accuracy');
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${section}`;
  } else {
    const next = text.indexOf('\n## ', start + 1);
    text = `${text.slice(0, start)}${section}${next < 0 ? '' : `\n${text.slice(next + 1)}`}`;
  }
  await writeFile(path, `${text.trimEnd()}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
