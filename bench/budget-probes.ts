/**
 * What the budget probes cost (issue 9, "Done means": the health probes before
 * each take-down cost ≤ 10% of the 50-agent rollout's process time).
 *
 *   npx tsx bench/budget-probes.ts            # FLEETGATE_BENCH_RUNS (default 5), FLEETGATE_BENCH_PROBE_TARGETS (default 50)
 *
 * A real local fleet (one agent process each) rolled through the engine in this
 * process, alternately (a) as shipped — each take-down probes its tier's
 * members, reusing a probe up to 1 s old, concurrent admissions sharing one —
 * and (b) the same rollout with every budget probe answered "healthy" by the
 * bench's runner without a request (what the rollout costs with no probes at
 * all; the run is otherwise identical, and every member is healthy, so the
 * engine decides the same). The probes' share of the process CPU time
 * (user + system, this process only: the agents are other processes) is
 * (a − b) / a, and the agents' own work for them is counted in requests.
 * Prints a Markdown section for bench/RESULTS.md.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolloutEngine } from '../src/engine/rollout.js';
import { createStepRunner, type StepRunner } from '../src/engine/steps.js';
import { startLocalFleet } from '../src/fleet/local-fleet.js';
import { planRollback, planRollout } from '../src/plan/plan.js';
import { loadSpec } from '../src/spec/parse.js';
import type { RolloutState } from '../src/state/types.js';
import { systemClock } from '../src/util/clock.js';
import { benchSpecText } from './lib/rollout-repo.js';

const runs = Number(process.env.FLEETGATE_BENCH_RUNS ?? 5);
const count = Number(process.env.FLEETGATE_BENCH_PROBE_TARGETS ?? 50);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function rollout(
  version: string,
  dir: string,
  targets: Awaited<ReturnType<typeof startLocalFleet>>['targets'],
  probesFree: boolean,
) {
  const specPath = join(dir, 'svc.yaml');
  writeFileSync(specPath, benchSpecText('svc', { version, waves: 10, maxUnavailable: 2 }));
  const spec = await loadSpec(specPath);
  const plan = planRollout(spec, targets);
  const real = createStepRunner({ clock: systemClock, baseDir: dir });
  let probes = 0;
  let takeDowns = 0;
  let requests = 0;
  const runner: StepRunner = {
    run(step, vars, opts) {
      const probe = opts?.purpose === 'budget-probe';
      if (probe) probes++;
      if (step === spec.steps.drain) takeDowns++;
      if (probe && probesFree)
        return Promise.resolve({
          ok: true,
          attempts: 1,
          status: 200,
          message: 'HTTP 200 (bench: not sent)',
          durationMs: 0,
        });
      requests++;
      return real.run(step, vars, opts);
    },
  };
  let stored: RolloutState | undefined;
  const engine = new RolloutEngine({
    spec,
    specPath: 'rollouts/bench.yaml',
    targets,
    plan,
    planRollback: (ids) => planRollback(spec, plan, ids),
    store: {
      location: 'memory',
      read: () => Promise.resolve(stored && structuredClone(stored)),
      write: (s) => {
        stored = { ...structuredClone(s), revision: s.revision + 1, updatedAt: new Date().toISOString() };
        return Promise.resolve(stored);
      },
      commit: () => Promise.resolve(),
    },
    runner,
    clock: systemClock,
    emit: () => undefined,
    gates: () => Promise.resolve({ approved: true, by: 'bench' }),
    actor: 'bench',
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await engine.run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await real.close();
  if (result.outcome !== 'Healthy') throw new Error(`rollout to ${version}: ${result.outcome} ${result.message ?? ''}`);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs, probes, takeDowns, requests };
}

const dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-probes-'));
const fleet = await startLocalFleet({ count, version: '1.0.0', idPrefix: 't-', upgradeMs: 20 });
const shipped: Awaited<ReturnType<typeof rollout>>[] = [];
const free: Awaited<ReturnType<typeof rollout>>[] = [];
try {
  let minor = 1;
  // Warm-up (JIT, connection pools), not counted.
  await rollout(`1.${minor++}.0`, dir, fleet.targets, false);
  for (let i = 0; i < runs; i++) {
    shipped.push(await rollout(`1.${minor++}.0`, dir, fleet.targets, false));
    free.push(await rollout(`1.${minor++}.0`, dir, fleet.targets, true));
  }
} finally {
  await fleet.stop();
}
const shares = shipped.map((a, i) => (a.cpuMs - free[i]!.cpuMs) / a.cpuMs);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const row = (name: string, xs: typeof shipped) =>
  `| ${name} | ${median(xs.map((x) => x.cpuMs)).toFixed(0)} ms (${Math.min(...xs.map((x) => x.cpuMs)).toFixed(0)}–${Math.max(...xs.map((x) => x.cpuMs)).toFixed(0)}) | ${median(xs.map((x) => x.wallMs)).toFixed(0)} ms | ${median(xs.map((x) => x.probes))} | ${(median(xs.map((x) => x.probes)) / median(xs.map((x) => x.takeDowns))).toFixed(1)} | ${median(xs.map((x) => x.requests))} |`;
process.stdout.write(
  [
    '## Budget probes before each take-down',
    '',
    `Recorded ${new Date().toISOString().slice(0, 10)} with \`npx tsx bench/budget-probes.ts\` (${runs} runs each, alternating; load ${loadavg()[0]!.toFixed(2)}).`,
    `${count} real agents, one process each; waves of 10 with maxUnavailable 2; process CPU of the engine only.`,
    '',
    '| variant | process CPU, median (min–max) | wall, median | budget probes | probes per take-down | requests sent |',
    '|---|---|---|---|---|---|',
    row('as shipped (probe reused ≤ 1 s)', shipped),
    row('probes answered without a request', free),
    '',
    `Probes' share of the rollout's process CPU: median ${pct(median(shares))} (runs: ${shares.map(pct).join(', ')}); the goal is ≤ 10%.`,
    '',
  ].join('\n'),
);
