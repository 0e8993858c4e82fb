/**
 * Kill -9 at random moments (test/faults/kill.test.ts with many samples): runs
 * the fault test through vitest and summarizes what the kills hit. The test
 * itself asserts, after every kill, that the state file parses, the re-run
 * completes, every agent ends on the version upgraded exactly once and
 * undrained, and no blocking git lock or temporary file is left.
 */
import type { KillSample } from '../test/faults/kill.test.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Section } from './lib/results.js';
import { envInt, formatMs, median, table } from './lib/stats.js';

export interface KillOptions {
  samples: number;
  log: (line: string) => void;
}

export function killOptionsFromEnv(log: (line: string) => void): KillOptions {
  return { samples: envInt('FLEETGATE_KILL_SAMPLES', 100), log };
}

export async function runKill(o: KillOptions): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-kill-'));
  const report = join(dir, 'kill.json');
  const root = resolve(import.meta.dirname, '..');
  o.log(`kill: ${o.samples} kill -9 samples (vitest test/faults/kill.test.ts)`);
  const started = Date.now();
  const code = await new Promise<number>((done) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/faults/kill.test.ts'],
      {
        cwd: root,
        env: { ...process.env, FLEETGATE_KILL_SAMPLES: String(o.samples), FLEETGATE_KILL_REPORT: report },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (c) => {
      if (c !== 0) o.log(`kill: vitest failed:\n${tail}`);
      done(c ?? 1);
    });
  });
  const elapsed = Date.now() - started;
  let data: { seed: number; fullMs: number; samples: KillSample[] } | undefined;
  try {
    data = JSON.parse(readFileSync(report, 'utf8')) as typeof data;
  } catch {
    data = undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (code !== 0 || !data) {
    return {
      title: 'Kill -9 at random moments',
      body: `**FAILED**: \`FLEETGATE_KILL_SAMPLES=${o.samples} npx vitest run test/faults/kill.test.ts\` exited ${code}; see its output.`,
    };
  }
  const s = data.samples;
  const strategies = [...new Set(s.map((x) => x.strategy))];
  const hits = [...new Set(s.map((x) => x.hit))].sort();
  const rows = strategies.map((st) => [
    st,
    ...hits.map((h) => String(s.filter((x) => x.strategy === st && x.hit === h).length)),
    String(s.filter((x) => x.strategy === st).length),
  ]);
  rows.push(['**all**', ...hits.map((h) => `**${s.filter((x) => x.hit === h).length}**`), `**${s.length}**`]);
  const body = [
    `\`FLEETGATE_KILL_SAMPLES=${o.samples} npx vitest run test/faults/kill.test.ts\` (seed ${data.seed}), ${formatMs(elapsed)}:`,
    `6 agents, canary 1 + waves of 2 (2 at a time), a whole uninterrupted rollout taking ${formatMs(data.fullMs)} here. Each`,
    'sample starts `fleetgate run` for a new version in its own process group, kills the group (the CLI and any git',
    'it runs) with SIGKILL at the aimed moment, checks that the state file parses, then runs `fleetgate run` again.',
    '',
    `**${s.length} of ${s.length} re-runs completed**; after every one, every agent ran the new version, had been`,
    'upgraded exactly once (its own upgrade counter and `/upgrade` request count), was not left drained, and no',
    'blocking git lock or temporary state file was left.',
    '',
    'Where the kills landed (rows: what the kill was aimed at; columns: what the process was doing when it died, as',
    'observed — a git commit running, a temporary state file left behind, a target in a step, between waves, before the',
    'first write, or after the run had already finished):',
    '',
    table(['aimed at', ...hits, 'kills'], rows),
    '',
    `- A kill during \`git commit\` left a blocking git lock (index, HEAD or branch) **${s.filter((x) => x.gitLockLeft).length}** times; the re-run found no process`,
    '  holding it, removed it and said so in its commit message (before the fix the re-run failed at its first commit).',
    `- A kill during a state write left a temporary file **${s.filter((x) => x.tmpFileLeft).length}** times; the original file was intact`,
    '  (atomic rename) and the re-run removed the leftover.',
    `- Targets caught in a step: ${s.filter((x) => x.inProgress.length > 0).length} kills; each was re-probed and finished, never upgraded twice.`,
    `- Re-run time: median ${formatMs(median(s.map((x) => x.rerunMs)))}, longest ${formatMs(Math.max(...s.map((x) => x.rerunMs)))} (a stale git lock is removed only once it is 2 s old).`,
  ].join('\n');
  return { title: 'Kill -9 at random moments', body };
}
