/**
 * The state's types come from its schema (issue 14, part 1): the schema accepts what the
 * engine writes (every write of the in-memory kit is checked, test/engine/kit/schema-check.ts;
 * here a few rollouts' writes also go through the real file format and back), a misspelt
 * phase is refused as a read error, and the inferred types are exact — the phase unions, no
 * index signature, a misspelt field a compile error.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { StateReadError, StateWriteError } from '../../src/errors.js';
import type { TargetSchema } from '../../src/spec/schema.js';
import type { Target } from '../../src/spec/types.js';
import { parseState } from '../../src/state/parse.js';
import { serializeState } from '../../src/state/format.js';
import { StateSchema } from '../../src/state/schema.js';
import { readState, writeState } from '../../src/state/store.js';
import {
  type Approval,
  type Condition,
  createEmptyState,
  type HookRecord,
  type RolloutPhase,
  type RolloutState,
  type TargetPhase,
  type TargetState,
  type WaveHistory,
  type WaveState,
} from '../../src/state/types.js';
import { engineSpec, fleet, httpStep, scenario, size, tier } from '../engine/kit/engine.js';

/** Every state a scenario's store took, in order. */
function recordWrites(s: ReturnType<typeof scenario>): RolloutState[] {
  const written: RolloutState[] = [];
  s.store.onWrite = (state) => written.push(state);
  return written;
}

describe('the state schema accepts what the engine writes', () => {
  it('a rollout, a failed one that pauses and a rollback decision: every write reads back', async () => {
    const s = scenario({
      spec: engineSpec(
        [tier('edge', {}, { canary: size(1), waves: size(2), observeMs: 60_000, observeIntervalMs: 30_000 })],
        { hooks: { before: httpStep('hook-before') }, gates: { canary: 'edge-canary' } },
      ),
      targets: fleet('edge', 5),
    });
    const written = recordWrites(s);
    expect((await s.engine().run()).outcome).toBe('Healthy');
    s.spec = { ...s.spec, version: '1.2.0-broken' };
    expect((await s.engine().run()).outcome).toBe('Paused');
    expect((await s.engine().resume('rollback', 'broken canary')).outcome).toBe('RolledBack');

    const last = written.at(-1)!;
    // What these writes hold: hooks, approvals, conditions, decisions, waves, history with its waves.
    expect(last.history.length).toBeGreaterThanOrEqual(2);
    expect(last.history.some((h) => (h.waves?.length ?? 0) > 0)).toBe(true);
    expect(written.some((w) => w.approvals.length > 0 && w.hooks?.before?.phase === 'Succeeded')).toBe(true);
    expect(written.some((w) => w.decisions.some((d) => d.decision === 'rollback'))).toBe(true);
    expect(written.length).toBeGreaterThan(10);
    for (const state of written) {
      expect(StateSchema.safeParse(structuredClone(state)).success).toBe(true);
      // Through the file format and its reader (the schema check included), the same state.
      expect(parseState(serializeState(state), 'edge.state.yaml')).toEqual(JSON.parse(JSON.stringify(state)));
    }
  });
});

describe('the state schema refuses a damaged file, as a read error', () => {
  const good = (): RolloutState => ({
    ...createEmptyState('edge'),
    revision: 3,
    phase: 'Progressing',
    targets: { 'edge-1': { phase: 'Succeeded', version: '1.1.0' }, 'edge-2': { phase: 'Pending' } },
  });

  it('a misspelt phase, naming the field, its line and the phases it may be', () => {
    const text = serializeState(good()).replace('edge-2: { phase: Pending', 'edge-2: { phase: Pendng');
    let error: unknown;
    try {
      parseState(text, 'edge.state.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateReadError);
    expect(error).not.toBeInstanceOf(StateWriteError);
    const line = text.split('\n').findIndex((l) => l.includes('Pendng')) + 1;
    expect((error as Error).message).toMatch(
      new RegExp(
        `^edge\\.state\\.yaml:${line}:\\d+: targets\\.edge-2\\.phase: must be one of Pending, Progressing, Succeeded, Failed, RolledBack, RollbackFailed`,
      ),
    );
    // The rollout's and a wave's phases are checked the same way.
    expect(StateSchema.safeParse({ ...good(), phase: 'Paussed' }).success).toBe(false);
    expect(
      StateSchema.safeParse({ ...good(), waves: [{ id: 'edge/canary', phase: 'Complete', targets: [] }] }).success,
    ).toBe(false);
  });

  it('invalid YAML, another apiVersion and a bad field: StateReadError from parseState, readState and a write onto it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-state-damaged-'));
    const damaged = {
      yaml: 'apiVersion: fleetgate/v1alpha1\nkind: RolloutState\nname: edge\nrevision: 2\ntargets: { a: [1,\n',
      apiVersion: serializeState(good()).replace('apiVersion: fleetgate/v1alpha1', 'apiVersion: fleetgate/v9'),
      field: serializeState(good()).replace('revision: 3', 'revision: three'),
    };
    for (const [what, text] of Object.entries(damaged)) {
      const path = join(dir, `${what}.state.yaml`);
      await writeFile(path, text);
      expect(() => parseState(text, path), what).toThrow(StateReadError);
      await expect(readState(path), what).rejects.toBeInstanceOf(StateReadError);
      // A write onto a damaged file (here: no revision it can compare) is the file's fault, not the disk's.
      if (what === 'field')
        await expect(writeState(path, good(), 3, new Date()), what).rejects.toBeInstanceOf(StateReadError);
    }
  });
});

describe('the state types are the schema output, exact', () => {
  it('phases are the unions the schema checks', () => {
    expectTypeOf<RolloutState['targets'][string]['phase']>().toEqualTypeOf<
      'Pending' | 'Progressing' | 'Succeeded' | 'Failed' | 'RolledBack' | 'RollbackFailed'
    >();
    expectTypeOf<TargetPhase>().toEqualTypeOf<RolloutState['targets'][string]['phase']>();
    expectTypeOf<RolloutState['phase']>().toEqualTypeOf<RolloutPhase>();
    expectTypeOf<RolloutPhase>().toEqualTypeOf<
      'Pending' | 'Progressing' | 'Paused' | 'Healthy' | 'Degraded' | 'RollingBack' | 'RolledBack'
    >();
    expectTypeOf<WaveState['phase']>().toEqualTypeOf<WaveHistory['phase']>();
    expectTypeOf<HookRecord['phase']>().toEqualTypeOf<'Running' | 'Succeeded' | 'Failed'>();
    expectTypeOf<NonNullable<WaveState['analysis']>['verdict']>().toEqualTypeOf<'pass' | 'fail' | 'inconclusive'>();
    expectTypeOf<RolloutState>().toEqualTypeOf<z.output<typeof StateSchema>>();
  });

  it('what every writer writes is required; what older files lack is optional', () => {
    expectTypeOf<Approval['at']>().toEqualTypeOf<string>();
    expectTypeOf<Condition['at']>().toEqualTypeOf<string>();
    expectTypeOf<Condition['opensAt']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<RolloutState['waves']>().toEqualTypeOf<WaveState[]>();
    expectTypeOf<RolloutState['breaker']['trips'][number]['failedTargets']>().toEqualTypeOf<string[]>();
  });

  it('has no index signature: an unknown or misspelt field is not assignable', () => {
    expectTypeOf<string extends keyof RolloutState ? true : false>().toEqualTypeOf<false>();
    expectTypeOf<string extends keyof TargetState ? true : false>().toEqualTypeOf<false>();
    expectTypeOf<string extends keyof WaveState ? true : false>().toEqualTypeOf<false>();
    // @ts-expect-error -- `verison` is no field of a target's state
    const typo: TargetState = { phase: 'Pending', verison: '1.0.0' };
    expect(typo.phase).toBe('Pending');
  });

  it("an inventory target is the spec's TargetSchema output with its labels read as text", () => {
    // `Target` is not the schema's output itself: the schema lets labels be absent and be
    // numbers or booleans, the inventory reads them as strings (src/inventory/validate.ts).
    type Read = Omit<z.output<typeof TargetSchema>, 'labels'> & { labels: Record<string, string> };
    expectTypeOf<Target>().toEqualTypeOf<{ [K in keyof Read]: Read[K] }>();
  });
});
