/**
 * Drains that complete: `steps.drain.until` is polled before the upgrade starts,
 * `steps.undrain.until` before the target's slot in its tier's budget is released, and
 * `grace` is waited after the step. On the in-memory kit (virtual clock), with the until
 * checks answered by a script standing in for the load balancer's view.
 */
import { describe, expect, it } from 'vitest';
import type { StepResult, StepRunner } from '../../src/engine/steps.js';
import type { TemplateVars } from '../../src/engine/template.js';
import type { SettlingStepSpec, StepSpec, StepsSpec } from '../../src/spec/types.js';
import { engineSpec, fleet, httpStep, scenario, size, tier } from './kit/engine.js';

type Log = { what: string; target: string; at: number }[];

/** Until checks at /drained and /back; `answer` says whether one passes now. */
function settlingSteps(untilTimeoutMs: number, graceMs?: number): Partial<StepsSpec> {
  const until = (name: string): StepSpec =>
    httpStep(name, { method: 'GET', timeoutMs: untilTimeoutMs, intervalMs: 100 });
  const drain: SettlingStepSpec = { ...httpStep('drain'), until: until('drained'), ...(graceMs ? { graceMs } : {}) };
  const undrain: SettlingStepSpec = { ...httpStep('undrain'), until: until('back') };
  return { drain, undrain };
}

function setUp(
  answer: (kind: 'drained' | 'back', target: string, polls: number) => boolean,
  untilTimeoutMs = 2000,
  graceMs?: number,
) {
  const base = engineSpec([
    tier('edge', {}, { canary: size(1), waves: size(2), maxUnavailable: size(1), observeMs: 0 }),
  ]);
  const spec = { ...base, steps: { ...base.steps, ...settlingSteps(untilTimeoutMs, graceMs) } };
  const s = scenario({ spec, targets: fleet('edge', 4) });
  const log: Log = [];
  const polls = new Map<string, number>();
  const deps = s.deps.bind(s);
  s.deps = () => {
    const d = deps();
    const inner = d.runner;
    const runner: StepRunner = {
      async run(step: StepSpec, vars: TemplateVars, opts): Promise<StepResult> {
        const url = step.kind === 'http' ? step.url : '';
        const kind = url.endsWith('/drained') ? 'drained' : url.endsWith('/back') ? 'back' : undefined;
        const at = s.clock.now().getTime();
        if (kind === undefined) {
          const r = await inner.run(step, vars, opts);
          log.push({ what: url.split('/').pop()!, target: vars.target.id, at });
          return r;
        }
        const key = `${kind} ${vars.target.id}`;
        const n = (polls.get(key) ?? 0) + 1;
        polls.set(key, n);
        const ok = answer(kind, vars.target.id, n);
        await s.clock.sleep(5);
        if (ok) log.push({ what: `${kind}:passed`, target: vars.target.id, at });
        return {
          ok,
          attempts: 1,
          status: ok ? 200 : 503,
          message: ok ? 'out' : `HTTP 503 (${kind} not yet)`,
          durationMs: 5,
        };
      },
    };
    return { ...d, runner };
  };
  return { s, log, polls };
}

const index = (log: Log, what: string, target: string) => log.findIndex((e) => e.what === what && e.target === target);

describe('drain until and undrain until', () => {
  it('starts the upgrade only after the drain until passed, and releases the slot only after the undrain until passed', async () => {
    // The load balancer takes 3 polls to see each target out, and 2 to see it back.
    const { s, log, polls } = setUp((kind, _t, n) => n >= (kind === 'drained' ? 3 : 2));
    const r = await s.engine().run();
    expect(r.outcome).toBe('Healthy');
    for (const id of ['edge-1', 'edge-2', 'edge-3', 'edge-4']) {
      expect(polls.get(`drained ${id}`)).toBe(3);
      expect(index(log, 'drained:passed', id)).toBeGreaterThan(index(log, 'drain', id));
      expect(index(log, 'upgrade', id)).toBeGreaterThan(index(log, 'drained:passed', id));
      expect(index(log, 'back:passed', id)).toBeGreaterThan(index(log, 'undrain', id));
    }
    // maxUnavailable 1 as the load balancer sees it: a drain starts only once every target
    // drained before it is back.
    let out = 0;
    for (const e of log) {
      if (e.what === 'drain') out++;
      if (e.what === 'back:passed') out--;
      expect(out).toBeLessThanOrEqual(1);
    }
  });

  it('a drain whose until never passes fails the target within its timeout, not upgraded, counted out of service', async () => {
    const { s, log } = setUp((kind, t) => !(kind === 'drained' && t === 'edge-1'), 1500);
    const started = s.clock.now().getTime();
    const r = await s.engine().run();
    expect(r.outcome).not.toBe('Healthy');
    const t1 = s.state().targets['edge-1']!;
    expect(t1.phase).toBe('Failed');
    expect(t1.message).toMatch(/drain did not complete \(until not passed within 1500 ms/);
    expect(index(log, 'upgrade', 'edge-1')).toBe(-1);
    // Within its timeout (plus one probe), on the virtual clock.
    const failedAt = log.filter((e) => e.target === 'edge-1').at(-1)!.at;
    expect(failedAt - started).toBeLessThan(1500 + 200);
    // Left out of service: no other target is taken down in its place (maxUnavailable 1).
    expect(index(log, 'drain', 'edge-2')).toBe(-1);
  });

  it('grace is waited after the drain step before until is polled', async () => {
    const { s, log } = setUp(() => true, 2000, 700);
    await s.engine().run();
    const drainAt = log[index(log, 'drain', 'edge-1')]!.at;
    const passedAt = log[index(log, 'drained:passed', 'edge-1')]!.at;
    expect(passedAt - drainAt).toBeGreaterThanOrEqual(700);
  });
});
