/**
 * Notifications through the bundled CLI, against real agents and a real webhook receiver on
 * 127.0.0.1: a rollout that waits at its gate, is approved and completes, then is rolled back
 * delivers each chosen event (JSON and Slack bodies, GitHub links from the environment), and a
 * dead receiver leaves a warning but not a failed rollout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RolloutRepo } from '../helpers/rollout-repo.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

let repo: RolloutRepo | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
afterEach(async () => {
  await repo?.close();
  await receiver?.close();
  repo = undefined;
  receiver = undefined;
});

const NOTIFY = `gates: { canary: approve-canary }
notify:
  - {kind: json, urlFrom: FG_HOOK, events: [gateWaiting, paused, rolledBack, completed]}
  - {kind: slack, urlFrom: FG_SLACK, events: [completed]}
`;

const GITHUB = {
  GITHUB_SERVER_URL: 'https://github.example',
  GITHUB_REPOSITORY: 'acme/fleet',
  GITHUB_RUN_ID: '1234',
  GITHUB_REF_NAME: 'main',
};

describe('fleetgate notify', () => {
  it('tells the webhooks about the gate, the pause, the completion and the rollback of a real rollout', async () => {
    receiver = await startReceiver();
    repo = await RolloutRepo.create({
      count: 3,
      version: '1.0.0',
      spec: { version: '1.1.0', canary: 1, waves: 1, extra: NOTIFY },
    });
    const env = { FG_HOOK: receiver.url, FG_SLACK: receiver.url, ...GITHUB, GITHUB_WORKSPACE: repo.dir };

    const waiting = await repo.cliWith(env, 'run', repo.specPath);
    expect(waiting.code, waiting.stderr).toBe(3);
    const done = await repo.cliWith(env, 'run', repo.specPath, '--yes');
    expect(done.code, done.stderr).toBe(0);
    const back = await repo.cliWith(env, 'rollback', repo.specPath, '--to', '1.0.0', '--reason', 'test');
    expect(back.code, back.stderr).toBe(4); // RolledBack

    const json = receiver.bodies.filter(
      (b): b is Record<string, unknown> => typeof (b as { event?: unknown }).event === 'string',
    );
    // The gate that stopped the first run is waiting; --yes answered it at once in the second (no message).
    expect(json.map((b) => b.event)).toEqual(['gateWaiting', 'completed', 'rolledBack']);
    expect(json[0]).toMatchObject({ rollout: 'svc', gate: 'approve-canary', reason: 'GatePending' });
    expect(json[1]).toMatchObject({ version: '1.1.0' });
    expect(json[2]).toMatchObject({ version: '1.0.0' });
    expect(json[0]!.links).toEqual({
      run: 'https://github.example/acme/fleet/actions/runs/1234',
      stateCommits: 'https://github.example/acme/fleet/commits/main/rollouts/svc.state.yaml',
    });
    const slack = receiver.bodies.filter((b) => typeof (b as { text?: unknown }).text === 'string') as {
      text: string;
    }[];
    expect(slack.map((b) => b.text)).toEqual([
      '*Fleetgate* svc: completed at 1.1.0\n<https://github.example/acme/fleet/actions/runs/1234|run> · <https://github.example/acme/fleet/commits/main/rollouts/svc.state.yaml|state commits>',
    ]);
    // The URL is a secret: masked in what the CLI printed.
    expect(`${waiting.stdout}${done.stdout}${back.stdout}`).not.toContain(receiver.url);
  });

  it('tells the webhook why a rollout paused (a broken version trips the breaker)', async () => {
    receiver = await startReceiver();
    repo = await RolloutRepo.create({
      count: 4,
      version: '1.1.0',
      spec: {
        version: '1.2.0-broken',
        canary: 0,
        waves: 2,
        maxUnavailable: 2,
        verifyTimeout: '600ms',
        extra: 'notify:\n  - {kind: json, urlFrom: FG_HOOK, events: [paused]}\n',
      },
    });
    const r = await repo.cliWith({ FG_HOOK: receiver.url }, 'run', repo.specPath);
    expect(r.code, r.stderr).toBe(3);
    expect(receiver.bodies).toEqual([
      expect.objectContaining({
        event: 'paused',
        rollout: 'svc',
        reason: 'CircuitBreakerTripped',
        message: expect.stringContaining('circuit breaker tripped') as unknown,
      }),
    ]);
  });

  it('finishes the rollout when the receiver is dead, with a warning', async () => {
    receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    receiver = undefined;
    repo = await RolloutRepo.create({
      count: 2,
      version: '1.0.0',
      spec: { version: '1.1.0', canary: 1, waves: 1, extra: NOTIFY },
    });
    const r = await repo.cliWith({ FG_HOOK: url, FG_SLACK: url }, 'run', repo.specPath, '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(repo.state().phase).toBe('Healthy');
    const warnings = r.stdout
      .split('\n')
      .filter((l) => l.includes('"notify_warning"'))
      .map((l) => JSON.parse(l) as { message: string });
    // The gate (approved by --yes) and the completion were not told, and the run went on.
    expect(warnings.map((w) => w.message)).toContainEqual(
      expect.stringMatching(/was not told about completed: .* after 4 attempt/),
    );
    expect(r.stdout).not.toContain('SECRET-TOKEN-123');
  }, 30_000);
});
