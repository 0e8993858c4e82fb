/**
 * Benchmark 2: health-check fan-out. 10,000 agents on 10,000 loopback ports
 * (1,000 per process); every one is checked once by
 *
 * - the engine's health check: the step runner (`createStepRunner`: templated
 *   URL, undici Agent, timeout, status check) through `pollUntilHealthy`, the
 *   functions a wave's verify step runs;
 * - the engine's whole preflight (`RolloutEngine.preflightReport`: the version
 *   step of every target, JSON parsed, skew counted), its own pool;
 * - a bare undici loop: `request()` + status check + body dump, same concurrency.
 *
 * Same concurrency for all, a fresh connection pool per pass, passes alternate.
 */
import { Agent, request } from 'undici';
import { systemClock } from '../src/util/clock.js';
import { RolloutEngine } from '../src/engine/rollout.js';
import { createStepRunner, pollUntilHealthy } from '../src/engine/steps.js';
import type { LocalFleet } from '../src/fleet/local-fleet.js';
import { planRollout } from '../src/plan/plan.js';
import { parseSpec } from '../src/spec/parse.js';
import { tierSteps } from '../src/spec/steps.js';
import type { RolloutSpec, Target } from '../src/spec/types.js';
import { mapLimit, startBenchFleet } from './lib/fleet.js';
import type { Section } from './lib/results.js';
import { benchSpecText } from './lib/rollout-repo.js';
import { envInt, envInts, formatMs, formatRatio, median, table } from './lib/stats.js';

export interface FanoutOptions {
  targets: number;
  concurrency: number[];
  runs: number;
  log: (line: string) => void;
}

export function fanoutOptionsFromEnv(log: (line: string) => void): FanoutOptions {
  return {
    targets: envInt('FLEETGATE_BENCH_FANOUT', 10_000),
    concurrency: envInts('FLEETGATE_BENCH_FANOUT_CONCURRENCY', [64]),
    runs: envInt('FLEETGATE_BENCH_RUNS', 3),
    log,
  };
}

function benchSpec(): RolloutSpec {
  const parsed = parseSpec(
    benchSpecText('fanout', { version: '1.0.0', waves: '20%', maxUnavailable: '20%' }).replace(
      'file: ../inventory.yaml',
      'targets: [{ id: x, address: "127.0.0.1:1" }]',
    ),
    'fanout.yaml',
  );
  if (!parsed.ok) throw new Error(`bench spec invalid: ${parsed.errors.map((e) => e.message).join('; ')}`);
  return parsed.spec;
}

/** Health checks through the engine's runner and `pollUntilHealthy`. */
async function engineChecks(spec: RolloutSpec, targets: Target[], concurrency: number): Promise<number> {
  const runner = createStepRunner({ clock: systemClock, baseDir: process.cwd() });
  try {
    const results = await mapLimit(targets, concurrency, (target) =>
      pollUntilHealthy(
        runner,
        tierSteps(spec, spec.tiers[0]!).verify,
        { target, version: spec.version, rollout: { name: spec.name }, component: spec.component },
        systemClock,
        () => undefined,
      ),
    );
    return results.filter((r) => r.ok && r.probes === 1).length;
  } finally {
    await runner.close();
  }
}

/** `RolloutEngine.preflightReport`: the version step of every target, in the engine's own pool. */
async function enginePreflight(spec: RolloutSpec, targets: Target[], concurrency: number): Promise<number> {
  const runner = createStepRunner({ clock: systemClock, baseDir: process.cwd() });
  try {
    const plan = planRollout(spec, targets);
    const engine = new RolloutEngine({
      spec,
      specPath: 'rollouts/bench.yaml',
      targets,
      plan,
      planRollback: () => [],
      store: {
        location: 'memory',
        read: () => Promise.resolve(undefined),
        write: () => Promise.reject(new Error('preflight writes nothing')),
        commit: () => Promise.reject(new Error('preflight commits nothing')),
      },
      runner,
      clock: systemClock,
      emit: () => undefined,
      gates: () => Promise.resolve({ approved: false, by: 'bench' }),
      actor: 'bench',
      probeConcurrency: concurrency,
    });
    const report = await engine.preflightReport();
    return report.targets - report.unreachable.length;
  } finally {
    await runner.close();
  }
}

/** The bare loop: undici `request()` and a status check, nothing else. */
async function bareChecks(targets: Target[], concurrency: number, path: string): Promise<number> {
  const dispatcher = new Agent({ connections: 8, keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
  try {
    const ok = await mapLimit(targets, concurrency, async (t) => {
      const res = await request(`http://${t.address}${path}`, { dispatcher });
      await res.body.dump();
      return res.statusCode === 200;
    });
    return ok.filter(Boolean).length;
  } finally {
    await dispatcher.close();
  }
}

async function timedCount(name: string, expected: number, fn: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const ok = await fn();
  const ms = performance.now() - start;
  if (ok !== expected) throw new Error(`${name}: ${ok} of ${expected} targets answered healthy`);
  return ms;
}

export async function runFanout(o: FanoutOptions): Promise<Section> {
  o.log(`fan-out: starting ${o.targets} agents (1,000 per process)`);
  const started = performance.now();
  const fleet: LocalFleet = await startBenchFleet(o.targets, 50, 1000);
  o.log(`fan-out: fleet up in ${formatMs(performance.now() - started)}`);
  const spec = benchSpec();
  const n = fleet.targets.length;
  const rows: string[][] = [];
  try {
    // Warm-up (accept queues, JIT), not counted.
    await bareChecks(fleet.targets, 64, '/healthz');
    for (const c of o.concurrency) {
      const engine: number[] = [];
      const preflight: number[] = [];
      const bare: number[] = [];
      const bareVersion: number[] = [];
      for (let run = 0; run < o.runs; run++) {
        const passes: [string, () => Promise<void>][] = [
          [
            'bare',
            async () => void bare.push(await timedCount('bare', n, () => bareChecks(fleet.targets, c, '/healthz'))),
          ],
          [
            'engine',
            async () => void engine.push(await timedCount('engine', n, () => engineChecks(spec, fleet.targets, c))),
          ],
          [
            'bare /version',
            async () =>
              void bareVersion.push(await timedCount('bare', n, () => bareChecks(fleet.targets, c, '/version'))),
          ],
          [
            'preflight',
            async () =>
              void preflight.push(await timedCount('preflight', n, () => enginePreflight(spec, fleet.targets, c))),
          ],
        ];
        // Alternate the order so neither side always runs on a warmer machine.
        if (run % 2 === 1) passes.reverse();
        for (const [, pass] of passes) await pass();
      }
      const rate = (ms: number[]) => n / (median(ms) / 1000);
      o.log(
        `fan-out c=${c}: engine ${Math.round(rate(engine))}/s, bare ${Math.round(rate(bare))}/s, preflight ${Math.round(rate(preflight))}/s, bare /version ${Math.round(rate(bareVersion))}/s`,
      );
      rows.push([
        String(c),
        `${formatMs(median(engine))} (${Math.round(rate(engine)).toLocaleString('en')}/s)`,
        `${formatMs(median(bare))} (${Math.round(rate(bare)).toLocaleString('en')}/s)`,
        `**${formatRatio(rate(engine) / rate(bare))}**`,
        `${formatMs(median(preflight))} (${Math.round(rate(preflight)).toLocaleString('en')}/s)`,
        `${formatMs(median(bareVersion))} (${Math.round(rate(bareVersion)).toLocaleString('en')}/s)`,
        `**${formatRatio(rate(preflight) / rate(bareVersion))}**`,
      ]);
    }
  } finally {
    await fleet.stop();
  }
  const body = [
    `${n.toLocaleString('en')} agents on ${n.toLocaleString('en')} loopback ports (1,000 per agent process), each checked once per pass;`,
    `medians of ${o.runs} passes per side, sides alternating, a fresh connection pool per pass (so every pass opens ${n.toLocaleString('en')} connections).`,
    '',
    table(
      [
        'concurrency',
        'engine health checks (`/healthz`)',
        'bare undici loop (`/healthz`)',
        'engine ÷ bare throughput',
        'engine preflight (`/version`, JSON)',
        'bare undici loop (`/version`)',
        'preflight ÷ bare',
      ],
      rows,
    ),
    '',
    "- **engine health checks**: `createStepRunner` + `pollUntilHealthy` over the spec's verify step — templating,",
    '  timeout signal, status check, health-check callback — what a wave runs per target.',
    '- **engine preflight**: `RolloutEngine.preflightReport()` — the version step of every target with its JSON',
    '  field read, unreachable targets and version skew collected; `probeConcurrency` set to the column.',
    '- **bare undici loop**: `request()`, status check, body dumped; nothing else. Same client, same concurrency.',
    '- The engine runs verify checks `maxUnavailable` at a time inside a wave, and observation and preflight 16 at a time.',
  ].join('\n');
  return { title: 'Health-check fan-out', body };
}
