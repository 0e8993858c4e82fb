import { mkdtemp, readFile, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateConflictError, StateReadError, StateWriteError } from '../../src/errors.js';
import { readState, statePathFor, writeState } from '../../src/state/store.js';
import { serializeState } from '../../src/state/format.js';
import { parseState } from '../../src/state/parse.js';
import { createEmptyState, HISTORY_LIMIT, WAVE_HISTORY_ENTRIES, WAVE_HISTORY_LIMIT } from '../../src/state/types.js';

const now = new Date('2026-11-23T12:00:00Z');

describe('state store', () => {
  it('derives the state path from the spec path', () => {
    expect(statePathFor('rollouts/edge.yaml')).toBe('rollouts/edge.state.yaml');
    expect(statePathFor('/a/b/x.yml')).toBe('/a/b/x.state.yaml');
  });

  it('round-trips state with a header and one line per target', () => {
    const s = createEmptyState('edge');
    s.targets = {
      'edge-1': { phase: 'Succeeded', from: '1.0.0', version: '1.1.0' },
      'edge-2': { phase: 'Pending', from: '1.0.0' },
    };
    s.waves = [{ id: 'edge/canary', phase: 'Completed', targets: ['edge-1', 'edge-2'] }];
    const text = serializeState(s);
    expect(text.startsWith('# Written by Fleetgate. Do not edit')).toBe(true);
    expect(text).toContain('edge-1: { phase: Succeeded, from: 1.0.0, version: 1.1.0 }');
    expect(text).toContain('targets: [ edge-1, edge-2 ]');
    expect(parseState(text, 'x')).toEqual(s);
  });

  it('round-trips the hooks of tiers that have their own (state.hooks.tiers)', () => {
    const state = {
      ...createEmptyState('x'),
      hooks: {
        before: { phase: 'Succeeded' as const, startedAt: '2026-12-02T10:00:00Z' },
        tiers: { db: { before: { phase: 'Running' as const, startedAt: '2026-12-02T10:01:00Z' } } },
      },
    };
    expect(parseState(serializeState(state), 'x.state.yaml').hooks).toEqual(state.hooks);
  });

  it('keeps each past wave on one line and the step timings of each wave on one flow map (issue 13)', () => {
    const s = createEmptyState('edge');
    const steps = { upgrade: { count: 2, medianMs: 210, maxMs: 250 } };
    s.waves = [{ id: 'edge/1', phase: 'Completed', targets: ['e-1', 'e-2'], steps, paused: ['CircuitBreakerTripped'] }];
    s.history = [
      {
        to: '1.1.0',
        phase: 'Healthy',
        waves: [
          { id: 'edge/canary', size: 1, phase: 'Completed', durationMs: 1200, steps: structuredClone(steps) },
          {
            id: 'edge/1',
            size: 2,
            phase: 'Completed',
            durationMs: 2300,
            failed: 1,
            paused: ['CircuitBreakerTripped'],
            decision: 'continue',
          },
        ],
      },
    ];
    const text = serializeState(s);
    expect(text).toContain('    steps: { upgrade: { count: 2, medianMs: 210, maxMs: 250 } }\n');
    expect(text).toContain(
      '      - { id: edge/canary, size: 1, phase: Completed, durationMs: 1200, steps: { upgrade: { count: 2, medianMs: 210, maxMs: 250 } } }\n',
    );
    expect(text).toContain(
      '      - { id: edge/1, size: 2, phase: Completed, durationMs: 2300, failed: 1, paused: [ CircuitBreakerTripped ], decision: continue }\n',
    );
    expect(parseState(text, 'x')).toEqual(s);
  });

  it('reads a state written before the learning fields existed (no waves in history, no steps)', () => {
    const old = `apiVersion: fleetgate/v1alpha1
kind: RolloutState
name: edge
revision: 4
phase: Healthy
waves:
  - id: edge/1
    phase: Completed
    targets: [ e-1 ]
    startedAt: 2026-11-01T10:00:00.000Z
    finishedAt: 2026-11-01T10:05:00.000Z
targets:
  e-1: { phase: Succeeded, from: 1.0.0, version: 1.1.0 }
breaker:
  consecutiveFailures: 0
  trips: []
decisions: []
approvals: []
history:
  - from: 1.0.0
    to: 1.1.0
    phase: Healthy
    startedAt: 2026-11-01T10:00:00.000Z
    finishedAt: 2026-11-01T10:05:00.000Z
`;
    const state = parseState(old, 'old.state.yaml');
    expect(state.history[0]!.waves).toBeUndefined();
    expect(state.waves[0]!.steps).toBeUndefined();
  });

  it('refuses a damaged past wave with its field, line and column', () => {
    const s = createEmptyState('edge');
    s.history = [{ to: '1.1.0', phase: 'Healthy', waves: [{ id: 'edge/1', size: 2, phase: 'Completed' }] }];
    const text = serializeState(s).replace('size: 2', 'size: two');
    expect(() => parseState(text, 'edge.state.yaml')).toThrow(
      /^edge\.state\.yaml:\d+:\d+: history\[0\]\.waves\[0\]\.size: must be a whole number \(expected a whole number ≥ 0, got "two"\)/,
    );
  });

  it('compares and swaps the revision on every write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fg-state-'));
    const path = join(dir, 'edge.state.yaml');
    const s = createEmptyState('edge');
    const first = await writeState(path, s, 0, now);
    expect(first.revision).toBe(1);
    expect((await readState(path))!.revision).toBe(1);
    await expect(writeState(path, s, 0, now)).rejects.toBeInstanceOf(StateConflictError);
    const second = await writeState(path, first, 1, now);
    expect(second.revision).toBe(2);
  });

  it('rejects a state file that is not state, with the file name and no stack', () => {
    expect(() => parseState('apiVersion: v9\nkind: Other\nname: x\nrevision: 1\n', 'f.yaml')).toThrow(
      /f.yaml: unknown state format/,
    );
    // A damaged file is a read error (nothing was written), never a write error.
    expect(() => parseState('a: [1,\n', 'f.yaml')).toThrow(StateReadError);
    expect(() => parseState('a: &x [1]\nb: *x\n', 'f.yaml')).toThrow(StateReadError);
    expect(() => parseState('a: [1,\n', 'f.yaml')).not.toThrow(StateWriteError);
  });

  it('reports a read-only folder as a StateWriteError', async () => {
    // Root ignores permissions; a file where the folder should be fails for everyone.
    const blocker = join(await mkdtemp(join(tmpdir(), 'fg-state-ro-')), 'file');
    await writeFile(blocker, 'x');
    await expect(writeState(join(blocker, 's.yaml'), createEmptyState('x'), 0, now)).rejects.toBeInstanceOf(
      StateWriteError,
    );
    if (process.getuid?.() === 0) return;
    const dir = await mkdtemp(join(tmpdir(), 'fg-state-ro-'));
    await chmod(dir, 0o500);
    await expect(writeState(join(dir, 's.yaml'), createEmptyState('x'), 0, now)).rejects.toBeInstanceOf(
      StateWriteError,
    );
  });

  it('stays under 2 MB for 10,000 targets with step timings on 200 waves and a full history (issue 13)', () => {
    const s = createEmptyState('big');
    const timing = () => ({ count: 50, medianMs: 61_234, maxMs: 70_123 });
    const steps = () => ({ target: timing(), drain: timing(), upgrade: timing(), verify: timing(), undrain: timing() });
    for (let i = 0; i < 10_000; i++) {
      s.targets[`target-${i}`] = {
        phase: 'Succeeded',
        from: '1.0.0',
        version: '1.1.0',
        attempts: 1,
        startedAt: now.toISOString(),
        finishedAt: now.toISOString(),
      };
    }
    for (let w = 0; w < 200; w++) {
      const ids = Array.from({ length: 50 }, (_, k) => `target-${w * 50 + k}`);
      s.waves.push({
        id: `all/${w + 1}`,
        phase: 'Completed',
        targets: ids,
        startedAt: now.toISOString(),
        finishedAt: now.toISOString(),
        succeeded: 50,
        failed: 0,
        steps: steps(),
      });
    }
    for (let h = 0; h < HISTORY_LIMIT; h++) {
      s.history.push({
        from: '1.0.0',
        to: `1.${h}.0`,
        phase: 'Healthy',
        startedAt: now.toISOString(),
        finishedAt: now.toISOString(),
        reason: 'RolloutCompleted',
        ...(h < WAVE_HISTORY_ENTRIES
          ? {
              waves: Array.from({ length: WAVE_HISTORY_LIMIT }, (_, w) => ({
                id: `all/${w + 1}`,
                size: 50,
                phase: 'Completed' as const,
                durationMs: 912_345,
                verdict: 'pass' as const,
                steps: steps(),
              })),
              waveCount: 200,
            }
          : { waveCount: 200 }),
      });
    }
    const text = serializeState(s);
    expect(Buffer.byteLength(text)).toBeLessThan(2_000_000);
    expect(parseState(text, 's')).toEqual(s);
  });

  it('stays under 2 MB for 10,000 targets', async () => {
    const s = createEmptyState('big');
    for (let i = 0; i < 10_000; i++) {
      s.targets[`target-${i}`] = {
        phase: 'Succeeded',
        from: '1.0.0',
        version: '1.1.0',
        startedAt: now.toISOString(),
        finishedAt: now.toISOString(),
      };
    }
    const text = serializeState(s);
    expect(Buffer.byteLength(text)).toBeLessThan(2_000_000);
    const dir = await mkdtemp(join(tmpdir(), 'fg-state-big-'));
    await writeFile(join(dir, 's.yaml'), text);
    expect(Object.keys(parseState(await readFile(join(dir, 's.yaml'), 'utf8'), 's').targets)).toHaveLength(10_000);
  });
});
