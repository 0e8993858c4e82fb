/**
 * Benchmark 1: a rolling upgrade of the same local fleet (waves of 20%, the
 * whole wave at once, 50 ms simulated restart per agent) by
 *
 * - Fleetgate: `fleetgate run` (the bundled CLI as a process, state file, git
 *   commit per wave, preflight, version checks before and after, health polling),
 * - Ansible: `ansible-playbook` with `serial: 20%`, the `uri` module and as many
 *   forks as a wave has hosts,
 * - a plain shell loop of `curl` (a backgrounded subshell per target, `wait` per wave),
 * - the floor: an in-process loop doing only the requests, every target of a
 *   wave at once; the floor is the sum over waves of the slowest target's
 *   drain → upgrade → healthy → undrain time.
 *
 * Every tool upgrades the fleet to a new version; after each, every agent must
 * report it and exactly one more upgrade (agents count them), or the run fails.
 * The tools take turns within each repetition, so ratios compare runs made
 * minutes apart on the same machine.
 */
import { join } from 'node:path';
import { loadRollout } from '../src/app/session.js';
import type { LocalFleet } from '../src/fleet/local-fleet.js';
import { assertUpgradedOnce, fleetVersions, startBenchFleet } from './lib/fleet.js';
import type { Section } from './lib/results.js';
import { BenchRepo, readEvents } from './lib/rollout-repo.js';
import { envInt, envInts, formatMs, formatRatio, median, table } from './lib/stats.js';
import { ansibleVersion, ensureAnsible, runAnsible, runCurlLoop, runIdeal, type Waves } from './lib/tools.js';

export interface RollingOptions {
  sizes: number[];
  runs: number;
  /** Largest fleet Ansible runs against (it needs minutes at 500). */
  ansibleMax: number;
  /** Ansible repetitions per size (each takes ~40 s at 50 agents). */
  ansibleRuns: number;
  log: (line: string) => void;
}

export function rollingOptionsFromEnv(log: (line: string) => void): RollingOptions {
  return {
    sizes: envInts('FLEETGATE_BENCH_SIZES', [50, 500]),
    runs: envInt('FLEETGATE_BENCH_RUNS', 3),
    ansibleMax: envInt('FLEETGATE_BENCH_ANSIBLE_MAX', 50),
    ansibleRuns: envInt('FLEETGATE_BENCH_ANSIBLE_RUNS', 1),
    log,
  };
}

interface SizeResult {
  size: number;
  waves: number;
  waveSize: number;
  fleetgate: number[];
  fleetgateWaves: number[];
  floor: number[];
  ideal: number[];
  curl: number[];
  ansible: number[];
  /** Per repetition with Ansible: Ansible time / Fleetgate time in the same repetition. */
  ansibleRatios: number[];
  curlRatios: number[];
  floorRatios: number[];
  wavesFloorRatios: number[];
}

let versionCounter = 1;
const nextVersion = () => `${++versionCounter}.0.0`;

async function planWaves(fleet: LocalFleet): Promise<{ ids: string[][]; addresses: Waves }> {
  const repo = new BenchRepo('bench', fleet.targets);
  try {
    repo.propose({ version: '99.0.0', waves: '20%', maxUnavailable: '20%' });
    const loaded = await loadRollout(join(repo.dir, repo.specPath));
    const byId = new Map(fleet.targets.map((t) => [t.id, t.address]));
    const ids = loaded.plan.waves.map((w) => w.targets);
    return { ids, addresses: ids.map((w) => w.map((id) => byId.get(id)!)) };
  } finally {
    repo.remove();
  }
}

async function measureSize(size: number, o: RollingOptions, ansibleReason: string | undefined): Promise<SizeResult> {
  o.log(`rolling: starting ${size} agents`);
  const fleet = await startBenchFleet(size);
  try {
    const { addresses } = await planWaves(fleet);
    const r: SizeResult = {
      size,
      waves: addresses.length,
      waveSize: Math.max(...addresses.map((w) => w.length)),
      fleetgate: [],
      fleetgateWaves: [],
      floor: [],
      ideal: [],
      curl: [],
      ansible: [],
      ansibleRatios: [],
      curlRatios: [],
      floorRatios: [],
      wavesFloorRatios: [],
    };
    let versions = await fleetVersions(fleet);
    // A warm-up the results do not count: connections, page cache, JIT.
    await runIdeal(addresses, nextVersion()).then(async () => {
      versions = await fleetVersions(fleet);
    });
    for (let run = 0; run < o.runs; run++) {
      let v = nextVersion();
      const ideal = await runIdeal(addresses, v);
      versions = await assertUpgradedOnce(fleet, versions, v, 'the floor loop');
      r.floor.push(ideal.floorMs);
      r.ideal.push(ideal.ms);

      v = nextVersion();
      const repo = new BenchRepo('bench', fleet.targets);
      let fleetgateMs: number;
      try {
        repo.propose({ version: v, waves: '20%', maxUnavailable: '20%' });
        const res = await repo.cli('run', repo.specPath, '--events', 'events.jsonl');
        if (res.code !== 0) throw new Error(`fleetgate run exited ${res.code}: ${res.stderr.slice(0, 500)}`);
        const events = readEvents(join(repo.dir, 'events.jsonl'));
        const first = events.find((e) => e.event === 'wave_started');
        const last = events.filter((e) => e.event === 'wave_completed').at(-1);
        fleetgateMs = res.ms;
        r.fleetgate.push(res.ms);
        r.fleetgateWaves.push(Date.parse(last!.ts) - Date.parse(first!.ts));
      } finally {
        repo.remove();
      }
      versions = await assertUpgradedOnce(fleet, versions, v, 'fleetgate');

      v = nextVersion();
      const curl = await runCurlLoop(addresses, v);
      versions = await assertUpgradedOnce(fleet, versions, v, 'the curl loop');
      r.curl.push(curl.ms);

      r.curlRatios.push(curl.ms / fleetgateMs);
      r.floorRatios.push(fleetgateMs / ideal.floorMs);
      r.wavesFloorRatios.push(r.fleetgateWaves.at(-1)! / ideal.floorMs);

      if (ansibleReason === undefined && size <= o.ansibleMax && run < o.ansibleRuns) {
        v = nextVersion();
        o.log(`rolling: ansible-playbook over ${size} hosts (serial 20%, ${r.waveSize} forks) …`);
        const ansible = await runAnsible(fleet.targets, v, '20%', r.waveSize);
        versions = await assertUpgradedOnce(fleet, versions, v, 'ansible-playbook');
        r.ansible.push(ansible.ms);
        r.ansibleRatios.push(ansible.ms / fleetgateMs);
      }
      o.log(
        `rolling ${size}: run ${run + 1}/${o.runs}: fleetgate ${formatMs(fleetgateMs)} (waves ${formatMs(r.fleetgateWaves.at(-1)!)}), floor ${formatMs(ideal.floorMs)}, curl ${formatMs(curl.ms)}${r.ansible.length > run ? `, ansible ${formatMs(r.ansible[run]!)}` : ''}`,
      );
    }
    return r;
  } finally {
    await fleet.stop();
  }
}

export async function runRolling(o: RollingOptions): Promise<Section> {
  const ansibleReason = o.ansibleMax > 0 ? ensureAnsible(o.log) : 'disabled (FLEETGATE_BENCH_ANSIBLE_MAX=0)';
  const results: SizeResult[] = [];
  for (const size of o.sizes) results.push(await measureSize(size, o, ansibleReason));

  const rows = results.map((r) => [
    `${r.size} agents, ${r.waves} waves of ${r.waveSize}`,
    formatMs(median(r.fleetgate)),
    formatMs(median(r.fleetgateWaves)),
    formatMs(median(r.floor)),
    formatMs(median(r.curl)),
    r.ansible.length > 0
      ? `${formatMs(median(r.ansible))} (${r.ansible.length} run${r.ansible.length > 1 ? 's' : ''})`
      : 'not run',
  ]);
  const ratioRows = results.map((r) => [
    `${r.size} agents`,
    r.ansibleRatios.length > 0 ? `**${formatRatio(median(r.ansibleRatios))}** faster` : 'not run',
    `${formatRatio(median(r.curlRatios))}`,
    `${formatRatio(median(r.floorRatios))}`,
    `**${formatRatio(median(r.wavesFloorRatios))}**`,
  ]);
  const notRun = results.filter((r) => r.ansible.length === 0).map((r) => r.size);
  const body = [
    `Same local fleet for every tool: real agent processes on 127.0.0.1 (50 per process), 50 ms simulated restart per upgrade,`,
    `no synthetic traffic; waves of 20% (canary 0), the whole wave at once (maxUnavailable 20%, Ansible forks = wave size),`,
    `health polled every 10 ms by Fleetgate, the curl loop and the floor, and as fast as Ansible retries (\`delay: 0\`).`,
    `Medians of ${o.runs} repetitions${o.ansibleRuns < o.runs ? ` (Ansible: ${o.ansibleRuns})` : ''}; the tools take turns inside each repetition and`,
    `every tool must leave every agent on the new version with exactly one more upgrade counted by the agent.`,
    '',
    table(['fleet', 'Fleetgate (process)', 'Fleetgate (waves)', 'floor', 'curl loop', 'Ansible'], rows),
    '',
    table(
      [
        'fleet',
        'Ansible ÷ Fleetgate',
        'curl loop ÷ Fleetgate',
        'Fleetgate (process) ÷ floor',
        'Fleetgate (waves) ÷ floor',
      ],
      ratioRows,
    ),
    '',
    '- **Fleetgate (process)**: `fleetgate run` from process start to exit: Node start-up, spec and inventory,',
    '  preflight (the version of every target), the state written ahead of every drain, upgrade and undrain',
    '  (and after the other steps, without waiting), a git commit per wave, the version read again after each upgrade.',
    '- **Fleetgate (waves)**: from the first `wave_started` to the last `wave_completed` event of the same run.',
    "- **floor**: sum over waves of the slowest target's drain → upgrade → healthy → undrain, measured by a",
    '  loop that does only those requests (no process start, no state, no checks).',
    `- Ansible: ${ansibleReason === undefined ? ansibleVersion() : ansibleReason}, \`connection: local\`, \`gather_facts: false\`;`,
    '  each task runs the `uri` module in a Python worker per host.',
    ...(notRun.length > 0 && ansibleReason === undefined
      ? [`- Ansible was not run at ${notRun.join(', ')} agents in this recording (\`FLEETGATE_BENCH_ANSIBLE_MAX\`).`]
      : []),
  ].join('\n');
  return { title: 'Rolling upgrade: Fleetgate, Ansible, a curl loop and the floor', body };
}
