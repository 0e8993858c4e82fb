/**
 * Quorum systems, observed by the engine: the `leader` step is asked right before each of a
 * quorum tier's waves and the member leading then goes last; `transferLeadership` moves
 * leadership to a member already on the new version before the leader's drain, and the
 * leader is read again until it moved; `caughtUp` is polled after each member is back,
 * before the next goes down. On the in-memory kit (virtual clock), with a small Raft
 * cluster simulated beside the scripted fleet: a drained leader loses leadership (an
 * election), a transfer moves it where it is asked to.
 */
import { describe, expect, it } from 'vitest';
import { renderUrl, type StepResult, type StepRunner } from '../../src/engine/steps.js';
import { renderTemplate, type TemplateVars } from '../../src/engine/template.js';
import { placeQuorumLeader } from '../../src/plan/leader.js';
import { planRollout } from '../../src/plan/plan.js';
import type { StepSpec, StepsSpec, Target } from '../../src/spec/types.js';
import { engineSpec, httpStep, scenario, size, tier } from './kit/engine.js';

/** Names of the quorum steps, as the wrapper tells them apart (by the URL's last segment). */
type QuorumCall = 'leader' | 'transfer' | 'caught-up';

interface Cluster {
  /** Member leading now (undefined: no leader, e.g. during an election). */
  leader: string | undefined;
  /** What happened, in order: `drain c-1 (leader c-3)`, `transfer c-3 → c-1`, `caught-up c-1 #2 ok`. */
  log: string[];
}

interface SetUpOptions {
  members?: number;
  leader: string;
  /** Steps to add (default: the leader step only). */
  steps?: Partial<Record<'leader' | 'transferLeadership' | 'caughtUp', StepSpec>>;
  /** Answers the leader step (default: the cluster's leader). */
  answerLeader?: (cluster: Cluster, askedOf: string, n: number) => string | undefined;
  /** Whether a transfer moves leadership to the transferee (default: always). */
  transferWorks?: () => boolean;
  /** Whether a caughtUp poll passes (default: on the 3rd poll of each member). */
  caughtUp?: (target: string, polls: number) => boolean;
  /** Labels of the members (e.g. a stale leader label). */
  labels?: (id: string) => Record<string, string>;
}

const members = (n: number, labels: (id: string) => Record<string, string> = () => ({})): Target[] =>
  Array.from({ length: n }, (_, i) => {
    const id = `c-${i + 1}`;
    return { id, address: `${id}.test:2379`, labels: labels(id) };
  });

function setUp(o: SetUpOptions) {
  const steps: Partial<StepsSpec> = o.steps ?? { leader: httpStep('leader', { method: 'GET', retries: 0 }) };
  const base = engineSpec([tier('control', {}, { quorum: true, observeMs: 0 })]);
  const spec = { ...base, steps: { ...base.steps, ...steps } };
  const targets = members(o.members ?? 3, o.labels);
  const s = scenario({ spec, targets });
  const cluster: Cluster = { leader: o.leader, log: [] };
  const polls = new Map<string, number>();
  let leaderReads = 0;
  const transfers: { from: string; to: string | undefined }[] = [];
  // A drained leader steps down: another serving member wins the election.
  s.fleet.onChange(({ target, what }) => {
    if (what === 'drained') {
      cluster.log.push(`drain ${target} (leader ${cluster.leader ?? 'none'})`);
      if (cluster.leader === target)
        cluster.leader = targets.map((t) => t.id).find((id) => id !== target && s.fleet.inService(id));
    }
  });
  const deps = s.deps.bind(s);
  s.deps = () => {
    const d = deps();
    const inner = d.runner;
    const runner: StepRunner = {
      async run(step: StepSpec, vars: TemplateVars, opts): Promise<StepResult> {
        const name = step.kind === 'http' ? (step.url.split('/').pop() as string) : '';
        if (!['leader', 'transfer', 'caught-up'].includes(name)) return inner.run(step, vars, opts);
        await s.clock.sleep(5);
        const ok = (message: string, version?: string): StepResult => ({
          ok: true,
          attempts: 1,
          status: 200,
          message,
          durationMs: 5,
          ...(version !== undefined && { version }),
        });
        const no = (message: string): StepResult => ({ ok: false, attempts: 1, status: 503, message, durationMs: 5 });
        const id = vars.target.id;
        switch (name as QuorumCall) {
          case 'leader': {
            leaderReads++;
            if (!s.fleet.inService(id) && s.fleet.get(id).drained) return no(`${id} is drained`);
            const answer = o.answerLeader ? o.answerLeader(cluster, id, leaderReads) : cluster.leader;
            return answer === undefined ? no('no leader') : ok(answer, answer);
          }
          case 'transfer': {
            transfers.push({ from: id, to: vars.transferee?.id });
            cluster.log.push(`transfer ${id} → ${vars.transferee?.id ?? '?'}`);
            if (o.transferWorks?.() ?? true) cluster.leader = vars.transferee?.id;
            return ok('transferred');
          }
          case 'caught-up': {
            const n = (polls.get(id) ?? 0) + 1;
            polls.set(id, n);
            const passed = (o.caughtUp ?? ((_t, k) => k >= 3))(id, n);
            cluster.log.push(`caught-up ${id} #${n} ${passed ? 'ok' : 'behind'}`);
            return passed ? ok('caught up') : no(`${id} applied index behind the leader's`);
          }
        }
      },
    };
    return { ...d, runner };
  };
  return { s, cluster, polls, transfers, reads: () => leaderReads };
}

const upgraded = (s: ReturnType<typeof setUp>['s']) => s.fleet.callsOf('upgrade').map((c) => c.target);

describe('quorum tier: rollbacks', () => {
  it('asks the leader step before a rollback: the member leading now goes back last, alone', async () => {
    const { s, cluster } = setUp({ members: 5, leader: 'c-5' });
    expect((await s.engine().run()).outcome).toBe('Healthy');
    cluster.leader = 'c-2'; // an election since the rollout: the plan's leader is a follower now
    const before = s.fleet.callsOf('upgrade').length;
    const r = await s.engine().rollbackTo('1.0.0', 'bad release');
    expect(r.outcome).toBe('RolledBack');
    const back = s.fleet.callsOf('upgrade').slice(before);
    expect(back.map((c) => c.target).at(-1)).toBe('c-2');
    // Alone: every other member was back before c-2 went down.
    const leaderDown = s.fleet.callsOf('drain', 'c-2').at(-1)!.at;
    expect(back.filter((c) => c.target !== 'c-2').every((c) => c.endAt! <= leaderDown)).toBe(true);
    const observed = s.events.filter((e) => e.event === 'leader_observed' && e.rollback === true);
    expect(observed).toEqual([expect.objectContaining({ tier: 'control', leader: 'c-2' })]);
  });

  it('goes on when the leader step does not answer (parts of the fleet are down), saying so', async () => {
    let down = false;
    const { s } = setUp({ members: 3, leader: 'c-3', answerLeader: (cl) => (down ? undefined : cl.leader) });
    expect((await s.engine().run()).outcome).toBe('Healthy');
    down = true;
    const r = await s.engine().rollbackTo('1.0.0', 'cluster in trouble');
    expect(r.outcome).toBe('RolledBack');
    expect(Object.values(s.fleet.versions())).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    const observed = s.events.filter((e) => e.event === 'leader_observed' && e.rollback === true);
    expect(observed[0]?.message).toMatch(/leader/);
  });
});

describe('quorum tier: preflight', () => {
  it('names the member leading now, and is not ready when the leader step cannot tell', async () => {
    const { s, cluster } = setUp({ members: 3, leader: 'c-2', answerLeader: (cl) => cl.leader });
    const report = await s.engine().preflightReport();
    expect(report.leaders).toEqual([{ tier: 'control', leader: 'c-2' }]);
    expect(report.ok).toBe(true);
    cluster.leader = undefined;
    const unknown = await s.engine().preflightReport();
    expect(unknown.leaders).toEqual([{ tier: 'control', message: expect.stringContaining('leader') as string }]);
    expect(unknown.ok).toBe(false);
    expect(s.fleet.touched()).toEqual([]);
  });
});

describe('quorum tier: the leader step', () => {
  it('given a stale leader label, then the leader the step reports when the tier is planned goes last', async () => {
    const { s } = setUp({
      leader: 'c-2',
      labels: (id): Record<string, string> => (id === 'c-1' ? { leader: 'true' } : {}),
    });
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(upgraded(s)).toEqual(['c-1', 'c-3', 'c-2']);
    expect(s.state().waves.map((w) => [w.id, w.targets])).toEqual([
      ['control/canary', ['c-1']],
      ['control/1', ['c-3']],
      ['control/leader', ['c-2']],
    ]);
    const observed = s.events.filter((e) => e.event === 'leader_observed');
    expect(observed.length).toBe(3);
    expect(observed.every((e) => e.leader === 'c-2' && e.lastWave === 'control/leader')).toBe(true);
  });

  it('given leadership moves between two waves, then the member leading before the next wave goes last', async () => {
    const { s, cluster } = setUp({ members: 5, leader: 'c-5' });
    // After the canary, c-4 (a follower planned for wave 1, still on 1.0.0) wins an election.
    s.fleet.on(
      (call) => call.kind === 'undrain' && call.target === 'c-2',
      () => {
        cluster.leader = 'c-4';
      },
    );
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(upgraded(s)).toEqual(['c-1', 'c-2', 'c-3', 'c-5', 'c-4']);
    expect(s.state().waves.map((w) => [w.id, w.targets])).toEqual([
      ['control/canary', ['c-1', 'c-2']],
      ['control/1', ['c-3', 'c-5']],
      ['control/leader', ['c-4']],
    ]);
    const leaders = s.events.filter((e) => e.event === 'leader_observed').map((e) => [e.wave, e.leader]);
    expect(leaders).toEqual([
      ['control/canary', 'c-5'],
      ['control/1', 'c-4'],
      ['control/leader', 'c-4'],
    ]);
    // No follower went down while leading.
    expect(cluster.log.filter((l) => l.startsWith('drain')).slice(0, 4)).toEqual([
      'drain c-1 (leader c-5)',
      'drain c-2 (leader c-5)',
      'drain c-3 (leader c-4)',
      'drain c-5 (leader c-4)',
    ]);
  });

  it('given a run that stops after the re-planned canary, then the next run (a new plan from the label) keeps the waves the state recorded', async () => {
    const { s, cluster } = setUp({
      members: 5,
      leader: 'c-2',
      labels: (id): Record<string, string> => (id === 'c-5' ? { leader: 'true' } : {}),
    });
    expect((await s.engine().run({ maxWaves: 1 })).outcome).toBe('Progressing');
    expect(s.state().waves.map((w) => [w.id, w.phase, w.targets])).toEqual([
      ['control/canary', 'Completed', ['c-1', 'c-3']],
      ['control/1', 'Pending', ['c-4', 'c-5']],
      ['control/leader', 'Pending', ['c-2']],
    ]);
    cluster.leader = 'c-4';
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(upgraded(s)).toEqual(['c-1', 'c-3', 'c-2', 'c-5', 'c-4']);
    expect(s.state().waves.map((w) => [w.id, w.targets])).toEqual([
      ['control/canary', ['c-1', 'c-3']],
      ['control/1', ['c-2', 'c-5']],
      ['control/leader', ['c-4']],
    ]);
  });

  it('given the leader moves onto a member already upgraded, then the last wave holds an ordinary member', async () => {
    const { s, cluster } = setUp({ leader: 'c-3' });
    s.fleet.on(
      (call) => call.kind === 'undrain' && call.target === 'c-1',
      () => {
        cluster.leader = 'c-1';
      },
    );
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(upgraded(s)).toEqual(['c-1', 'c-2', 'c-3']);
    // c-3 is an ordinary member now: the leader wave gave way to a numbered one.
    expect(s.state().waves.map((w) => [w.id, w.targets])).toEqual([
      ['control/canary', ['c-1']],
      ['control/1', ['c-2']],
      ['control/2', ['c-3']],
    ]);
  });

  it('given the leader step fails on every member, then the rollout pauses (LeaderUnknown) and nothing is touched', async () => {
    const { s } = setUp({ leader: 'c-1', answerLeader: () => undefined });
    const r = await s.engine().run();
    expect(r.outcome).toBe('Paused');
    expect(r.reason).toBe('LeaderUnknown');
    expect(s.state().condition?.reason).toBe('LeaderUnknown');
    expect(s.fleet.touched()).toEqual([]);
  });

  it('given the leader step names no member of the tier, then the rollout pauses (LeaderUnknown) naming the answer', async () => {
    const { s } = setUp({ leader: 'c-1', answerLeader: () => 'etcd-9' });
    const r = await s.engine().run();
    expect(r.reason).toBe('LeaderUnknown');
    expect(r.message).toContain('"etcd-9"');
    expect(s.fleet.touched()).toEqual([]);
  });

  it('given the first member asked is down, then the leader is read from the next one', async () => {
    const asked: string[] = [];
    const { s } = setUp({
      leader: 'c-3',
      answerLeader: (cluster, askedOf) => {
        asked.push(askedOf);
        return askedOf === 'c-1' ? undefined : cluster.leader;
      },
    });
    const r = await s.engine().run();
    expect(asked.slice(0, 2)).toEqual(['c-1', 'c-2']);
    expect(r.outcome).toBe('Healthy');
    expect(upgraded(s).at(-1)).toBe('c-3');
  });
});

describe('quorum tier: transferLeadership', () => {
  const steps = () => ({
    leader: httpStep('leader', { method: 'GET', retries: 0 }),
    transferLeadership: httpStep('transfer', {
      url: 'http://{{target.address}}/transfer',
      timeoutMs: 2_000,
      intervalMs: 100,
    }),
  });

  it('given a transfer step, then leadership moves to an upgraded member before the leader is drained, and is confirmed', async () => {
    const { s, cluster, transfers } = setUp({ leader: 'c-3', steps: steps() });
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(upgraded(s)).toEqual(['c-1', 'c-2', 'c-3']);
    expect(transfers).toEqual([{ from: 'c-3', to: 'c-1' }]);
    expect(cluster.log.indexOf('transfer c-3 → c-1')).toBeLessThan(cluster.log.indexOf('drain c-3 (leader c-1)'));
    expect(cluster.log).not.toContain('drain c-3 (leader c-3)');
    const moved = s.events.find((e) => e.event === 'leadership_transferred');
    expect(moved).toMatchObject({ target: 'c-3', transferee: 'c-1', ok: true, leader: 'c-1', wave: 'control/leader' });
  });

  it('given leadership moves onto a member of the running wave, then it is moved off before that member goes down', async () => {
    const { s, cluster, transfers } = setUp({ members: 5, leader: 'c-5', steps: steps() });
    // c-2, planned in the canary with c-1, wins an election while c-1 is restarted.
    s.fleet.on(
      (call) => call.kind === 'undrain' && call.target === 'c-1',
      () => {
        cluster.leader = 'c-2';
      },
    );
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    // Leadership then stays on c-1 (upgraded), so c-5 goes as an ordinary member: no second transfer.
    expect(transfers).toEqual([{ from: 'c-2', to: 'c-1' }]);
    expect(cluster.log.filter((l) => l.startsWith('drain'))).toEqual([
      'drain c-1 (leader c-5)',
      'drain c-2 (leader c-1)',
      'drain c-3 (leader c-1)',
      'drain c-4 (leader c-1)',
      'drain c-5 (leader c-1)',
    ]);
    expect(s.events.find((e) => e.event === 'leader_observed' && e.target === 'c-2')).toMatchObject({
      wave: 'control/canary',
      leader: 'c-2',
    });
  });

  it('given the leadership does not move, then the rollout pauses (LeadershipNotTransferred) with the leader untouched', async () => {
    const { s, cluster } = setUp({ leader: 'c-3', steps: steps(), transferWorks: () => false });
    const r = await s.engine().run();
    expect(r.outcome).toBe('Paused');
    expect(r.reason).toBe('LeadershipNotTransferred');
    expect(s.state().condition?.reason).toBe('LeadershipNotTransferred');
    expect(s.fleet.touched()).not.toContain('c-3');
    expect(s.state().targets['c-3']?.phase).toBe('Pending');
    expect(cluster.leader).toBe('c-3');
    const moved = s.events.find((e) => e.event === 'leadership_transferred');
    expect(moved).toMatchObject({ target: 'c-3', transferee: 'c-1', ok: false });
  });

  it('given a continue after a failed transfer, then the transfer runs again and the leader goes last', async () => {
    let works = false;
    const { s, cluster, transfers } = setUp({ leader: 'c-3', steps: steps(), transferWorks: () => works });
    expect((await s.engine().run()).reason).toBe('LeadershipNotTransferred');
    works = true;
    const r = await s.engine().resume('continue');
    expect(r.outcome).toBe('Healthy');
    expect(transfers.length).toBe(2);
    expect(upgraded(s)).toEqual(['c-1', 'c-2', 'c-3']);
    expect(cluster.log).not.toContain('drain c-3 (leader c-3)');
  });
});

describe('caughtUp', () => {
  it('is polled after each member is back, and the next member goes down only once it passed', async () => {
    const { s, cluster, polls } = setUp({
      leader: 'c-3',
      steps: {
        leader: httpStep('leader', { method: 'GET', retries: 0 }),
        caughtUp: httpStep('caught-up', { method: 'GET', timeoutMs: 5_000, intervalMs: 200 }),
      },
    });
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    for (const id of ['c-1', 'c-2', 'c-3']) expect(polls.get(id)).toBe(3);
    const at = (line: string) => cluster.log.indexOf(line);
    expect(at('caught-up c-1 #3 ok')).toBeLessThan(at('drain c-2 (leader c-3)'));
    expect(at('caught-up c-2 #3 ok')).toBeLessThan(cluster.log.findIndex((l) => l.startsWith('drain c-3')));
    const checks = s.events.filter((e) => e.event === 'target_health_check' && e.check === 'caughtUp');
    expect(checks.length).toBe(9);
  });

  it('given a member that does not catch up, then it fails (NotCaughtUp), counts as out, and no other member goes down', async () => {
    const { s, cluster } = setUp({
      leader: 'c-3',
      steps: {
        leader: httpStep('leader', { method: 'GET', retries: 0 }),
        caughtUp: httpStep('caught-up', { method: 'GET', timeoutMs: 1_000, intervalMs: 200 }),
      },
      caughtUp: (target) => target !== 'c-1',
    });
    const r = await s.engine().run();
    expect(r.outcome).toBe('Paused');
    const c1 = s.state().targets['c-1']!;
    expect(c1.phase).toBe('Failed');
    expect(c1.reason).toBe('NotCaughtUp');
    expect(c1.message).toMatch(/did not catch up within 1000 ms \(\d+ checks\)/);
    expect(s.events.find((e) => e.event === 'target_failed')).toMatchObject({ target: 'c-1', reason: 'NotCaughtUp' });
    expect(cluster.log.filter((l) => l.startsWith('drain'))).toEqual(['drain c-1 (leader c-3)']);
    expect(s.fleet.touched()).toEqual(['c-1']);
  });
});

describe('placeQuorumLeader (pure)', () => {
  const plan = () => {
    const spec = engineSpec([tier('control', {}, { quorum: true, canary: size(1), observeMs: 0 })]);
    return planRollout(
      spec,
      members(5, (id): Record<string, string> => (id === 'c-5' ? { leader: 'true' } : {})),
    );
  };

  it('keeps started waves as recorded and puts the observed leader alone and last', () => {
    const p = placeQuorumLeader(plan(), {
      tier: 'control',
      leader: 'c-3',
      started: [{ id: 'control/canary', targets: ['c-1'], startedAt: '2026-01-01T00:00:00Z' }],
      untouched: new Set(['c-2', 'c-3', 'c-4', 'c-5']),
    });
    expect(p.waves.map((w) => [w.id, w.targets, w.index, w.kind])).toEqual([
      ['control/canary', ['c-1'], 0, 'canary'],
      ['control/1', ['c-2', 'c-4'], 1, 'wave'],
      ['control/2', ['c-5'], 2, 'wave'],
      ['control/leader', ['c-3'], 3, 'leader'],
    ]);
    expect(p.tiers[0]!.leader).toBe('c-3');
  });

  it('gives the same waves for the same observation (a resumed run), and leaves a settled leader where it ran', () => {
    const observed = {
      tier: 'control',
      leader: 'c-1',
      started: [{ id: 'control/canary', targets: ['c-1'], startedAt: '2026-01-01T00:00:00Z' }],
      untouched: new Set(['c-2', 'c-3', 'c-4', 'c-5']),
    };
    const a = placeQuorumLeader(plan(), observed);
    expect(placeQuorumLeader(plan(), observed)).toEqual(a);
    expect(a.waves.map((w) => [w.id, w.targets])).toEqual([
      ['control/canary', ['c-1']],
      ['control/1', ['c-2', 'c-3']],
      ['control/2', ['c-4', 'c-5']],
    ]);
  });

  it('never plans a wave above floor((n-1)/2) members', () => {
    for (const leader of ['c-1', 'c-2', 'c-3', 'c-4', 'c-5']) {
      const p = placeQuorumLeader(plan(), { tier: 'control', leader, started: [], untouched: new Set() });
      expect(p.waves.every((w) => w.targets.length <= 2)).toBe(true);
      expect(p.waves.at(-1)!.targets).toEqual([leader]);
      expect(p.waves.flatMap((w) => w.targets).sort()).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
    }
  });
});

describe('{{transferee.*}} in a transferLeadership step', () => {
  const vars = (address: string): TemplateVars => ({
    target: { id: 'c-3', address: 'c-3.test:2379', labels: {} },
    transferee: { id: 'c-1', address, labels: { 'node-id': 'a b/c' } },
    version: '1.1.0',
    rollout: { name: 'r' },
    component: 'etcd',
  });

  it('fills the transferee, keeps its address as a URL authority and percent-encodes its labels', () => {
    expect(
      renderUrl(
        'http://{{target.address}}/move?to={{transferee.id}}&id={{transferee.labels.node-id}}',
        vars('c-1.test:2379'),
      ),
    ).toBe('http://c-3.test:2379/move?to=c-1&id=a%20b%2Fc');
    expect(renderUrl('http://{{transferee.address}}/', vars('c-1.test:2379'))).toBe('http://c-1.test:2379/');
    expect(renderTemplate('{{transferee.host}}', vars('c-1.test:2379'))).toBe('c-1.test');
  });

  it('refuses a transferee address that would move the request elsewhere', () => {
    expect(() => renderUrl('http://{{transferee.address}}/', vars('evil.test/x?'))).toThrow(/not a host or host:port/);
  });

  it('has no value outside a transfer (the engine gives no transferee)', () => {
    const { transferee: _unused, ...plain } = vars('c-1.test:2379');
    expect(() => renderTemplate('{{transferee.id}}', plain)).toThrow(/\{\{transferee\.id\}\}/);
  });
});
