/**
 * The engine's alert gate and silences on the in-memory kit, with a faithful fake of the
 * Alertmanager client (it answers only the calls it is given, and fails on any other): the
 * order of silences around each target's steps, what a failed silence or expiry does, and the
 * gate's place before a wave and at the end of its window.
 */
import { describe, expect, it } from 'vitest';
import type { ApiAlert } from '../../src/analysis/alerts/assess.js';
import type { AlertmanagerClient, ApiSilence, NewSilence, Outcome } from '../../src/analysis/alerts/client.js';
import { RolloutEngine } from '../../src/engine/rollout.js';
import type { AlertsSpec, RolloutSpec } from '../../src/spec/types.js';
import { engineSpec, fleet, scenario, size, tier } from './kit/engine.js';

/** A fake Alertmanager client: alerts and silences in memory, `down` makes every call fail. */
class FakeAlertmanager implements AlertmanagerClient {
  readonly where = 'http://alertmanager.test:9093';
  alerts: ApiAlert[] = [];
  readonly silences = new Map<string, NewSilence & { state: string }>();
  readonly calls: string[] = [];
  down = false;
  failCreate = false;
  failExpire = false;
  private next = 1;

  private fail<T>(call: string): Outcome<T> | undefined {
    this.calls.push(call);
    return this.down ? { ok: false, message: 'connection refused (ECONNREFUSED)' } : undefined;
  }

  listAlerts(filter: readonly string[]): Promise<Outcome<ApiAlert[]>> {
    return Promise.resolve(this.fail(`list ${filter.join(',')}`) ?? { ok: true, value: this.alerts });
  }

  createSilence(s: NewSilence): Promise<Outcome<string>> {
    const down = this.fail<string>(`create ${s.matchers.map((m) => `${m.name}=${m.value}`).join(',')}`);
    if (down) return Promise.resolve(down);
    if (this.failCreate) return Promise.resolve({ ok: false, message: 'HTTP 500: boom' });
    const id = `s${this.next++}`;
    this.silences.set(id, { ...s, state: 'active' });
    return Promise.resolve({ ok: true, value: id });
  }

  getSilence(): Promise<Outcome<ApiSilence | undefined>> {
    throw new Error('unexpected call: getSilence');
  }

  listSilences(): Promise<Outcome<ApiSilence[]>> {
    const down = this.fail<ApiSilence[]>('listSilences');
    if (down) return Promise.resolve(down);
    return Promise.resolve({
      ok: true,
      value: [...this.silences].map(([id, s]) => ({
        id,
        state: s.state,
        createdBy: s.createdBy,
        comment: s.comment,
        startsAt: s.startsAt,
        endsAt: s.endsAt,
        matchers: s.matchers,
      })),
    });
  }

  expireSilence(id: string): Promise<Outcome<'expired' | 'already expired' | 'unknown'>> {
    const down = this.fail<'expired'>(`expire ${id}`);
    if (down) return Promise.resolve(down);
    if (this.failExpire) return Promise.resolve({ ok: false, message: 'HTTP 500: boom' });
    const s = this.silences.get(id);
    if (!s) return Promise.resolve({ ok: true, value: 'unknown' });
    s.state = 'expired';
    return Promise.resolve({ ok: true, value: 'expired' });
  }
}

function alertsSpec(over: Partial<AlertsSpec> = {}): AlertsSpec {
  return {
    alertmanager: { url: 'http://alertmanager.test:9093', headers: {}, timeoutMs: 1000, retries: 0, backoffMs: 10 },
    select: 'severity="critical"',
    action: 'pause',
    silence: { durationMs: 30 * 60_000, matchers: 'instance="{{target.address}}"' },
    ...over,
  };
}

function given(
  n: number,
  alerts: AlertsSpec,
  strategy = {},
): { s: ReturnType<typeof scenario>; am: FakeAlertmanager; engine: () => RolloutEngine } {
  const spec: RolloutSpec = engineSpec(
    [tier('edge', {}, { canary: size(1), waves: size(2), observeMs: 0, maxUnavailable: size(1), ...strategy })],
    { alerts },
  );
  const s = scenario({ spec, targets: fleet('edge', n) });
  const am = new FakeAlertmanager();
  return { s, am, engine: () => new RolloutEngine({ ...s.deps(), alerts: { client: am } }) };
}

/** The events about one target's move and its silence, in order. */
function trail(events: { event: string; target?: string; step?: unknown }[], target: string): string[] {
  return events
    .filter((e) => e.target === target && ['silence_created', 'silence_expired', 'target_step'].includes(e.event))
    .map((e) => (e.event === 'target_step' ? String(e.step) : e.event));
}

describe('silences around each target (engine)', () => {
  it('silences a target right before its drain and expires it after its undrain, one target at a time', async () => {
    const { s, am, engine } = given(3, alertsSpec());
    const r = await engine().run();
    expect(r.outcome).toBe('Healthy');
    for (const id of ['edge-1', 'edge-2', 'edge-3'])
      expect(trail(s.events, id)).toEqual(['silence_created', 'drain', 'upgrade', 'undrain', 'silence_expired']);
    // maxUnavailable 1: the next target's silence comes after the previous one expired.
    const order = s.events.filter((e) => e.event.startsWith('silence_')).map((e) => e.event);
    expect(order).toEqual([
      'silence_created',
      'silence_expired',
      'silence_created',
      'silence_expired',
      'silence_created',
      'silence_expired',
    ]);
    expect([...am.silences.values()].map((x) => x.state)).toEqual(['expired', 'expired', 'expired']);
    expect(am.calls.filter((c) => c.startsWith('create'))[0]).toBe(
      'create severity=critical,instance=edge-1.test:8080',
    );
    expect(s.state().silences).toBeUndefined();
  });

  it('goes on without a silence when Alertmanager refuses one, saying so', async () => {
    const { s, am, engine } = given(2, alertsSpec());
    am.failCreate = true;
    const r = await engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(s.events.filter((e) => e.event === 'alerts_warning').map((e) => e.message)).toEqual([
      expect.stringMatching(/the silence of edge-1's alerts was not created/) as string,
      expect.stringMatching(/the silence of edge-2's alerts was not created/) as string,
    ]);
  });

  it('keeps a silence it could not expire in the state, and the next run expires it', async () => {
    const { s, am, engine } = given(2, alertsSpec());
    am.failExpire = true;
    await engine().run();
    expect(s.state().silences?.map((x) => x.target)).toEqual(['edge-1', 'edge-2']);
    am.failExpire = false;
    const again = await engine().run();
    expect(again.reason).toBe('AlreadyAtVersion');
    expect(s.state().silences).toBeUndefined();
    expect([...am.silences.values()].every((x) => x.state === 'expired')).toBe(true);
  });

  it('also expires an active silence with the rollout mark that the state never recorded (a crash right after creating it)', async () => {
    const { s, am, engine } = given(1, alertsSpec());
    am.silences.set('orphan', {
      state: 'active',
      matchers: [],
      startsAt: '',
      endsAt: '',
      createdBy: 'fleetgate',
      comment: `fleetgate: planned work, rollout ${s.spec.name} — [fleetgate rollout=${s.spec.name}]`,
    });
    am.silences.set('someone-else', {
      state: 'active',
      matchers: [],
      startsAt: '',
      endsAt: '',
      createdBy: 'alice',
      comment: `[fleetgate rollout=${s.spec.name}]`,
    });
    await engine().run();
    expect(am.silences.get('orphan')?.state).toBe('expired');
    expect(am.silences.get('someone-else')?.state).toBe('active');
  });
});

describe('the alert gate (engine)', () => {
  const firing: ApiAlert = {
    labels: { alertname: 'EdgeDown', severity: 'critical' },
    startsAt: '2026-01-01T11:00:00.000Z',
    fingerprint: 'f1',
    state: 'active',
  };

  it('asks before each wave and at the end of each window, with the static matchers as filters', async () => {
    const { s, am, engine } = given(3, alertsSpec({ silence: undefined }));
    const r = await engine().run();
    expect(r.outcome).toBe('Healthy');
    expect(am.calls).toEqual(Array(4).fill('list severity="critical"'));
    expect(s.state().waves.map((w) => [w.alerts?.before?.verdict, w.alerts?.after?.verdict])).toEqual([
      ['pass', 'pass'],
      ['pass', 'pass'],
    ]);
  });

  it('pauses a later wave on an alert that starts firing after the canary, leaving that wave untouched', async () => {
    const { s, am, engine } = given(3, alertsSpec({ silence: undefined }));
    s.events.length = 0;
    const e = engine();
    // The alert fires once the canary is done (its after-check is the 2nd request).
    const list = am.listAlerts.bind(am);
    am.listAlerts = (f) => {
      if (am.calls.length >= 2) am.alerts = [firing];
      return list(f);
    };
    const r = await e.run();
    expect(r.outcome).toBe('Paused');
    expect(r.reason).toBe('AlertFiring');
    const waves = s.state().waves;
    expect(waves[0]!.phase).toBe('Completed');
    expect(waves[1]!.phase).toBe('Pending');
    expect(waves[1]!.alerts?.before?.alerts[0]).toMatchObject({ name: 'EdgeDown', fingerprint: 'f1' });
    expect(waves[1]!.targets.every((id) => s.state().targets[id]?.phase === 'Pending')).toBe(true);
  });

  it('rolls back the touched targets with action fail, and pauses when nothing was touched yet', async () => {
    const first = given(2, alertsSpec({ silence: undefined, action: 'fail' }));
    first.am.alerts = [firing];
    const untouched = await first.engine().run();
    expect([untouched.outcome, untouched.reason]).toEqual(['Paused', 'AlertFiring']);
    expect(untouched.message).toMatch(/nothing to roll back/);

    const later = given(3, alertsSpec({ silence: undefined, action: 'fail' }));
    const list = later.am.listAlerts.bind(later.am);
    later.am.listAlerts = (f) => {
      if (later.am.calls.length >= 1) later.am.alerts = [firing];
      return list(f);
    };
    const r = await later.engine().run();
    expect(r.outcome).toBe('RolledBack');
    expect(later.s.state().decisions.at(-1)).toMatchObject({
      decision: 'rollback',
      by: 'fleetgate',
      wave: 'edge/canary',
    });
  });

  it('pauses AlertmanagerUnreachable when it does not answer, and a continue asks again', async () => {
    const { am, engine } = given(2, alertsSpec({ silence: undefined }));
    am.down = true;
    const r = await engine().run();
    expect([r.outcome, r.reason]).toEqual(['Paused', 'AlertmanagerUnreachable']);
    am.down = false;
    const resumed = await engine().resume('continue');
    expect(resumed.outcome).toBe('Healthy');
  });
});

describe('the alert gate with a per-target selector (engine)', () => {
  it('pauses, without asking, when the selector reads a label a target does not have', async () => {
    const { s, am, engine } = given(2, alertsSpec({ silence: undefined, select: 'zone="{{target.labels.zone}}"' }));
    const r = await engine().run();
    expect([r.outcome, r.reason]).toEqual(['Paused', 'AlertGateNotAsked']);
    expect(r.message).toMatch(
      /could not ask Alertmanager before edge\/canary starts: alerts\.select cannot be rendered for edge-1/,
    );
    expect(am.calls).toEqual([]);
    expect(s.state().waves[0]!.alerts?.before?.verdict).toBe('inconclusive');
  });
});

describe('preflight (engine)', () => {
  it('says what the gate would find now over every planned target, and records nothing', async () => {
    const { s, am, engine } = given(3, alertsSpec({ select: 'severity="critical", instance="{{target.address}}"' }));
    am.alerts = [
      {
        labels: { alertname: 'EdgeDown', severity: 'critical', instance: 'edge-3.test:8080' },
        startsAt: '2026-01-01T11:00:00.000Z',
      },
    ];
    const report = await engine().preflightReport();
    expect(report.alerts).toMatchObject({ verdict: 'fail', firing: 1, targets: 3 });
    expect(report.alerts?.alerts[0]?.targets).toEqual(['edge-3']);
    expect(report.ok).toBe(true);
    expect(am.calls).toEqual(['list severity="critical"']);
    expect(() => s.store.current()).toThrow(/nothing stored yet/);
  });
});
