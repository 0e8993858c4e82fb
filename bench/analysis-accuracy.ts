/**
 * Analysis accuracy sweep (issue 11): how often the canary analysis rolls a
 * good version back, how often it stops a version with twice the error rate,
 * and how long it takes to decide — through a **real Prometheus** scraping a
 * noisy local fleet, the real `prometheus` provider and `analyzeWindow` with
 * `stopEarly`, judging seed 000's criteria as written (the defaults only).
 *
 *   npx tsx bench/analysis-accuracy.ts            # the full sweep (≈ 15–25 min), prints the section
 *   npx tsx bench/analysis-accuracy.ts --write    # … and replaces `## Analysis accuracy` in bench/RESULTS.md
 *   npx tsx bench/analysis-accuracy.ts --quick    # a smoke run (≈ 2 min, too few runs for any figure)
 *   npm run bench -- --only accuracy              # the same full sweep from bench/run.ts (opt-in)
 *
 * Setup. Several independent experiments run at once on one fleet: each
 * *group* is 1 canary agent and `--baseline` baseline agents (real agent
 * processes, synthetic traffic of `rps` requests/s per agent, each request a 5xx
 * with probability `--error-rate` from the agent's own random stream), with
 * its own cohort pair, so its own `instance=~"…"` regexes. A group takes jobs
 * from a shared queue: upgrade its canary to `1.1.N` (good), `1.1.N-errors`
 * (2× the error rate) or `1.1.N-errors20` (20×: 20% errors at a 1% base), wait
 * until Prometheus has scraped the new version 3 times, open a window of at most
 * `observe`, and analyse it. Baseline agents never change.
 *
 * The criteria are written as a spec would (YAML, through `parseSpec`, so
 * every default is the shipped one): seed 000's API 5xx share with
 * `maxIncrease: 10%`, `baseline: { cohort: stable }`, `severity: critical`,
 * and the same counters with `maxIncrease: 5%` (seed 000: warning). Both are
 * anytime-valid rate-ratio tests (confidence 99%, detect 2x, looks every
 * window / 10). Controls: a group with no traffic, and Prometheus stopped
 * mid-window — neither may ever pass.
 *
 * A hard time limit (`--time-limit`, default 35 min) stops dispatching jobs and
 * aborts the analyses under way (they then count as inconclusive).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import { request } from 'undici';
import { analyzeWindow } from '../src/analysis/analyze.js';
import type { AnalysisAssessment } from '../src/analysis/extra-types.js';
import { createProvider } from '../src/analysis/providers/index.js';
import type { Cohort, MetricProvider } from '../src/analysis/types.js';
import { startLocalFleet, type LocalFleet } from '../src/fleet/local-fleet.js';
import { parseSpec } from '../src/spec/parse.js';
import type { AnalysisSpec, Target } from '../src/spec/types.js';
import {
  locatePrometheus,
  startPrometheus,
  waitForSamples,
  type TestPrometheus,
} from '../test/analysis/helpers/prometheus.js';
import {
  describeMachine,
  loadAverage,
  mergeResults,
  readResults,
  RESULTS_PATH,
  splitSections,
  type Section,
} from './lib/results.js';

/** Sweep settings (all durations in ms). */
export interface AccuracyOptions {
  /** Main sweep: requests/s per agent, max window, groups, runs per kind. */
  rps: number;
  observeMs: number;
  groups: number;
  good: number;
  bad: number;
  severe: number;
  /** Base 5xx ratio of a plain version. */
  errorRate: number;
  /** Baseline agents per group (one canary each). */
  baseline: number;
  /** Sensitivity grid: traffic levels × windows, `gridRuns` good and `gridRuns` 2× runs per cell; groups per extra level. */
  gridRps: number[];
  gridWindowsMs: number[];
  gridRuns: number;
  gridGroups: number;
  /** Controls: no-traffic runs, and one Prometheus-down round over the main groups. */
  noTrafficRuns: number;
  prometheusDown: boolean;
  timeLimitMs: number;
  seed: number;
  log: (line: string) => void;
  /** The command line to record. */
  command: string;
  /** Start the section with when, how and at what load it was recorded (bench/run.ts adds its own). */
  stamp?: boolean;
}

type Kind = 'good' | '2x' | '20x';
interface Job {
  rps: number;
  observeMs: number;
  kind: Kind;
  /** `main`, `grid`, `no-traffic`. */
  set: 'main' | 'grid' | 'no-traffic';
}
interface RunRecord extends Job {
  verdict: 'pass' | 'fail' | 'inconclusive';
  severity?: string;
  /** Each metric's verdict, in the spec's order. */
  metricVerdicts: string[];
  /** From window start to the verdict (ms). */
  decideMs: number;
  decided: boolean;
  /** Canary events (5xx) counted at the deciding (else last) look. */
  canaryEvents?: number;
  /** Exposure Prometheus reported at the last look ÷ requests the canary really served then (extrapolation of `increase`). */
  exposureFactor?: number;
  message: string;
}

interface Group {
  canary: Target;
  baseline: Target[];
  rps: number;
}

const QUERY =
  'sum(rate(http_requests_total{code=~"5..",instance=~"{{targets.regex}}"}[{{window}}])) / sum(rate(http_requests_total{instance=~"{{targets.regex}}"}[{{window}}]))';

/** Seed 000's criteria as a spec writes them, parsed and normalized by Fleetgate itself (defaults included). */
export function seedCriteria(): AnalysisSpec {
  const yaml = [
    'apiVersion: fleetgate/v1alpha1',
    'kind: Rollout',
    'name: accuracy',
    'component: agent',
    'version: 1.1.0',
    'inventory:',
    '  targets:',
    '    - { id: a-1, address: 127.0.0.1:1 }',
    'steps:',
    "  version: { http: { url: 'http://{{target.address}}/version', json: version } }",
    "  upgrade: { http: { method: POST, url: 'http://{{target.address}}/upgrade?version={{version}}' } }",
    "  verify: { http: { url: 'http://{{target.address}}/readyz' } }",
    'analysis:',
    "  provider: { prometheus: { address: '${PROM_URL}' } }",
    '  metrics:',
    '    - name: 5xx-share-10',
    `      query: '${QUERY}'`,
    '      maxIncrease: 10%',
    '      baseline: { cohort: stable }',
    '      severity: critical',
    '    - name: 5xx-share-5',
    `      query: '${QUERY}'`,
    '      maxIncrease: 5%',
    '      baseline: { cohort: stable }',
    '',
  ].join('\n');
  const parsed = parseSpec(yaml, 'accuracy.yaml');
  if (!parsed.ok) throw new Error(`the sweep's spec does not parse: ${parsed.errors.map((e) => e.message).join('; ')}`);
  if (!parsed.spec.analysis) throw new Error('the sweep spec has no analysis');
  return parsed.spec.analysis;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });

async function upgradeTo(target: Target, version: string): Promise<void> {
  const res = await request(`http://${target.address}/upgrade?version=${encodeURIComponent(version)}`, {
    method: 'POST',
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.text();
  if (res.statusCode !== 200 && res.statusCode !== 202) throw new Error(`upgrade ${target.id}: HTTP ${res.statusCode}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await request(`http://${target.address}/version`, { headersTimeout: 2000, bodyTimeout: 2000 });
      const body = JSON.parse(await r.body.text()) as { version?: string; state?: string };
      if (body.version === version && body.state === 'ready') return;
    } catch {
      // restarting
    }
    if (Date.now() > deadline) throw new Error(`${target.id} not ready on ${version}`);
    await sleep(50);
  }
}

/** Clopper-Pearson (exact) interval of x successes in n at `level` (0.95), from the Beta quantile. */
export function clopperPearson(x: number, n: number, level = 0.95): [number, number] {
  if (n === 0) return [0, 1];
  const a = (1 - level) / 2;
  const lower = x === 0 ? 0 : betaQuantile(a, x, n - x + 1);
  const upper = x === n ? 1 : betaQuantile(1 - a, x + 1, n - x);
  return [lower, upper];
}

/** Nearest-rank percentile of a non-empty list (q in 0..1). */
function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

const pct = (v: number): string => {
  const p = 100 * v;
  return p === 0 || p === 100 ? `${p}%` : p < 1 || p > 99 ? `${p.toFixed(2)}%` : `${p.toFixed(1)}%`;
};
/** `3/100 = 3.0% (0.62–8.5%)`: the count, the rate and its 95% Clopper-Pearson interval. */
function rate(x: number, n: number): string {
  if (n === 0) return 'no runs';
  const [lo, hi] = clopperPearson(x, n);
  return `${x}/${n} = ${pct(x / n)} (95% CI ${pct(lo)}–${pct(hi)})`;
}
const sec = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');

function shuffle<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0 || 1;
  const rnd = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const versionOf = (kind: Kind, n: number): string =>
  kind === 'good' ? `1.1.${n}` : kind === '2x' ? `1.1.${n}-errors` : `1.1.${n}-errors20`;

/** Runs the sweep and returns the `## Analysis accuracy` section. */
export async function runAccuracy(o: AccuracyOptions): Promise<Section> {
  const started = Date.now();
  const loadBefore = loadAverage();
  const binary = locatePrometheus();
  if (binary === undefined) throw new Error('Prometheus is not installed (scripts/prometheus.sh)');
  const spec = seedCriteria();
  const perGroup = 1 + o.baseline;

  // One fleet per traffic level (the agents' rate is a process option); the no-traffic control is one more group.
  const levels = new Map<number, number>([[o.rps, o.groups]]);
  if (o.gridRuns > 0) for (const r of o.gridRps) if (!levels.has(r)) levels.set(r, o.gridGroups);
  if (o.noTrafficRuns > 0) levels.set(0, 1);
  const fleets: LocalFleet[] = [];
  const groups: Group[] = [];
  let prom: TestPrometheus | undefined;
  const records: RunRecord[] = [];
  const loads: number[] = [];
  const abort = new AbortController();
  let timedOut = false;
  const limitTimer = setTimeout(() => {
    timedOut = true;
    o.log(`time limit ${sec(o.timeLimitMs)} reached: aborting the analyses under way`);
    abort.abort();
  }, o.timeLimitMs);
  const loadTimer = setInterval(() => loads.push(loadavg()[0] as number), 10_000);
  let promDown: RunRecord[] = [];
  try {
    let seed = o.seed;
    for (const [rps, n] of levels) {
      const fleet = await startLocalFleet({
        count: n * perGroup,
        version: '1.0.0',
        trafficRps: rps,
        baseErrorRate: o.errorRate,
        seed: seed++,
        agentsPerProcess: Math.min(15, n * perGroup),
        upgradeMs: 50,
        idPrefix: `acc${rps}-`,
        startupTimeoutMs: 60_000,
      });
      fleets.push(fleet);
      for (let g = 0; g < n; g++) {
        const ts = fleet.targets.slice(g * perGroup, (g + 1) * perGroup);
        groups.push({ canary: ts[0] as Target, baseline: ts.slice(1), rps });
      }
    }
    const addresses = fleets.flatMap((f) => f.targets.map((t) => t.address));
    prom = await startPrometheus(binary, addresses);
    o.log(`${addresses.length} agents in ${groups.length} groups, Prometheus ${prom.url}`);
    const provider: MetricProvider = createProvider(spec.provider, {
      env: { PROM_URL: prom.url },
      mask: () => undefined,
      now: () => Date.now(),
    });

    // The jobs, in an order that mixes kinds (so a busy minute hits good and bad runs alike).
    const jobs: Job[] = [];
    const add = (n: number, j: Job): void => {
      for (let i = 0; i < n; i++) jobs.push({ ...j });
    };
    add(o.good, { rps: o.rps, observeMs: o.observeMs, kind: 'good', set: 'main' });
    add(o.bad, { rps: o.rps, observeMs: o.observeMs, kind: '2x', set: 'main' });
    add(o.severe, { rps: o.rps, observeMs: o.observeMs, kind: '20x', set: 'main' });
    if (o.gridRuns > 0) {
      for (const r of o.gridRps) {
        for (const w of o.gridWindowsMs) {
          if (r === o.rps && w === o.observeMs) continue; // the main sweep is that cell
          add(o.gridRuns, { rps: r, observeMs: w, kind: 'good', set: 'grid' });
          add(o.gridRuns, { rps: r, observeMs: w, kind: '2x', set: 'grid' });
        }
      }
    }
    add(o.noTrafficRuns, {
      rps: 0,
      observeMs: Math.min(...o.gridWindowsMs, o.observeMs),
      kind: 'good',
      set: 'no-traffic',
    });
    const queue = shuffle(jobs, o.seed);
    const total = queue.length;
    let seq = 0;

    const runJob = async (group: Group, job: Job): Promise<RunRecord> => {
      const version = versionOf(job.kind, seq++);
      await upgradeTo(group.canary, version);
      // Three scrapes of the new series before the window opens, so `increase` covers the window from its start.
      if (job.rps > 0) await waitForSamples(prom as TestPrometheus, [group.canary.address], 3, version);
      else await sleep(3000);
      const cohort: Cohort = { name: 'canary', targets: [group.canary] };
      const baseline: Cohort = { name: 'baseline', targets: group.baseline };
      const startMs = Date.now();
      const window = { startMs, endMs: startMs + job.observeMs };
      const result: AnalysisAssessment = await analyzeWindow(spec, provider, {
        cohort,
        baseline,
        window,
        now: () => Date.now(),
        sleep: (ms) => sleep(ms, abort.signal),
        signal: abort.signal,
        stopEarly: true,
      });
      const decidedAt = result.decidedAtMs ?? Date.now();
      const first = result.metrics[0]?.measurements[0];
      const ev = first?.evidence;
      let exposureFactor: number | undefined;
      if (ev?.canary?.exposure !== undefined && first && job.rps > 0) {
        const lookS = (Date.parse(first.window.end) - Date.parse(first.window.start)) / 1000;
        if (lookS > 0) exposureFactor = ev.canary.exposure / (job.rps * lookS);
      }
      return {
        ...job,
        verdict: result.verdict,
        ...(result.severity && { severity: result.severity }),
        metricVerdicts: result.metrics.map((m) => m.verdict),
        decideMs: decidedAt - startMs,
        decided: result.metrics.some((m) => m.decided === true),
        ...(exposureFactor !== undefined && { exposureFactor }),
        ...(ev?.canary?.events !== undefined && { canaryEvents: ev.canary.events }),
        message: result.message,
      };
    };

    const worker = async (group: Group): Promise<void> => {
      for (;;) {
        if (abort.signal.aborted) return;
        const k = queue.findIndex((j) => j.rps === group.rps);
        if (k < 0) return;
        const job = queue.splice(k, 1)[0] as Job;
        try {
          const rec = await runJob(group, job);
          if (abort.signal.aborted && !rec.decided) return; // cut by the time limit: not a measurement
          records.push(rec);
          o.log(
            `${records.length}/${total} ${job.set} ${job.rps}/s ${sec(job.observeMs)} ${job.kind}: ${rec.verdict}${rec.severity ? ` (${rec.severity})` : ''} after ${sec(rec.decideMs)} [${rec.metricVerdicts.join(', ')}]`,
          );
        } catch (err) {
          o.log(`job failed (${job.kind} on ${group.canary.id}): ${err instanceof Error ? err.message : String(err)}`);
          queue.push(job);
          await sleep(2000, abort.signal);
        }
      }
    };
    await Promise.all(groups.map(worker));

    // Control: Prometheus stops 1 s into a window (before the first look) on every main group.
    if (o.prometheusDown && !abort.signal.aborted) {
      const main = groups.filter((g) => g.rps === o.rps);
      const windowMs = Math.min(...o.gridWindowsMs, o.observeMs);
      // Every group upgrades and waits for its samples first; then the windows open and Prometheus goes away 1 s in.
      const versions = main.map(() => versionOf('good', seq++));
      await Promise.all(main.map((g, i) => upgradeTo(g.canary, versions[i] as string)));
      await Promise.all(main.map((g, i) => waitForSamples(prom as TestPrometheus, [g.canary.address], 3, versions[i])));
      const startMs = Date.now();
      const runs = main.map(async (group): Promise<RunRecord> => {
        const result = await analyzeWindow(spec, provider, {
          cohort: { name: 'canary', targets: [group.canary] },
          baseline: { name: 'baseline', targets: group.baseline },
          window: { startMs, endMs: startMs + windowMs },
          now: () => Date.now(),
          sleep: (ms) => sleep(ms, abort.signal),
          signal: abort.signal,
          stopEarly: true,
        });
        return {
          rps: o.rps,
          observeMs: windowMs,
          kind: 'good',
          set: 'main',
          verdict: result.verdict,
          metricVerdicts: result.metrics.map((m) => m.verdict),
          decideMs: (result.decidedAtMs ?? Date.now()) - startMs,
          decided: result.metrics.some((m) => m.decided === true),
          message: result.message,
        };
      });
      await sleep(1000);
      await prom.stop();
      promDown = await Promise.all(runs);
      o.log(`Prometheus down: ${promDown.map((r) => r.verdict).join(', ')}`);
    }
  } finally {
    clearTimeout(limitTimer);
    clearInterval(loadTimer);
    await prom?.stop();
    await Promise.all(fleets.map((f) => f.stop()));
  }
  return {
    title: 'Analysis accuracy',
    body: report(o, records, promDown, {
      started,
      loadBefore,
      loads,
      timedOut,
      agents: groups.length * perGroup,
      groups: groups.length,
    }),
  };
}

interface Meta {
  started: number;
  loadBefore: string;
  loads: number[];
  timedOut: boolean;
  agents: number;
  groups: number;
}

function report(o: AccuracyOptions, records: RunRecord[], promDown: RunRecord[], meta: Meta): string {
  const main = records.filter((r) => r.set === 'main');
  const of = (kind: Kind, list = main): RunRecord[] => list.filter((r) => r.kind === kind);
  const count = (list: RunRecord[], f: (r: RunRecord) => boolean): number => list.filter(f).length;
  const rolledBack = (r: RunRecord): boolean => r.verdict === 'fail' && r.severity === 'critical';
  const failed = (r: RunRecord): boolean => r.verdict === 'fail';
  const passed = (r: RunRecord): boolean => r.verdict === 'pass';
  const inconclusive = (r: RunRecord): boolean => r.verdict === 'inconclusive';
  const good = of('good');
  const bad = of('2x');
  const severe = of('20x');
  const noTraffic = records.filter((r) => r.set === 'no-traffic');
  const times = (list: RunRecord[]): string => {
    const d = list.filter((r) => r.verdict !== 'inconclusive').map((r) => r.decideMs);
    return d.length === 0 ? 'n/a' : `median ${sec(percentile(d, 0.5))}, 95th percentile ${sec(percentile(d, 0.95))}`;
  };
  const factors = main.map((r) => r.exposureFactor).filter((f): f is number => f !== undefined);
  const meanLoad = meta.loads.length > 0 ? meta.loads.reduce((a, b) => a + b, 0) / meta.loads.length : Number.NaN;
  const maxLoad = meta.loads.length > 0 ? Math.max(...meta.loads) : Number.NaN;
  const goal = (ok: boolean): string => (ok ? '**met**' : '**missed**');
  /** Whether the goal holds for the point estimate, and whether the 95% interval shows it. */
  const atMost = (x: number, n: number, limit: number): string =>
    n === 0
      ? 'no runs'
      : x / n > limit
        ? '**missed**'
        : clopperPearson(x, n)[1] <= limit
          ? '**met**, and shown: the interval lies below it'
          : `**met** as a point estimate; ${n} runs cannot show it (the interval reaches above)`;
  const atLeast = (x: number, n: number, limit: number): string =>
    n === 0
      ? 'no runs'
      : x / n < limit
        ? '**missed**'
        : clopperPearson(x, n)[0] >= limit
          ? '**met**, and shown: the interval lies above it'
          : `**met** as a point estimate; ${n} runs cannot show it (the interval reaches below)`;
  const eventsAt = (list: RunRecord[]): string => {
    const e = list
      .filter((r) => r.verdict !== 'inconclusive' && r.canaryEvents !== undefined)
      .map((r) => r.canaryEvents as number);
    return e.length === 0
      ? 'n/a'
      : `median ${Math.round(percentile(e, 0.5))}, 95th percentile ${Math.round(percentile(e, 0.95))}`;
  };
  const falseRollbacks = count(good, rolledBack);
  const caught = count(bad, failed);
  const promotionsWithoutData = count(noTraffic, passed) + count(promDown, passed);
  const row = (label: string, list: RunRecord[]): string =>
    `| ${label} | ${list.length} | ${count(list, passed)} | ${count(list, rolledBack)} | ${count(list, (r) => failed(r) && !rolledBack(r))} | ${count(list, inconclusive)} | ${times(list)} |`;

  const gridRows: string[] = [];
  const cells = new Map<string, RunRecord[]>();
  for (const r of records.filter((x) => x.set !== 'no-traffic' && x.kind !== '20x')) {
    const key = `${r.rps}|${r.observeMs}`;
    cells.set(key, [...(cells.get(key) ?? []), r]);
  }
  const keys = [...cells.keys()].sort((a, b) => {
    const [ra, wa] = a.split('|').map(Number) as [number, number];
    const [rb, wb] = b.split('|').map(Number) as [number, number];
    return ra - rb || wa - wb;
  });
  for (const key of keys) {
    const list = cells.get(key) as RunRecord[];
    const [r, w] = key.split('|').map(Number) as [number, number];
    const g = of('good', list);
    const b = of('2x', list);
    const errorsPerS = r * o.errorRate;
    gridRows.push(
      `| ${r}/s (${errorsPerS.toFixed(1)} canary errors/s) | ${sec(w)} | ${count(g, passed)}/${g.length} | ${count(g, failed)}/${g.length} | ${count(g, inconclusive)}/${g.length} | ${count(b, failed)}/${b.length} | ${count(b, passed)}/${b.length} | ${count(b, inconclusive)}/${b.length} | ${times([...g, ...b])} |`,
    );
  }

  const lines = [
    o.stamp === false
      ? `_1-minute load during the sweep: mean ${meanLoad.toFixed(1)}, max ${maxLoad.toFixed(1)} (2 cores shared with other work)._`
      : `_Recorded ${new Date(meta.started).toISOString().replace(/\.\d+Z$/, 'Z')} in ${sec(Date.now() - meta.started)} by \`${o.command}\`; load average (1/5/15 min) before ${meta.loadBefore}, after ${loadAverage()}; 1-minute load during the sweep mean ${meanLoad.toFixed(1)}, max ${maxLoad.toFixed(1)} (2 cores shared with other work)._`,
    '',
    `- Machine: ${describeMachine()}.`,
    meta.timedOut
      ? `- **The sweep hit its time limit (${sec(o.timeLimitMs)}); runs cut short are left out, so some counts are below the plan.**`
      : '',
    '',
    `**Setup.** A real Prometheus (Debian package, 1 s scrape interval, on 127.0.0.1) scrapes ${meta.agents} local agents (real processes) in ${meta.groups} independent groups; each group is **1 canary and ${o.baseline} baseline agents** with its own cohort regexes, running one experiment after another. Every agent serves synthetic traffic at a fixed rate, each request a 5xx with probability ${o.errorRate} (binomial noise from its own random stream). The main sweep: **${o.rps} requests/s per agent** (${(o.rps * o.errorRate).toFixed(0)} canary errors/s, ${(o.rps * o.errorRate * o.baseline).toFixed(0)} baseline errors/s at the base rate) and a **maximum window of ${sec(o.observeMs)}**. A run upgrades the canary to a good version (\`1.1.N\`), one with twice the error rate (\`1.1.N-errors\`) or one with 20% errors (\`1.1.N-errors20\`), in shuffled order, waits for 3 scrapes of the new version, then calls \`analyzeWindow\` with \`stopEarly: true\` through the \`prometheus\` provider.`,
    '',
    `The criteria are seed 000's, written in a spec and normalized by \`parseSpec\`, nothing tuned: the 5xx share \`${QUERY}\` with \`maxIncrease: 10%\`, \`baseline: { cohort: stable }\`, \`severity: critical\`, and the same query with \`maxIncrease: 5%\` (seed 000 marks it warning, so a failure there pauses). Defaults: confidence 99%, detect 2x, minSamples 1, noData pause, minWindow 0, a look every window / 10. A run's verdict is the analysis verdict: a critical failure is a rollback, a warning failure a pause, inconclusive a pause.`,
    '',
    '| main sweep | runs | promoted | rolled back (critical fail) | paused (5% warning fail) | inconclusive (paused) | time to a decision (decided runs) |',
    '|---|---|---|---|---|---|---|',
    row('good version', good),
    row('2× error rate', bad),
    row('20% errors', severe),
    '',
    `- **False rollbacks** (good version, critical failure): ${rate(falseRollbacks, good.length)}; goal ≤ 1%: ${atMost(falseRollbacks, good.length, 0.01)}. Good versions stopped by either metric: ${rate(count(good, failed), good.length)}; promoted: ${rate(count(good, passed), good.length)}.`,
    `- **2× regressions stopped** (a failure, so not promoted): ${rate(caught, bad.length)}; goal ≥ 99%: ${atLeast(caught, bad.length, 0.99)}. Promoted: ${rate(count(bad, passed), bad.length)}; inconclusive: ${rate(count(bad, inconclusive), bad.length)}.`,
    `- **20% errors stopped**: ${rate(count(severe, failed), severe.length)}, ${times(severe)}.`,
    `- **Promotions without data**: ${promotionsWithoutData} (goal 0: ${goal(promotionsWithoutData === 0)}). No traffic at all (a group of agents serving nothing): ${noTraffic.length} runs, ${count(noTraffic, passed)} promoted, ${count(noTraffic, inconclusive)} inconclusive${noTraffic[0] ? ` (“${noTraffic[0].message.slice(0, 200)}…”)` : ''}. Prometheus stopped 1 s into a ${sec(promDown[0]?.observeMs ?? Number.NaN)} window on ${promDown.length} groups at once: ${count(promDown, passed)} promoted, ${count(promDown, inconclusive)} inconclusive, ${count(promDown, failed)} failed.`,
    `- **Time to a decision**, main sweep, decided runs: good ${times(good)}; 2× ${times(bad)}; 20% ${times(severe)}. Inconclusive runs use the whole ${sec(o.observeMs)}. The looks come every window / 10 (${sec(o.observeMs / 10)} here), so times are multiples of it. Canary errors counted when the test decided: good ${eventsAt(good)}; 2× ${eventsAt(bad)}.`,
    factors.length > 0
      ? `- Counts as the test saw them: Prometheus' \`increase\` extrapolates to the range's ends, and the canary requests the provider reported at the deciding look were ${percentile(factors, 0.5).toFixed(2)}× (median; 5th–95th percentile ${percentile(factors, 0.05).toFixed(2)}–${percentile(factors, 0.95).toFixed(2)}) the agent's rate × the look's length (1.00 = exact; above 1 would overstate the evidence).`
      : '',
    '',
    `**How detection depends on traffic and window** (the same criteria; ${o.gridRuns} good and ${o.gridRuns} 2× runs per cell, the main sweep's cell with all its runs; rates are per agent, canary 1 agent, baseline ${o.baseline}):`,
    '',
    '| traffic per agent | max window | good: promoted | good: failed | good: inconclusive | 2×: stopped | 2×: promoted | 2×: inconclusive | time to a decision (decided runs) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...gridRows,
    '',
    'How to read it. Each run is one canary window. The test decides only when the counts show it at 99% confidence,',
    'at any of its looks: **fail** when the rate ratio canary ÷ baseline is shown above 1.1 (or 1.05),',
    '**pass** when a 2× regression is ruled out; otherwise it keeps observing, and a window that ends',
    'undecided is inconclusive — the rollout pauses, it never passes. So a window too short for the traffic',
    'shows up as inconclusive runs, not as false promotions. What it needs is errors: a decision takes a few',
    'dozen canary errors, so time to a decision scales as 1 / (requests/s × error ratio) of the canary cohort.',
    'Size `observe` (the maximum) from the slowest row you must decide in: at the traffic you have,',
    'pick a window where the "inconclusive" columns are near 0; stopping early keeps the typical window short.',
    'Intervals are exact (Clopper-Pearson, 95%): 0 events in n runs still leaves an upper end of about 3.7 / n',
    "(1.8% at 200 runs, 0.92% at 400), so only some 370 runs per kind can show a 1% goal; the test's own",
    'guarantee (each wrong decision ≤ 1% per window, whatever the number of looks) is what the sweep checks',
    "holds in practice, with a real Prometheus, its scrapes and `increase` in between. At seed 000's default",
    'window (`observe: 15m`, `interval: 1m`) the looks come every minute, so a decision takes at least one.',
    '',
  ];
  return lines.filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n');
}

/** Reads the options from the command line (`bench/analysis-accuracy.ts`) or defaults (`bench/run.ts`). */
export function accuracyOptionsFromArgs(
  argv: string[],
  log: (line: string) => void,
  command?: string,
): AccuracyOptions & { write: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rps: { type: 'string', default: '200' },
      observe: { type: 'string', default: '60' },
      groups: { type: 'string', default: '14' },
      good: { type: 'string', default: '200' },
      bad: { type: 'string', default: '200' },
      severe: { type: 'string', default: '20' },
      'error-rate': { type: 'string', default: '0.01' },
      baseline: { type: 'string', default: '4' },
      'grid-rps': { type: 'string', default: '50,200,800' },
      'grid-windows': { type: 'string', default: '15,60' },
      'grid-runs': { type: 'string', default: '10' },
      'grid-groups': { type: 'string', default: '3' },
      'no-traffic': { type: 'string', default: '10' },
      'time-limit': { type: 'string', default: '35' },
      seed: { type: 'string', default: '11' },
      write: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick;
  const num = (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`not a number ≥ 0: ${v}`);
    return n;
  };
  const list = (v: string): number[] => v.split(',').map((s) => num(s.trim()));
  return {
    rps: num(values.rps),
    observeMs: 1000 * num(values.observe),
    groups: quick ? 4 : num(values.groups),
    good: quick ? 6 : num(values.good),
    bad: quick ? 6 : num(values.bad),
    severe: quick ? 2 : num(values.severe),
    errorRate: num(values['error-rate']),
    baseline: num(values.baseline),
    gridRps: list(values['grid-rps']),
    gridWindowsMs: list(values['grid-windows']).map((s) => s * 1000),
    gridRuns: quick ? 1 : num(values['grid-runs']),
    gridGroups: quick ? 1 : num(values['grid-groups']),
    noTrafficRuns: quick ? 1 : num(values['no-traffic']),
    prometheusDown: true,
    timeLimitMs: 60_000 * (quick ? 5 : num(values['time-limit'])),
    seed: num(values.seed),
    log,
    command: command ?? `npx tsx bench/analysis-accuracy.ts${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`,
    write: values.write,
  };
}

/** Replaces (or appends) the `## Analysis accuracy` section of bench/RESULTS.md, keeping every other one. */
export function writeAccuracySection(section: Section): void {
  const existing = readResults();
  const { preamble } = splitSections(existing);
  writeFileSync(RESULTS_PATH, mergeResults(existing, preamble, [section]));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = (line: string): void => {
    process.stderr.write(`[accuracy ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  };
  const opts = accuracyOptionsFromArgs(process.argv.slice(2), log);
  // A hard stop a little after the time limit, whatever hangs.
  setTimeout(() => {
    log('hard time limit: exiting');
    process.exit(3);
  }, opts.timeLimitMs + 180_000).unref();
  runAccuracy(opts)
    .then((section) => {
      process.stdout.write(`## ${section.title}\n\n${section.body}\n`);
      if (opts.write) {
        writeAccuracySection(section);
        log(`wrote ${RESULTS_PATH.pathname}`);
      }
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
