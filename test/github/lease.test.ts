/**
 * Two runners, one rollout, on the GitHub backend (the fake API over a real git repository):
 * a rollback dispatched while a wave runs finds the wave's lease in the state on GitHub and
 * stops before touching a target; once the wave's run ended (lease released) the same
 * rollback goes through. And a rollout whose targets another rollout's state on the same
 * branch holds (read through the contents API folder listing) touches nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutEngine } from '../../src/engine/rollout.js';
import type { LeaseOptions } from '../../src/engine/lease.js';
import { RolloutLockedError, TargetHeldError } from '../../src/errors.js';
import { createGitHubStatePort } from '../../src/github/state-port.js';
import { serializeState } from '../../src/state/format.js';
import { parseState } from '../../src/state/parse.js';
import { createEmptyState } from '../../src/state/types.js';
import { systemClock } from '../../src/util/clock.js';
import { engineSpec, fleet, rejection, scenario, size, tier } from '../engine/kit/engine.js';
import { FakeGitHub } from './fake-github.js';

const PATH = 'rollouts/edge.state.yaml';
const WAVE_JOB: LeaseOptions = { holder: 'github:alice run 11 attempt 1 job wave', key: 'github:o/r:11:wave' };
const ROLLBACK_JOB: LeaseOptions = {
  holder: 'github:bob run 12 attempt 1 job rollback',
  key: 'github:o/r:12:rollback',
};

let fake: FakeGitHub | undefined;
afterEach(async () => {
  fake?.assertClean();
  await fake?.close();
  fake = undefined;
});

/** A runner's engine: its own state port (own checkout) over the shared repository, real time. */
function runner(f: FakeGitHub, sc: ReturnType<typeof edge>, lease: LeaseOptions): RolloutEngine {
  const port = createGitHubStatePort({
    scm: f.scm(),
    path: PATH,
    localPath: join(mkdtempSync(join(tmpdir(), 'fleetgate-lease-')), PATH),
    branch: 'main',
    clock: systemClock,
  });
  return new RolloutEngine({ ...sc.deps(), store: port, clock: systemClock, lease });
}

function edge(n: number) {
  return scenario({
    spec: engineSpec([tier('edge', {}, { canary: size(1), waves: size(2), observeMs: 0 })]),
    targets: fleet('edge', n),
  });
}

describe('the run lease on the GitHub backend', () => {
  it('stops a rollback dispatched while a wave runs, before it touches a target; lets it through after', async () => {
    fake = await FakeGitHub.start({ files: { 'rollouts/edge.yaml': 'spec\n' } });
    const f = fake;
    const sc = edge(5);
    let dispatched: Promise<unknown> | undefined;
    let upgradesWhenRefused = -1;
    sc.fleet.on(
      (call) => call.kind === 'upgrade' && call.target === 'edge-3',
      () => {
        dispatched = runner(f, sc, ROLLBACK_JOB)
          .rollbackTo('1.0.0', 'dispatched while the wave runs')
          .then(
            () => undefined,
            (error: unknown) => error,
          )
          .finally(() => (upgradesWhenRefused = sc.fleet.callsOf('upgrade').length));
      },
    );
    const wave = await runner(f, sc, WAVE_JOB).run();
    expect(wave.outcome).toBe('Healthy');
    const refused = (await dispatched) as Error;
    expect(refused).toBeInstanceOf(RolloutLockedError);
    expect(refused.message).toContain(WAVE_JOB.holder);
    // Every upgrade was the wave's (1.1.0); the refused rollback moved nobody.
    expect(upgradesWhenRefused).toBeGreaterThan(0);
    expect(sc.fleet.callsOf('upgrade').every((c) => c.version === '1.1.0')).toBe(true);

    const onGitHub = parseState((await f.scm().readFile(PATH, 'main'))!.content, PATH);
    expect(onGitHub.lease).toBeUndefined();
    const log = f.commits.map((c) => c.message);
    expect(log[0]).toContain(`lease for ${WAVE_JOB.holder}`);
    expect(log.at(-1)).toContain('lease released');

    const rollback = await runner(f, sc, ROLLBACK_JOB).rollbackTo('1.0.0', 'after the wave');
    expect(rollback.outcome).toBe('RolledBack');
    expect(Object.values(sc.fleet.versions())).toEqual(Array(5).fill('1.0.0'));
  });

  it('refuses targets that another rollout on the same branch holds (its state read through the API)', async () => {
    const other = {
      ...createEmptyState('edge-config'),
      revision: 3,
      phase: 'Paused' as const,
      toVersion: '9.0.0',
      targets: { 'edge-2': { phase: 'Failed' as const } },
    };
    fake = await FakeGitHub.start({
      files: { 'rollouts/edge.yaml': 'spec\n', 'rollouts/edge-config.state.yaml': serializeState(other) },
    });
    const sc = edge(3);
    const error = await rejection(runner(fake, sc, WAVE_JOB).run());
    expect(error).toBeInstanceOf(TargetHeldError);
    expect(error.message).toContain('edge-config');
    expect(sc.fleet.touched()).toEqual([]);
  });
});
