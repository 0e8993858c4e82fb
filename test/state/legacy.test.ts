/**
 * A state file an older Fleetgate wrote is read in today's words (src/state/legacy.ts, issue 14
 * part 2). The fixture was written by the serializer of commit 48fc1e4, the last before the
 * renames: a paused rollout with a target failed at its version read and two caught mid-move.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOldWords } from '../../src/state/legacy.js';
import { parseState, parseStateWithYaml, serializeState } from '../../src/state/store.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'written-before-issue-14.state.yaml');
const oldText = readFileSync(FIXTURE, 'utf8');

describe('reading a state file written before the vocabulary was made one', () => {
  it('reads a target being moved as Progressing and its version read as the version step', () => {
    for (const parse of [parseState, parseStateWithYaml]) {
      const s = parse(oldText, FIXTURE);
      expect(s.targets['edge-4']).toEqual({ phase: 'Progressing', step: 'version', from: '1.0.0', version: '1.0.0' });
      expect(s.targets['edge-5']).toMatchObject({ phase: 'Progressing', step: 'upgrade', attempts: 1 });
      expect(s.targets['edge-3']).toMatchObject({ phase: 'Failed', step: 'version' });
      // Values that did not change are read as they are.
      expect(s.targets['edge-1']).toMatchObject({ phase: 'Succeeded', step: 'undrain' });
      expect(s.waves.map((w) => w.phase)).toEqual(['Completed', 'Failed', 'Progressing']);
    }
  });

  it('writes only today’s words back, and reads what it wrote the same', () => {
    const s = parseState(oldText, FIXTURE);
    const text = serializeState(s);
    expect(text).not.toMatch(/InProgress|step: probe/);
    expect(text).toContain('edge-4: { phase: Progressing, step: version, from: 1.0.0, version: 1.0.0 }');
    expect(parseState(text, 'again')).toEqual(s);
  });

  it('keeps the key order of a target and changes nothing on a second read', () => {
    const raw = {
      targets: { a: { phase: 'InProgress', step: 'probe', from: '1.0.0' }, b: { phase: 'Pending' } },
    };
    expect(readOldWords(raw)).toBe(2);
    expect(Object.keys(raw.targets.a)).toEqual(['phase', 'step', 'from']);
    expect(raw.targets).toEqual({
      a: { phase: 'Progressing', step: 'version', from: '1.0.0' },
      b: { phase: 'Pending' },
    });
    expect(readOldWords(raw)).toBe(0);
  });

  it('leaves a value it does not know for the schema to report', () => {
    const raw = { targets: { a: { phase: 'Sideways' }, b: 'not a mapping' }, waves: 'nor a list' };
    expect(readOldWords(raw)).toBe(0);
    expect(raw).toEqual({ targets: { a: { phase: 'Sideways' }, b: 'not a mapping' }, waves: 'nor a list' });
    expect(() => parseState(oldText.replace('phase: InProgress, step: probe', 'phase: Sideways'), 'x.yaml')).toThrow(
      /x\.yaml:\d+:\d+: targets\.edge-4\.phase: must be one of Pending, Progressing, Succeeded/,
    );
  });
});
