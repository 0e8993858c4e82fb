import { mkdtemp, readFile, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateConflictError, StateWriteError } from '../../src/errors.js';
import {
  createEmptyState,
  parseState,
  readState,
  serializeState,
  statePathFor,
  writeState,
} from '../../src/state/store.js';

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
    expect(() => parseState('a: [1,\n', 'f.yaml')).toThrow(StateWriteError);
    expect(() => parseState('a: &x [1]\nb: *x\n', 'f.yaml')).toThrow(StateWriteError);
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
