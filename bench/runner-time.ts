/**
 * Benchmark 4: GitHub runner time of a rollout with 15-minute observation
 * windows, simulated from the reusable workflow (.github/workflows/rollout.yml)
 * and Fleetgate's own timings.
 *
 * The workflow runs each stage as a job: plan, preflight, canary, the canary's
 * analysis, promotion (the first wave), one job per remaining wave (analysis
 * of the previous window, then the next wave), finalize (the last window).
 * Wave jobs run `fleetgate run --max-waves 1 --defer-observation`: they stop
 * when the wave's window opens; an environment wait timer holds the next job
 * until the window is over, and a waiting job holds no runner and is not
 * billed. Here every job's Fleetgate commands run for real (bundled CLI, local
 * fleet, git); instead of waiting 15 minutes between jobs, the recorded window
 * end (`observeUntil`) is moved into the past, which is all the engine sees of
 * elapsed time.
 */
import { join } from 'node:path';
import { writeState } from '../src/state/store.js';
import { parseState } from '../src/state/parse.js';
import { readFileSync } from 'node:fs';
import { startBenchFleet } from './lib/fleet.js';
import type { Section } from './lib/results.js';
import { BenchRepo } from './lib/rollout-repo.js';
import { envInt, formatMs, table } from './lib/stats.js';

export interface RunnerTimeOptions {
  targets: number;
  windowMin: number;
  jobOverheadS: number;
  log: (line: string) => void;
}

export function runnerTimeOptionsFromEnv(log: (line: string) => void): RunnerTimeOptions {
  return {
    targets: envInt('FLEETGATE_BENCH_RUNNER_TARGETS', 50),
    windowMin: envInt('FLEETGATE_BENCH_WINDOW_MIN', 15),
    jobOverheadS: envInt('FLEETGATE_BENCH_JOB_OVERHEAD_S', 20),
    log,
  };
}

interface Job {
  name: string;
  /** Commands this job runs and their measured wall times (ms). */
  commands: { args: string; ms: number; code: number }[];
  /** Observation window the job waited for before it started (ms; held by a wait timer). */
  waitedMs: number;
}

export async function runRunnerTime(o: RunnerTimeOptions): Promise<Section> {
  const windowMs = o.windowMin * 60_000;
  const fleet = await startBenchFleet(o.targets);
  const repo = new BenchRepo('svc', fleet.targets);
  const jobs: Job[] = [];
  try {
    repo.propose({
      version: '2.0.0',
      canary: 1,
      waves: '20%',
      maxUnavailable: '20%',
      observe: `${o.windowMin}m`,
    });
    const spec = repo.specPath;
    const statePath = join(repo.dir, 'rollouts', 'svc.state.yaml');
    const job = async (name: string, waited: boolean, commands: string[][]): Promise<Job> => {
      const j: Job = { name, commands: [], waitedMs: waited ? windowMs : 0 };
      if (waited) await elapseWindow();
      for (const args of commands) {
        const r = await repo.cli(...args);
        j.commands.push({ args: `fleetgate ${args.join(' ')}`, ms: r.ms, code: r.code });
        if (r.code !== 0 && r.code !== 6)
          throw new Error(`${name}: fleetgate ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      }
      jobs.push(j);
      o.log(`runner time: ${name}: ${j.commands.map((c) => `${formatMs(c.ms)} (exit ${c.code})`).join(', ')}`);
      return j;
    };
    /** The wait timer: the open window's recorded end moves into the past (compare-and-swap write). */
    const elapseWindow = () => {
      const state = parseState(readFileSync(statePath, 'utf8'), statePath);
      const wave = state.waves.find((w) => w.phase === 'Observing');
      if (!wave) throw new Error('no observation window is open');
      wave.observeUntil = new Date(Date.now() - 1).toISOString();
      return writeState(statePath, state, state.revision, new Date());
    };
    const wave = ['run', spec, '--max-waves', '1', '--defer-observation'];
    const analyze = ['run', spec, '--max-waves', '0'];
    await job('plan', false, [['plan', spec, '--json']]);
    await job('preflight', false, [['preflight', spec, '--json']]);
    await job('canary', false, [wave]);
    await job('analyze-canary', true, [analyze]);
    await job('promote (wave 1)', false, [wave]);
    for (let k = 2; ; k++) {
      const state = parseState(readFileSync(statePath, 'utf8'), statePath);
      const pending = state.waves.filter((w) => w.phase === 'Pending').length;
      if (pending === 0) break;
      await job(`wave ${k}`, true, [analyze, wave]);
    }
    await job('finalize', true, [analyze]);
    const final = parseState(readFileSync(statePath, 'utf8'), statePath);
    if (final.phase !== 'Healthy') throw new Error(`rollout ended ${final.phase}, not Healthy`);
  } finally {
    repo.remove();
    await fleet.stop();
  }

  const fleetgateMs = (j: Job) => j.commands.reduce((a, c) => a + c.ms, 0);
  const runnerMs = (j: Job) => fleetgateMs(j) + o.jobOverheadS * 1000;
  const billedMin = (j: Job) => Math.ceil(runnerMs(j) / 60_000);
  const totalFleetgate = jobs.reduce((a, j) => a + fleetgateMs(j), 0);
  const totalRunner = jobs.reduce((a, j) => a + runnerMs(j), 0);
  const totalBilled = jobs.reduce((a, j) => a + billedMin(j), 0);
  const windows = jobs.filter((j) => j.waitedMs > 0).length;
  const wall = totalRunner + windows * windowMs;
  // One job that runs every command and sleeps through every window: one set-up, no gaps.
  const sleeping = o.jobOverheadS * 1000 + totalFleetgate + windows * windowMs;
  const rows = jobs.map((j) => [
    j.name,
    j.waitedMs > 0 ? `${o.windowMin} min (wait timer, no runner)` : '—',
    j.commands.map((c) => `\`${c.args.replace(/ rollouts\/svc\.yaml/, '')}\` ${formatMs(c.ms)}`).join('<br>'),
    formatMs(runnerMs(j)),
    String(billedMin(j)),
  ]);
  const body = [
    `A rollout of ${o.targets} agents (canary 1, then waves of 20%, each wave at once) with a ${o.windowMin}-minute observation`,
    `window after the canary and after every wave, run job by job the way \`.github/workflows/rollout.yml\` does.`,
    `Each Fleetgate command ran for real (bundled CLI, local fleet, git); a job's runner time is its commands plus an`,
    `assumed ${o.jobOverheadS} s of set-up per job (runner start, checkout, setup-node, the action's summary and state commit`,
    `through the API — \`FLEETGATE_BENCH_JOB_OVERHEAD_S\`). Windows are held by environment wait timers: no runner, not billed.`,
    '',
    table(['job', 'waited before it', 'Fleetgate commands (measured)', 'runner time', 'billed minutes'], rows),
    '',
    table(
      ['', 'wall time', 'runner time', 'billed minutes', 'runner time spent in windows'],
      [
        [
          '**job per wave, windows in wait timers** (Fleetgate)',
          formatMs(wall),
          `**${formatMs(totalRunner)}** (Fleetgate itself: ${formatMs(totalFleetgate)})`,
          String(totalBilled),
          `**0 s** (${windows} windows × ${o.windowMin} min)`,
        ],
        [
          'one job that sleeps through the windows',
          formatMs(sleeping),
          formatMs(sleeping),
          String(Math.ceil(sleeping / 60_000)),
          formatMs(windows * windowMs),
        ],
      ],
    ),
    '',
    `Runner time is ${((100 * totalRunner) / wall).toFixed(1)}% of the rollout's wall time; the observation windows,`,
    `${((100 * windows * windowMs) / wall).toFixed(1)}% of it, cost none. Billed minutes round every job up to a whole minute`,
    '(GitHub bills per job, rounded up), so job overhead, not Fleetgate, dominates the bill: fewer, larger waves cost less.',
    'Approval waits (canary and promotion environments) add wall time and no runner time; they are not counted here.',
  ].join('\n');
  return { title: 'Runner time on GitHub (simulated)', body };
}
