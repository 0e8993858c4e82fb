/**
 * A rollout held by its schedule must not become a dispatch loop (issue 13, part 3, on GitHub).
 * The wave job in a freeze ends `Progressing` without touching a target and says so in its
 * outputs (`schedule-closed`, `opens-at`, read from the state's condition); the analyze action
 * of a later matrix job says the same, so that job skips its wave; finalize does not dispatch
 * a run that would only be held again, and leaves the opening to the caller's schedule, whose
 * ticks skip the spec until then. The workflow's conditions are evaluated as the runner does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { condition } from './expressions.js';
import { GitHubScenario, SPEC } from './scenario.js';
import { ROOT } from '../workflows/workflow-files.js';

const DAY = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
const UNTIL = day(2);
const FREEZE = `schedule:
  timeZone: UTC
  freezes:
    - { from: ${day(-1)}, until: ${UNTIL}, reason: test freeze }
`;

let s: GitHubScenario;
beforeAll(async () => {
  s = await GitHubScenario.create({
    count: 3,
    version: '1.0.0',
    spec: { version: '1.1.0', canary: 1, waves: 1, maxUnavailable: 1, observe: '0s', extra: FREEZE },
  });
}, 60_000);
afterAll(async () => {
  s.github.assertClean();
  await s?.close();
});

describe('a rollout held by a freeze', () => {
  it('the wave job touches nothing and says until when it is held', async () => {
    const wave = await s.job('wave', { spec: SPEC });
    expect(wave.outputs.outcome, wave.stderr).toBe('Progressing');
    expect(wave.outputs.reason).toBe('DeployFreeze');
    expect(wave.outputs['schedule-closed']).toBe('true');
    expect(Date.parse(wave.outputs['opens-at']!)).toBeGreaterThan(Date.now() + DAY);
    expect(wave.outputs['opens-at']).toBe((await s.state())?.condition?.opensAt);
    expect(await s.versions()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
  });

  it("a later job's analyze step says the same, so its wave is skipped", async () => {
    const analyze = await s.job('analyze', { spec: SPEC });
    expect(analyze.outputs['schedule-closed']).toBe('true');
    expect(analyze.outputs['opens-at']).toBe((await s.state())?.condition?.opensAt);
  });

  it('a schedule tick skips the spec until the opening', async () => {
    const tick = await s.job('specs', { 'skip-idle': 'true' }, { eventName: 'schedule' });
    expect(JSON.parse(tick.outputs.specs!)).toEqual([]);
    expect(tick.summary).toMatch(/held by the schedule \(DeployFreeze\) until \d{4}-/);
  });
});

type Step = { name?: string; if?: string; uses?: string };
type Job = { steps: Step[] };
const doc = parse(readFileSync(join(ROOT, '.github/workflows/rollout.yml'), 'utf8')) as { jobs: Record<string, Job> };

function ctx(outputs: Record<string, string>) {
  return {
    status: 'success' as const,
    contexts: {
      steps: { last: { outputs }, analyze: { outputs } },
      needs: { preflight: { outputs: { 'observe-covers': 'true' } } },
      inputs: { 'observe-environment': 'obs', spec: SPEC },
    },
  };
}

describe('the rollout workflow while the schedule holds', () => {
  const finalize = doc.jobs.finalize!.steps;
  const dispatch = finalize.find((x) => x.uses?.includes('/actions/dispatch@'))!;
  const closed = finalize.find((x) => x.name === 'Leave the closed deploy window to the schedule')!;
  const open = finalize.find((x) => x.name === 'Leave the open window to the schedule')!;
  const wave = doc.jobs.waves!.steps.find((x) => x.name === 'Run the next wave')!;
  const shardOpen = doc.jobs['shard-open']!.steps.find((x) => x.name === 'Open the wave for its legs')!;
  const held = { outcome: 'Progressing', 'schedule-closed': 'true', 'window-open': 'false', 'opens-at': UNTIL };
  const free = { ...held, 'schedule-closed': 'false', 'opens-at': '' };

  it('finalize leaves the opening to the schedule instead of dispatching', () => {
    expect(condition(dispatch.if, ctx(held))).toBe(false);
    expect(condition(closed.if, ctx(held))).toBe(true);
    expect(condition(open.if, ctx({ ...held, 'window-open': 'true' }))).toBe(false);
  });

  it('later matrix jobs skip their wave; without a hold they run it and finalize dispatches', () => {
    expect(condition(wave.if, ctx(held))).toBe(false);
    expect(condition(shardOpen.if, ctx(held))).toBe(false);
    expect(condition(wave.if, ctx(free))).toBe(true);
    expect(condition(shardOpen.if, ctx(free))).toBe(true);
    expect(condition(dispatch.if, ctx(free))).toBe(true);
    expect(condition(closed.if, ctx(free))).toBe(false);
  });
});
