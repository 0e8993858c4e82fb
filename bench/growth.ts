/**
 * Benchmark 5: how the cost of a rollout grows — with the number of targets at
 * a fixed wave count, and with the wave count at a fixed number of targets.
 * `fleetgate run` through the bundled CLI against the local fleet (50 ms
 * restart per upgrade, each wave at once), next to the floor measured on the
 * same fleet in the same repetition.
 */
import { join } from 'node:path';
import { loadRollout } from '../src/app/session.js';
import type { LocalFleet } from '../src/fleet/local-fleet.js';
import { startBenchFleet } from './lib/fleet.js';
import type { Section } from './lib/results.js';
import { BenchRepo, readEvents, type BenchSpec } from './lib/rollout-repo.js';
import { envInt, envInts, formatMs, median, table } from './lib/stats.js';
import { runIdeal } from './lib/tools.js';

export interface GrowthOptions {
  targets: number[];
  waves: number[];
  /** Targets of the wave-count series. */
  wavesAt: number;
  runs: number;
  log: (line: string) => void;
}

export function growthOptionsFromEnv(log: (line: string) => void): GrowthOptions {
  return {
    targets: envInts('FLEETGATE_BENCH_GROWTH_TARGETS', [25, 50, 100, 200, 400]),
    waves: envInts('FLEETGATE_BENCH_GROWTH_WAVES', [1, 2, 5, 10, 20]),
    wavesAt: envInt('FLEETGATE_BENCH_GROWTH_WAVES_AT', 100),
    runs: envInt('FLEETGATE_BENCH_RUNS', 3),
    log,
  };
}

interface Point {
  label: string;
  process: number;
  waves: number;
  floor: number;
  commits: number;
}

let version = 1000;

async function measure(
  fleet: LocalFleet,
  spec: Omit<BenchSpec, 'version'>,
  runs: number,
): Promise<Omit<Point, 'label'>> {
  const process: number[] = [];
  const waves: number[] = [];
  const floor: number[] = [];
  let commits = 0;
  for (let run = 0; run < runs; run++) {
    const repo = new BenchRepo('growth', fleet.targets);
    try {
      repo.propose({ ...spec, version: `${++version}.0.0` });
      const plan = (await loadRollout(join(repo.dir, repo.specPath))).plan;
      const byId = new Map(fleet.targets.map((t) => [t.id, t.address]));
      const res = await repo.cli('run', repo.specPath, '--events', 'events.jsonl');
      if (res.code !== 0) throw new Error(`fleetgate run exited ${res.code}: ${res.stderr.slice(0, 400)}`);
      const events = readEvents(join(repo.dir, 'events.jsonl'));
      const first = events.find((e) => e.event === 'wave_started')!;
      const last = events.filter((e) => e.event === 'wave_completed').at(-1)!;
      process.push(res.ms);
      waves.push(Date.parse(last.ts) - Date.parse(first.ts));
      commits = events.filter((e) => e.event === 'state_committed').length;
      const ideal = await runIdeal(
        plan.waves.map((w) => w.targets.map((id) => byId.get(id)!)),
        `${++version}.0.0`,
      );
      floor.push(ideal.floorMs);
    } finally {
      repo.remove();
    }
  }
  return { process: median(process), waves: median(waves), floor: median(floor), commits };
}

function bar(ms: number, max: number): string {
  return '█'.repeat(Math.max(1, Math.round((ms / max) * 30)));
}

function render(title: string, points: Point[]): string {
  const max = Math.max(...points.map((p) => p.process));
  return table(
    [
      title,
      'Fleetgate (process)',
      'Fleetgate (waves)',
      'floor',
      'waves ÷ floor',
      'per target (process)',
      'process, relative',
    ],
    points.map((p) => [
      p.label,
      formatMs(p.process),
      formatMs(p.waves),
      formatMs(p.floor),
      `${(p.waves / p.floor).toFixed(2)}×`,
      p.label.includes('targets') ? formatMs(p.process / Number(p.label.split(' ')[0])) : '',
      `\`${bar(p.process, max)}\``,
    ]),
  );
}

export async function runGrowth(o: GrowthOptions): Promise<Section> {
  const byTargets: Point[] = [];
  for (const n of o.targets) {
    o.log(`growth: ${n} targets, 5 waves`);
    const fleet = await startBenchFleet(n);
    try {
      const p = await measure(fleet, { waves: '20%', maxUnavailable: '20%' }, o.runs);
      byTargets.push({ label: `${n} targets`, ...p });
    } finally {
      await fleet.stop();
    }
  }
  const byWaves: Point[] = [];
  o.log(`growth: ${o.wavesAt} targets, waves ${o.waves.join(', ')}`);
  const fleet = await startBenchFleet(o.wavesAt);
  try {
    for (const w of o.waves) {
      const size = Math.ceil(o.wavesAt / w);
      const p = await measure(fleet, { waves: size, maxUnavailable: size }, o.runs);
      byWaves.push({ label: `${w} wave${w > 1 ? 's' : ''} of ${size}`, ...p });
    }
  } finally {
    await fleet.stop();
  }
  const body = [
    `\`fleetgate run\` (bundled CLI) against the local fleet, 50 ms restart per upgrade, every wave at once (maxUnavailable = wave`,
    `size), canary 0; the floor measured on the same fleet right after each run. Medians of ${o.runs}.`,
    '',
    '### Targets, at 5 waves (20% each)',
    '',
    render('targets', byTargets),
    '',
    `### Waves, at ${o.wavesAt} targets`,
    '',
    render('waves', byWaves),
    '',
    'Reading: the floor grows with the number of waves (one restart, 50 ms, per wave) and slowly with the wave size',
    '(more requests at once on a 2-core machine). Fleetgate adds a fixed cost per run (Node start-up, preflight of every',
    "target, the first and last commit), a cost per wave (a git commit, ~10–15 ms, and the wave's last writes) and a cost per",
    'target step (the state written ahead of drain, upgrade and undrain; writes asked for while one is in flight are merged, so',
    'a wider wave costs little more).',
  ].join('\n');
  return { title: 'How cost grows', body };
}
