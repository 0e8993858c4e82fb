/**
 * The audit row "who approved, when" across rollouts (issue 12, item 15): a rollout's gate
 * approvals and decisions are kept in its history entry, so the next rollout, which starts
 * with empty `approvals` and `decisions`, does not erase them.
 */
import { describe, expect, it } from 'vitest';
import { AUDIT_LIMIT } from '../../src/state/types.js';
import { engineSpec, fleet, scenario, size, tier } from './kit/engine.js';

describe('history keeps each rollout audit', () => {
  it('keeps the approvals and the decisions of a finished rollout after the next one starts', async () => {
    const sc = scenario({
      spec: engineSpec([tier('edge', {}, { canary: size(1), waves: size(2), observeMs: 0 })], {
        gates: { canary: 'edge-canary' },
      }),
      targets: fleet('edge', 3),
      actor: 'alice',
    });
    // Nobody approved the canary gate yet: paused; alice answers with a decision.
    sc.gates = () => Promise.resolve({ approved: false, by: '' });
    expect((await sc.engine().run()).outcome).toBe('Paused');
    expect((await sc.engine().resume('continue', 'change window agreed')).outcome).toBe('Healthy');
    const first = sc.state();
    expect(first.approvals.map((a) => a.by)).toEqual(['alice']);

    sc.spec = { ...sc.spec, version: '1.2.0' };
    sc.gates = () => Promise.resolve({ approved: true, by: 'github:carol' });
    expect((await sc.engine().run()).outcome).toBe('Healthy');
    const s = sc.state();
    expect(s.approvals.map((a) => a.by)).toEqual(['github:carol']);
    expect(s.decisions).toEqual([]);
    const older = s.history.find((h) => h.to === '1.1.0')!;
    expect(older.approvals).toEqual([{ at: first.approvals[0]!.at, gate: 'edge-canary', by: 'alice' }]);
    expect(older.decisions).toEqual([
      expect.objectContaining({ decision: 'continue', by: 'alice', reason: 'change window agreed' }),
    ]);
    expect(s.history[0]!.approvals?.map((a) => a.by)).toEqual(['github:carol']);
  });

  it('keeps at most AUDIT_LIMIT decisions per entry, the newest', async () => {
    const sc = scenario({
      spec: engineSpec([tier('edge', {}, { canary: size(1), waves: size(2), observeMs: 0 })], {
        gates: { canary: 'c' },
      }),
      targets: fleet('edge', 2),
    });
    sc.gates = () => Promise.resolve({ approved: false, by: '' });
    expect((await sc.engine().run()).outcome).toBe('Paused');
    // A long argument before anyone continues: many decisions recorded while still paused.
    sc.store.overwrite((st) => {
      for (let i = 0; i < AUDIT_LIMIT + 5; i++)
        st.decisions.push({ at: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`, decision: 'continue', by: `u${i}` });
    });
    expect((await sc.engine().resume('continue')).outcome).toBe('Healthy');
    const kept = sc.state().history[0]!.decisions!;
    expect(kept).toHaveLength(AUDIT_LIMIT);
    expect(kept.at(-1)!.by).toBe('tester');
    expect(kept[0]!.by).toBe('u6');
  });
});
