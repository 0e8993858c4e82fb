/**
 * Notifications (src/app/notify.ts) against a real HTTP receiver on 127.0.0.1: the chosen
 * events only, the JSON and Slack bodies with their GitHub links, a retry after a 500, a dead
 * receiver that ends in a `notify_warning` (never a throw), and the URL masked as a secret.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNotifier, githubLinks, notificationFor } from '../../src/app/notify.js';
import type { RolloutEvent } from '../../src/engine/events.js';
import { redactSecrets, registerSecret } from '../../src/util/secrets.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const ev = (event: RolloutEvent['event'], fields: Record<string, unknown> = {}): RolloutEvent => ({
  ts: '2026-12-03T08:00:00.000Z',
  event,
  rollout: 'svc',
  ...fields,
});

let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

describe('notifications', () => {
  it('sends the chosen events only, as Fleetgate JSON and as Slack text, with the GitHub links', async () => {
    receiver = await startReceiver();
    const warnings: RolloutEvent[] = [];
    const links = { run: 'https://github.com/o/r/actions/runs/7', pullRequest: 'https://github.com/o/r/pull/3' };
    const n = createNotifier({
      webhooks: [
        { kind: 'json', urlFrom: 'HOOK', events: ['paused', 'completed'] },
        { kind: 'slack', urlFrom: 'HOOK', events: ['gateWaiting'] },
      ],
      env: { HOOK: receiver.url },
      mask: registerSecret,
      warn: (e) => warnings.push(e),
      links,
    });
    n.sink(ev('wave_started', { wave: 'all/1' }));
    n.sink(ev('gate_pending', { gate: 'production', wave: 'all/1' })); // asked: --yes may answer at once
    n.sink(ev('rollout_paused', { reason: 'GatePending', message: 'waiting', wave: 'all/1', gate: 'production' }));
    n.sink(ev('rollout_paused', { reason: 'CircuitBreakerTripped', message: 'two failed', wave: 'all/1' }));
    n.sink(ev('rollout_rolled_back', { version: '1.0.0' })); // not chosen
    n.sink(ev('rollout_completed', { version: '1.1.0', message: 'already Healthy at 1.1.0' })); // nothing happened
    n.sink(ev('rollout_completed', { version: '1.1.0' }));
    await n.flush();
    expect(warnings).toEqual([]);
    expect(receiver.bodies).toHaveLength(3);
    expect(receiver.bodies).toContainEqual({
      text: '*Fleetgate* svc: gate "production" is waiting for approval at all/1\n<https://github.com/o/r/actions/runs/7|run> · <https://github.com/o/r/pull/3|pull request>',
    });
    expect(receiver.bodies).toContainEqual(
      expect.objectContaining({ event: 'paused', reason: 'CircuitBreakerTripped', wave: 'all/1', links }),
    );
    expect(receiver.bodies).toContainEqual(
      expect.objectContaining({ event: 'completed', version: '1.1.0', summary: 'svc: completed at 1.1.0' }),
    );
    expect(redactSecrets(`posted to ${receiver.url}`)).toBe('posted to ***');
  });

  it('retries after a 500 with back-off and delivers', async () => {
    receiver = await startReceiver([500, 503]);
    const warnings: RolloutEvent[] = [];
    const n = createNotifier({
      webhooks: [{ kind: 'json', urlFrom: 'HOOK', events: ['completed'] }],
      env: { HOOK: receiver.url },
      mask: registerSecret,
      warn: (e) => warnings.push(e),
      backoffMs: 10,
    });
    n.sink(ev('rollout_completed', { version: '1.1.0' }));
    await n.flush();
    expect(receiver.statuses).toEqual([500, 503, 200]);
    expect(receiver.bodies).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it('turns a dead receiver into a warning after its attempts, without throwing or showing the URL', async () => {
    receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    receiver = undefined;
    const warnings: RolloutEvent[] = [];
    const n = createNotifier({
      webhooks: [{ kind: 'slack', urlFrom: 'HOOK', events: ['rolledBack'] }],
      env: { HOOK: url },
      mask: registerSecret,
      warn: (e) => warnings.push(e),
      attempts: 3,
      backoffMs: 5,
    });
    expect(() => n.sink(ev('rollout_rolled_back', { version: '1.0.0' }))).not.toThrow();
    await n.flush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ event: 'notify_warning', urlFrom: 'HOOK', notification: 'rolledBack' });
    expect(String(warnings[0]!.message)).toMatch(/after 3 attempt\(s\)/);
    expect(String(warnings[0]!.message)).not.toContain('SECRET-TOKEN-123');
  });

  it('warns once when the variable is not set', async () => {
    const warnings: RolloutEvent[] = [];
    const n = createNotifier({
      webhooks: [{ kind: 'json', urlFrom: 'NOPE', events: ['completed', 'paused'] }],
      env: {},
      mask: registerSecret,
      warn: (e) => warnings.push(e),
    });
    n.sink(ev('rollout_paused', { reason: 'X' }));
    n.sink(ev('rollout_completed', {}));
    await n.flush();
    expect(warnings.map((w) => w.message)).toEqual(['notify: NOPE is not set; the json webhook is skipped']);
  });

  it('links the run, the pull request of a pull_request event and the state file’s commits on GitHub', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-notify-'));
    const eventPath = join(dir, 'event.json');
    writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 42 } }));
    expect(
      githubLinks(
        {
          GITHUB_SERVER_URL: 'https://github.com',
          GITHUB_REPOSITORY: 'o/r',
          GITHUB_RUN_ID: '99',
          GITHUB_REF_NAME: 'main',
          GITHUB_WORKSPACE: dir,
          GITHUB_EVENT_PATH: eventPath,
        },
        join(dir, 'rollouts/svc.state.yaml'),
      ),
    ).toEqual({
      run: 'https://github.com/o/r/actions/runs/99',
      pullRequest: 'https://github.com/o/r/pull/42',
      stateCommits: 'https://github.com/o/r/commits/main/rollouts/svc.state.yaml',
    });
    expect(githubLinks({}, 'x')).toEqual({});
    expect(notificationFor(ev('wave_started'))).toBeUndefined();
  });
});
