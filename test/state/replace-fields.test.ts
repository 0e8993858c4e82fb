/**
 * The state fields of `replace` and `blueGreen` tiers (docs/state.md): they round-trip through
 * the state file, and a damaged one is refused with its field, line and column.
 */
import { describe, expect, it } from 'vitest';
import { serializeState } from '../../src/state/format.js';
import { parseState } from '../../src/state/parse.js';
import { createEmptyState, type RolloutState } from '../../src/state/types.js';

function replaced(): RolloutState {
  const s = createEmptyState('web');
  s.phase = 'Progressing';
  s.targets['web-1'] = { phase: 'Succeeded', retired: true, replacedBy: 'web-1.g2', version: '2.0.0' };
  s.targets['web-1.g2'] = { phase: 'Succeeded', replaces: 'web-1', address: '127.0.0.1:7001', labels: { role: 'web' } };
  s.targets['web-2'] = {
    phase: 'Progressing',
    step: 'verifyNew',
    replace: { mode: 'surge', old: 'web-2', new: 'web-2.g2' },
  };
  s.replacements = {
    'web-1': { by: 'web-1.g2', address: '127.0.0.1:7001', labels: { role: 'web' }, at: '2026-12-03T10:00:00.000Z' },
  };
  s.pools = { api: { version: '2.0.0', old: ['api-1'], new: ['api-1.g2'], switchedAt: '2026-12-03T10:00:00.000Z' } };
  return s;
}

describe('replace and blue-green fields in the state file', () => {
  it('round-trip', () => {
    const s = replaced();
    const back = parseState(serializeState(s), 'web.state.yaml');
    expect(back.targets).toEqual(s.targets);
    expect(back.replacements).toEqual(s.replacements);
    expect(back.pools).toEqual(s.pools);
  });

  it('refuse a replacement mode that does not exist, at its line', () => {
    const text = serializeState(replaced()).replace('mode: surge', 'mode: sideways');
    expect(() => parseState(text, 'web.state.yaml')).toThrow(
      /^web\.state\.yaml:\d+:\d+: targets\.web-2\.replace\.mode: /,
    );
  });

  it('refuse a pool without its old targets', () => {
    const s = replaced();
    delete (s.pools!.api as Partial<NonNullable<RolloutState['pools']>[string]>).old;
    expect(() => parseState(serializeState(s), 'web.state.yaml')).toThrow(
      /pools\.api\.old: is required \(expected a list/,
    );
  });
});
