/**
 * `kill -9` of a running `fleetgate run` (its whole process group, git included,
 * as a cancelled CI job) at random moments — during a step, at a wave boundary,
 * during a state write, during a git commit — then a plain re-run. Every re-run
 * completes; every agent ends on the version, upgraded exactly once (agents
 * count upgrades and upgrade requests) and undrained; the state file parses
 * after every kill; a git lock left by a killed commit is cleaned up safely.
 *
 * FLEETGATE_KILL_SAMPLES sets the number of kills (default 8; the bench runs
 * 100), FLEETGATE_KILL_SEED the random seed, FLEETGATE_KILL_REPORT a JSON file
 * for the summary (bench/kill.ts reads it).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/fleet/prng.js';
import { parseState } from '../../src/state/parse.js';
import type { RolloutState } from '../../src/state/types.js';
import { pollUntil } from '../helpers/poll.js';
import { RolloutRepo } from '../helpers/rollout-repo.js';
import {
  agentReports,
  agentStats,
  delta,
  faultSpecText,
  groupMembers,
  killGroup,
  proposeText,
  startDetached,
} from './helpers.js';

const SAMPLES = Number(process.env.FLEETGATE_KILL_SAMPLES ?? '8');
const SEED = Number(process.env.FLEETGATE_KILL_SEED ?? String(Date.now() % 2 ** 31));
const REPORT = process.env.FLEETGATE_KILL_REPORT;

/** Where the kill is aimed; what was actually hit is observed separately. */
const STRATEGIES = ['step', 'wave boundary', 'state write', 'commit', 'random'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** One kill and its re-run, as FLEETGATE_KILL_REPORT records it (bench/kill.ts reads the report). */
export interface KillSample {
  strategy: Strategy;
  /** What the process was doing when it died, as observed. */
  hit: string;
  killedAfterMs: number;
  tmpFileLeft: boolean;
  gitLockLeft: boolean;
  inProgress: string[];
  rerunMs: number;
  rerunNote: string;
}

let repo: RolloutRepo | undefined;
afterAll(async () => {
  await repo?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readStateOrUndefined(r: RolloutRepo): RolloutState | undefined {
  if (!r.hasState()) return undefined;
  return parseState(readFileSync(join(r.dir, 'rollouts', 'svc.state.yaml'), 'utf8'), 'svc.state.yaml');
}

function tmpFiles(r: RolloutRepo): string[] {
  return readdirSync(join(r.dir, 'rollouts')).filter((f) => /^\.svc\.state\.yaml\..*\.tmp$/.test(f));
}

/** Lock files in `.git` that block the next commit (index, HEAD, refs). */
function gitLocks(r: RolloutRepo): string[] {
  const found: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== 'objects') walk(join(dir, e.name), `${rel}${e.name}/`);
      // next-index-<pid>.lock is a killed `git commit --only`'s private index: it blocks nothing.
      else if (e.name.endsWith('.lock') && !e.name.startsWith('next-index-')) found.push(`${rel}${e.name}`);
    }
  };
  walk(join(r.dir, '.git'), '.git/');
  return found;
}

describe('kill -9 at random moments', () => {
  it(
    `every re-run completes after ${SAMPLES} kills: nothing skipped, nothing upgraded twice, the state always parses`,
    async () => {
      const random = mulberry32(SEED); // replayable: FLEETGATE_KILL_SEED
      const why = (k: number, s: Strategy) => `sample ${k} (${s}), FLEETGATE_KILL_SEED=${SEED}`;
      repo = await RolloutRepo.create({ count: 6, version: '1.0.0', upgradeMs: 30, spec: { version: '1.0.0' } });
      const r = repo;
      const spec = (version: string) =>
        faultSpecText('svc', {
          version,
          canary: 1,
          waves: 2,
          maxUnavailable: 2,
          stepTimeout: '5s',
          retries: 1,
          verifyTimeout: '10s',
        });
      mkdirSync(join(r.dir, '.fleetgate'), { recursive: true });
      const events = join(r.dir, '.fleetgate', 'events.jsonl');
      // An uninterrupted run first: how long a rollout takes here.
      proposeText(r, spec('1.1.0'));
      const t0 = Date.now();
      const clean = await r.cli('run', r.specPath);
      expect(clean.code, clean.stderr).toBe(0);
      const fullMs = Date.now() - t0;

      const samples: KillSample[] = [];
      for (let k = 0; k < SAMPLES; k++) {
        const strategy = STRATEGIES[k % STRATEGIES.length]!;
        const version = `2.${k}.0`;
        proposeText(r, spec(version), `propose ${version}`);
        const tmpBefore = new Set(tmpFiles(r));
        const statsBefore = await agentStats(r);
        const reportsBefore = await agentReports(r);
        writeFileSync(events, '');
        const child = startDetached(r, 'run', r.specPath, '--events', events);
        const pgid = child.pid!;
        let exited = false;
        void child.result.then(() => (exited = true));
        const started = Date.now();
        let gitSeen = false;

        // Aim.
        const until = (check: () => boolean) =>
          pollUntil(`${strategy} not reached`, fullMs * 4 + 10_000, () => exited || check(), { intervalMs: 2 });
        if (strategy === 'random') {
          await sleep(Math.floor(random() * fullMs * 0.8));
        } else if (strategy === 'step') {
          const want = ['drain', 'upgrade', 'verify', 'undrain'][Math.floor(random() * 4)]!;
          await until(() => {
            try {
              const s = readStateOrUndefined(r);
              return Object.values(s?.targets ?? {}).some((t) => t.phase === 'Progressing' && t.step === want);
            } catch {
              return false;
            }
          });
        } else if (strategy === 'wave boundary') {
          const nth = 1 + Math.floor(random() * 3);
          await until(() => (readFileSync(events, 'utf8').match(/"event":"wave_completed"/g) ?? []).length >= nth);
        } else if (strategy === 'state write') {
          const nth = 1 + Math.floor(random() * 20);
          let seen = 0;
          const watcher = watch(join(r.dir, 'rollouts'), (_e, name) => {
            if (typeof name === 'string' && name.endsWith('.tmp') && ++seen >= nth) killGroup(pgid);
          });
          try {
            await until(() => seen >= nth);
          } finally {
            watcher.close();
          }
        } else {
          const nth = 1 + Math.floor(random() * 3);
          let commits = 0;
          let inGit = false;
          await until(() => {
            const running = groupMembers(pgid, 'git', 'commit').length > 0;
            if (running && !inGit) commits++;
            inGit = running;
            gitSeen ||= running;
            return running && commits >= nth;
          });
        }
        gitSeen ||= groupMembers(pgid, 'git').length > 0;
        killGroup(pgid);
        const ended = await child.result;
        const killedAfterMs = Date.now() - started;

        // The state file parses after every kill, and says which targets were touched.
        let state: RolloutState | undefined;
        expect(() => (state = readStateOrUndefined(r)), why(k, strategy)).not.toThrow();
        const inProgress = Object.entries(state?.targets ?? {})
          .filter(([, t]) => t.phase === 'Progressing')
          .map(([id, t]) => `${id}:${t.step}`);
        const tmpFileLeft = tmpFiles(r).some((f) => !tmpBefore.has(f));
        const gitLockLeft = gitLocks(r).length > 0;
        const hit =
          exited && ended.code === 0
            ? 'after the end'
            : gitSeen
              ? 'commit'
              : tmpFileLeft
                ? 'state write'
                : inProgress.length > 0
                  ? 'step'
                  : state?.phase === 'Progressing'
                    ? 'wave boundary'
                    : 'start';

        // A plain re-run completes.
        const t1 = Date.now();
        const rerun = await r.cli('run', r.specPath);
        const rerunMs = Date.now() - t1;
        expect(rerun.code, `${why(k, strategy)}: ${rerun.stderr}`).toBe(0);
        expect(rerun.stderr, why(k, strategy)).toBe('');

        // Nothing skipped, nothing upgraded twice, nothing left drained.
        const statsAfter = await agentStats(r);
        const reports = await agentReports(r);
        for (const t of r.fleet.targets) {
          const rep = reports.get(t.id)!;
          expect(rep.version, `${why(k, strategy)}: ${t.id}`).toBe(version);
          expect(rep.upgrades - reportsBefore.get(t.id)!.upgrades, `${why(k, strategy)}: ${t.id} upgrades`).toBe(1);
          expect(delta(statsAfter, statsBefore, t.id, '/upgrade'), `${why(k, strategy)}: ${t.id} /upgrade`).toBe(1);
          expect(rep.drained, `${why(k, strategy)}: ${t.id} drained`).toBe(false);
        }
        const final = readStateOrUndefined(r)!;
        expect(final.phase, why(k, strategy)).toBe('Healthy');
        expect(final.toVersion).toBe(version);
        expect(Object.values(final.targets).every((t) => t.phase === 'Succeeded' && t.version === version)).toBe(true);
        // A lock left by a killed git commit was removed, and the commit says so.
        expect(gitLocks(r), why(k, strategy)).toEqual([]);
        let rerunNote = '';
        if (gitLockLeft) {
          expect(r.git('log', '-5', '--format=%B')).toMatch(
            /Removed (\.git\/\S+\.lock(, )?)+: left by a git process that was killed/,
          );
          rerunNote = 'removed a stale git lock';
        }
        expect(r.git('status', '--porcelain', '--', 'rollouts/svc.state.yaml'), why(k, strategy)).toBe('');
        // A temporary file of a write cut short is removed by the next run.
        expect(tmpFiles(r), why(k, strategy)).toEqual([]);
        samples.push({ strategy, hit, killedAfterMs, tmpFileLeft, gitLockLeft, inProgress, rerunMs, rerunNote });
      }
      if (REPORT) writeFileSync(REPORT, JSON.stringify({ seed: SEED, fullMs, samples }, null, 2));
      // Every strategy ran, and the kills landed in more than one kind of moment.
      expect(new Set(samples.map((s) => s.strategy)).size).toBe(Math.min(SAMPLES, STRATEGIES.length));
      if (SAMPLES >= STRATEGIES.length) expect(new Set(samples.map((s) => s.hit)).size).toBeGreaterThan(1);
      expect(existsSync(join(r.dir, '.git'))).toBe(true);
    },
    60_000 + SAMPLES * 15_000,
  );
});
