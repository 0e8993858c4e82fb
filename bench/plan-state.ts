/**
 * Benchmark 3: planning 100,000 targets; reading and writing the state of
 * 10,000 targets (size and time); and what one wave's git commit changes,
 * from a real engine run over 10,000 targets (steps answered in memory, the
 * real state file and the real git commits).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitIn } from '../test/helpers/git.js';
import { systemClock } from '../src/util/clock.js';
import { RolloutEngine } from '../src/engine/rollout.js';
import type { StepRunner } from '../src/engine/steps.js';
import { planRollback, planRollout } from '../src/plan/plan.js';
import { parseSpec } from '../src/spec/parse.js';
import type { RolloutSpec, Target } from '../src/spec/types.js';
import { createLocalStatePort } from '../src/state/local-port.js';
import { readState, writeState } from '../src/state/store.js';
import { serializeState } from '../src/state/format.js';
import { createEmptyState, type RolloutState } from '../src/state/types.js';
import type { Section } from './lib/results.js';
import { envInt, formatBytes, formatMs, median, table } from './lib/stats.js';

export interface PlanStateOptions {
  planTargets: number;
  stateTargets: number;
  runs: number;
  log: (line: string) => void;
}

export function planStateOptionsFromEnv(log: (line: string) => void): PlanStateOptions {
  return {
    planTargets: envInt('FLEETGATE_BENCH_PLAN', 100_000),
    stateTargets: envInt('FLEETGATE_BENCH_STATE', 10_000),
    runs: Math.max(5, envInt('FLEETGATE_BENCH_RUNS', 3)),
    log,
  };
}

function spec(text: string): RolloutSpec {
  const parsed = parseSpec(text, 'bench.yaml');
  if (!parsed.ok)
    throw new Error(`bench spec invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return parsed.spec;
}

const STEPS = `steps:
  version: { http: { url: 'http://{{target.address}}/version', json: version } }
  drain: { http: { method: POST, url: 'http://{{target.address}}/drain' } }
  upgrade: { http: { method: POST, url: 'http://{{target.address}}/upgrade?version={{version}}', expect: [200, 202] } }
  verify: { http: { url: 'http://{{target.address}}/healthz' }, timeout: 30s, interval: 10ms }
  undrain: { http: { method: POST, url: 'http://{{target.address}}/undrain' } }
`;

function specText(tiers: string, inventory = 'file: inventory.yaml'): string {
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: big
component: svc
version: 2.0.0
inventory: { ${inventory} }
tiers:
${tiers}
${STEPS}`;
}

const ONE_TIER = `  - name: all
    strategy: { canary: auto, waves: auto, maxUnavailable: auto, observe: 0s }`;

const THREE_TIERS = `  - name: edge
    select: { role: edge }
    strategy: { canary: "1%", waves: "10%", maxUnavailable: "10%", observe: 15m }
  - name: app
    select: { role: app }
    strategy: { canary: 2, waves: auto, maxUnavailable: auto, observe: 15m }
  - name: control
    select: { role: control }
    strategy: { quorum: true, observe: 15m }`;

function fleet(n: number): Target[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `node-${i + 1}`,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
    labels: {
      role: i % 100 < 95 ? 'edge' : i % 100 < 99 ? 'app' : i < 500 ? 'control' : 'app',
      zone: `z${i % 3}`,
      ...(i === 99 ? { leader: 'true' } : {}),
    },
  }));
}

function timeRuns(runs: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    out.push(performance.now() - start);
  }
  return out;
}

/** A state after a finished rollout: every target Succeeded with times, every wave Completed. */
function finishedState(s: RolloutSpec, targets: Target[]): RolloutState {
  const plan = planRollout(s, targets);
  const state = createEmptyState(s.name);
  const at = '2026-11-23T12:00:00.000Z';
  Object.assign(state, {
    phase: 'Healthy',
    fromVersion: '1.0.0',
    toVersion: '2.0.0',
    lastKnownGood: '2.0.0',
    startedAt: at,
  });
  state.condition = { reason: 'RolloutCompleted', message: `all ${targets.length} targets run 2.0.0`, at };
  state.waves = plan.waves.map((w) => ({
    id: w.id,
    phase: 'Completed',
    targets: w.targets,
    startedAt: at,
    finishedAt: at,
    observeUntil: at,
    succeeded: w.targets.length,
    failed: 0,
  }));
  for (const t of targets) {
    state.targets[t.id] = {
      phase: 'Succeeded',
      from: '1.0.0',
      version: '2.0.0',
      attempts: 1,
      startedAt: at,
      finishedAt: at,
    };
  }
  state.history = [{ from: '1.0.0', to: '2.0.0', phase: 'Healthy', startedAt: at, finishedAt: at }];
  return state;
}

/** Steps answered in memory: every target upgrades at once and is healthy. */
function memoryRunner(targets: Target[]): StepRunner {
  const versions = new Map(targets.map((t) => [t.id, '1.0.0']));
  return {
    run(step, vars, opts) {
      if (opts?.extractVersion) {
        return Promise.resolve({
          ok: true,
          attempts: 1,
          version: versions.get(vars.target.id),
          message: 'ok',
          durationMs: 0,
        });
      }
      if (step.kind === 'http' && step.url.includes('/upgrade')) versions.set(vars.target.id, vars.version);
      return Promise.resolve({ ok: true, attempts: 1, message: 'ok', durationMs: 0 });
    },
  };
}

interface DiffCheck {
  waveId: string;
  waveTargets: number;
  linesChanged: number;
  targetLinesChanged: number;
  targetLinesOfWave: number;
  targetLinesOutsideWave: number;
  otherLines: string[];
  waveMs: number;
  writes: number;
  fileBytes: number;
}

/** Runs two waves of a 10,000-target rollout through the real engine, state port and git; checks wave 2's commit. */
async function waveCommitDiff(n: number): Promise<DiffCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-diff-'));
  try {
    const git = (...args: string[]) => gitIn(dir, ...args);
    mkdirSync(join(dir, 'rollouts'));
    writeFileSync(join(dir, 'rollouts', 'big.yaml'), '# spec\n');
    git('init', '--quiet', '--initial-branch=main');
    git('add', '.');
    git('commit', '--quiet', '-m', 'initial');
    const targets = fleet(n).map((t) => ({ ...t, labels: {} }));
    const s = spec(
      specText(`  - name: all
    strategy: { canary: 0, waves: "10%", maxUnavailable: "10%", observe: 0s }`),
    );
    const plan = planRollout(s, targets);
    const store = await createLocalStatePort({ path: join(dir, 'rollouts', 'big.state.yaml'), clock: systemClock });
    let writes = 0;
    const countingStore = {
      ...store,
      write: (state: RolloutState) => {
        writes++;
        return store.write(state);
      },
    };
    const runner = memoryRunner(targets);
    let waveStart = 0;
    let waveMs = 0;
    const engine = new RolloutEngine({
      spec: s,
      specPath: join(dir, 'rollouts', 'big.yaml'),
      targets,
      plan,
      planRollback: (ids) => planRollback(s, plan, ids),
      store: countingStore,
      runner,
      clock: systemClock,
      emit: (e) => {
        if (e.event === 'wave_started' && e.wave === plan.waves[1]!.id) waveStart = performance.now();
        if (e.event === 'wave_completed' && e.wave === plan.waves[1]!.id) waveMs = performance.now() - waveStart;
      },
      gates: () => Promise.resolve({ approved: true, by: 'bench' }),
      actor: 'bench',
      probeConcurrency: 256,
    });
    const result = await engine.run({ maxWaves: 2 });
    if (result.outcome !== 'Progressing') throw new Error(`expected to stop after 2 waves, got ${result.outcome}`);
    const wave = plan.waves[1]!;
    const log = git('log', '--format=%H %s');
    const line = log.split('\n').find((l) => l.includes(`(${wave.id}) healthy`));
    if (!line) throw new Error(`no commit for ${wave.id} in:\n${log}`);
    const sha = line.split(' ')[0]!;
    const diff = git('show', '--format=', '-U0', sha, '--', 'rollouts/big.state.yaml');
    const changed = diff
      .split('\n')
      .filter((l) => (l.startsWith('+') || l.startsWith('-')) && !l.startsWith('+++') && !l.startsWith('---'));
    const inWave = new Set(wave.targets);
    const targetLine = /^[+-] {2}([^\s:]+): \{/;
    let ofWave = 0;
    let outside = 0;
    const other: string[] = [];
    for (const l of changed) {
      const m = targetLine.exec(l);
      if (m) {
        if (inWave.has(m[1]!)) ofWave++;
        else outside++;
      } else other.push(l.length > 90 ? `${l.slice(0, 90)}…` : l);
    }
    return {
      waveId: wave.id,
      waveTargets: wave.targets.length,
      linesChanged: changed.length,
      targetLinesChanged: ofWave + outside,
      targetLinesOfWave: ofWave,
      targetLinesOutsideWave: outside,
      otherLines: other,
      waveMs,
      writes,
      fileBytes: statSync(join(dir, 'rollouts', 'big.state.yaml')).size,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runPlanState(o: PlanStateOptions): Promise<Section> {
  // Planning (pure): one tier with the seed 000 table; three tiers with selectors, canaries and a quorum tier.
  o.log(`plan: ${o.planTargets} targets`);
  const targets = fleet(o.planTargets);
  const one = spec(specText(ONE_TIER));
  const three = spec(specText(THREE_TIERS));
  planRollout(one, targets); // warm-up
  const planOne = timeRuns(o.runs, () => planRollout(one, targets));
  const planThree = timeRuns(o.runs, () => planRollout(three, targets));
  const wavesOne = planRollout(one, targets).waves.length;
  const wavesThree = planRollout(three, targets).waves.length;

  // State of 10,000 targets: write (serialize, temporary file, fsync, rename) and read (parse, check).
  o.log(`state: ${o.stateTargets} targets`);
  const stateTargets = fleet(o.stateTargets).map((t) => ({ ...t, labels: {} }));
  const state = finishedState(
    spec(
      specText(`  - name: all
    strategy: { canary: auto, waves: auto, maxUnavailable: auto, observe: 15m }`),
    ),
    stateTargets,
  );
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-state-'));
  const path = join(dir, 'big.state.yaml');
  const writeMs: number[] = [];
  const readMs: number[] = [];
  let bytes = 0;
  try {
    let revision = 0;
    for (let i = 0; i < o.runs + 1; i++) {
      let start = performance.now();
      const written = await writeState(path, { ...state, revision }, revision, new Date());
      const w = performance.now() - start;
      revision = written.revision;
      start = performance.now();
      const back = await readState(path);
      const r = performance.now() - start;
      if (Object.keys(back?.targets ?? {}).length !== stateTargets.length) throw new Error('state did not read back');
      if (i > 0) {
        writeMs.push(w);
        readMs.push(r);
      }
    }
    bytes = statSync(path).size;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const together = writeMs.map((w, i) => w + readMs[i]!);
  const lines = serializeState(state).split('\n').length;

  o.log(`state: a real engine run over ${o.stateTargets} targets, 2 waves, git commits`);
  const d = await waveCommitDiff(o.stateTargets);

  const body = [
    `Medians of ${o.runs} runs.`,
    '',
    '### Planning',
    '',
    table(
      ['plan', 'targets', 'waves', 'time (target ≤ 0.5 s)'],
      [
        [
          '1 tier, seed 000 `auto` sizes',
          o.planTargets.toLocaleString('en'),
          wavesOne,
          `**${formatMs(median(planOne))}**`,
        ],
        [
          '3 tiers by label (percent canary, `auto`, a quorum tier of 5)',
          o.planTargets.toLocaleString('en'),
          wavesThree,
          `**${formatMs(median(planThree))}**`,
        ],
      ],
    ),
    '',
    '`planRollout` (pure: sorts the inventory naturally by id, selects tiers, sizes canary and waves).',
    '',
    '### State file at 10,000 targets',
    '',
    table(
      ['targets', 'size (target ≤ 2 MB)', 'lines', 'write', 'read', 'write + read (target ≤ 0.5 s)'],
      [
        [
          o.stateTargets.toLocaleString('en'),
          `**${formatBytes(bytes)}**`,
          lines.toLocaleString('en'),
          formatMs(median(writeMs)),
          formatMs(median(readMs)),
          `**${formatMs(median(together))}**`,
        ],
      ],
    ),
    '',
    `A finished rollout's state: ${stateTargets.length.toLocaleString('en')} targets \`Succeeded\` with versions, attempts and times,`,
    `${state.waves.length} waves. **write** = \`writeState\`: compare-and-swap read of the revision, serialize,`,
    'temporary file, fsync, rename. **read** = `readState`: read, parse, check every field.',
    '',
    "### What one wave's commit changes",
    '',
    `A real \`RolloutEngine\` over ${d.waveTargets * 10} targets (steps answered in memory), the local state port and git:`,
    `waves of 10% (${d.waveTargets} targets, all at once), one commit per wave. \`git show -U0\` of the commit of ${d.waveId}:`,
    '',
    table(
      ['lines changed', 'target lines', "of the wave's targets", 'of other targets', 'other lines'],
      [
        [
          d.linesChanged,
          d.targetLinesChanged,
          d.targetLinesOfWave,
          `**${d.targetLinesOutsideWave}**`,
          d.otherLines.length,
        ],
      ],
    ),
    '',
    `Each of the wave's ${d.waveTargets} target lines changes once (− and +); the other lines are the rollout's own fields:`,
    '',
    '```diff',
    ...d.otherLines,
    '```',
    '',
    `That run: ${d.writes} state writes for 2 waves (the state is written ahead of every drain, upgrade and undrain and after the other steps;`,
    `writes asked for while one is in flight are merged), ${formatMs(d.waveMs)} for a wave of ${d.waveTargets} targets whose steps take no time: the engine's own`,
    `cost per wave at ${(d.waveTargets * 10).toLocaleString('en')} targets (state file ${formatBytes(d.fileBytes)}).`,
  ].join('\n');
  return { title: 'Planning and state', body };
}
