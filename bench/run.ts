/**
 * `npm run bench`: every benchmark of issue 5, then bench/RESULTS.md.
 *
 *   npm run bench                       # the default recording (a few minutes)
 *   npm run bench -- --only rolling,state --no-write
 *
 * Knobs (environment): FLEETGATE_BENCH_RUNS (repetitions, default 3),
 * FLEETGATE_BENCH_SIZES (rolling fleet sizes, default 50,500),
 * FLEETGATE_BENCH_ANSIBLE_MAX (largest fleet Ansible runs at, default 50; 500 takes minutes),
 * FLEETGATE_BENCH_ANSIBLE_RUNS (default 1), FLEETGATE_BENCH_FANOUT (targets, default 10000),
 * FLEETGATE_BENCH_FANOUT_CONCURRENCY (default 64), FLEETGATE_BENCH_PLAN (default 100000),
 * FLEETGATE_BENCH_STATE (default 10000), FLEETGATE_BENCH_WINDOW_MIN (default 15),
 * FLEETGATE_BENCH_JOB_OVERHEAD_S (assumed GitHub job set-up, default 20),
 * FLEETGATE_BENCH_GROWTH_TARGETS (default 25,50,100,200,400), FLEETGATE_BENCH_GROWTH_WAVES (default 1,2,5,10,20),
 * FLEETGATE_KILL_SAMPLES (kill -9 samples, default 100 here, 8 in `npm test`).
 *
 * Opt-in (not in the default run, ≈ 15–25 min): `--only accuracy`, the analysis accuracy sweep of
 * bench/analysis-accuracy.ts with its default settings (a real Prometheus; its own knobs are flags there).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { accuracyOptionsFromArgs, runAccuracy } from './analysis-accuracy.js';
import { runFanout, fanoutOptionsFromEnv } from './fanout.js';
import { growthOptionsFromEnv, runGrowth } from './growth.js';
import { killOptionsFromEnv, runKill } from './kill.js';
import { assertBuilt } from './lib/rollout-repo.js';
import { describeMachine, loadAverage, RESULTS_PATH, writeResults, type Section } from './lib/results.js';
import { formatMs } from './lib/stats.js';
import { planStateOptionsFromEnv, runPlanState } from './plan-state.js';
import { rollingOptionsFromEnv, runRolling } from './rolling.js';
import { runnerTimeOptionsFromEnv, runRunnerTime } from './runner-time.js';
import { runTimings, timingsOptionsFromEnv } from './timings.js';

const SUITES = ['rolling', 'fanout', 'state', 'runner', 'growth', 'kill', 'timings'] as const;
/** Suites run only when named in `--only`. */
const OPT_IN = ['accuracy'] as const;
type Suite = (typeof SUITES)[number] | (typeof OPT_IN)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const only = values.only?.split(',').map((s) => s.trim()) ?? [...SUITES];
for (const s of only) {
  if (![...SUITES, ...OPT_IN].includes(s as Suite)) {
    process.stderr.write(`unknown suite ${s}; suites: ${SUITES.join(', ')}; opt-in: ${OPT_IN.join(', ')}\n`);
    process.exit(2);
  }
}

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

assertBuilt();
const sections: Section[] = [];
const suites: Record<Suite, () => Promise<Section>> = {
  rolling: () => runRolling(rollingOptionsFromEnv(log)),
  fanout: () => runFanout(fanoutOptionsFromEnv(log)),
  state: () => runPlanState(planStateOptionsFromEnv(log)),
  runner: () => runRunnerTime(runnerTimeOptionsFromEnv(log)),
  growth: () => runGrowth(growthOptionsFromEnv(log)),
  kill: () => runKill(killOptionsFromEnv(log)),
  timings: () => runTimings(timingsOptionsFromEnv(log)),
  accuracy: () =>
    runAccuracy({ ...accuracyOptionsFromArgs([], log, 'npm run bench -- --only accuracy'), stamp: false }),
};
const knobs = Object.entries(process.env)
  .filter(([k]) => k.startsWith('FLEETGATE_BENCH_') || k === 'FLEETGATE_KILL_SAMPLES')
  .map(([k, v]) => `${k}=${v}`)
  .sort();
const command = `${knobs.length > 0 ? `${knobs.join(' ')} ` : ''}npm run bench${values.only ? ` -- --only ${values.only}` : ''}`;
const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
/** Waits (at most 2 minutes) for the 1-minute load average to fall under 1.5 — after Ansible's 100 workers, say. */
async function cooldown(): Promise<void> {
  const until = Date.now() + 120_000;
  while (loadavg()[0]! >= 1.5 && Date.now() < until) await new Promise((r) => setTimeout(r, 5_000));
}

for (const name of only as Suite[]) {
  await cooldown();
  const t = Date.now();
  const loadBefore = loadAverage();
  log(`== ${name}`);
  const section = await suites[name]();
  // Each section says when, how and on how busy a machine it was recorded (sections may come from different runs).
  section.body = `_Recorded ${stamp(t)} in ${formatMs(Date.now() - t)} by \`${command}\`; load average (1/5/15 min) before ${loadBefore}, after ${loadAverage()}._\n\n${section.body}`;
  sections.push(section);
  log(`== ${name} done in ${formatMs(Date.now() - t)}`);
  process.stdout.write(`\n## ${section.title}\n\n${section.body}\n`);
}
const preamble = [
  '# Benchmark results',
  '',
  'Written by `npm run bench` (bench/run.ts); how to run it and what each figure means: docs/benchmarks.md.',
  'Every section starts with when it was recorded, the command (with the knobs that were set) and the load',
  'average before and after: other work on this machine shows up there, and in the figures.',
  '',
  `- Machine: ${describeMachine()}.`,
  '',
].join('\n');
if (!values['no-write']) {
  writeResults(preamble, sections);
  log(`wrote ${RESULTS_PATH.pathname}`);
}
