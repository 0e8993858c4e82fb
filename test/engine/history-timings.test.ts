/**
 * What a finished rollout leaves in its history entry for later plans (issue 13, part 5): each
 * wave's size, wall time, failures, pauses, decision and per-step timings (a median and a
 * maximum, ms), on the fake clock whose step latencies are known.
 */
import { describe, expect, it } from 'vitest';
import { engineSpec, fleet, scenario, size, tier } from './kit/engine.js';
import { DEFAULT_LATENCY } from './kit/fleet.js';
import { serializeState } from '../../src/state/format.js';
import { parseState } from '../../src/state/parse.js';
import { WAVE_HISTORY_ENTRIES } from '../../src/state/types.js';

describe('history keeps wave durations and step timings', () => {
  it('records every wave with its size, duration and per-step median and maximum', async () => {
    const sc = scenario({
      spec: engineSpec([
        tier('edge', {}, { canary: size(1), waves: size(2), maxUnavailable: size(1), observeMs: 1_000 }),
      ]),
      targets: fleet('edge', 5),
    });
    expect((await sc.engine().run()).outcome).toBe('Healthy');
    const [entry] = sc.state().history;
    expect(entry!.rollback).toBeUndefined();
    expect(entry!.waves!.map((w) => [w.id, w.size, w.phase])).toEqual([
      ['edge/canary', 1, 'Completed'],
      ['edge/1', 2, 'Completed'],
      ['edge/2', 2, 'Completed'],
    ]);
    for (const w of entry!.waves!) {
      // Each wave: its targets one at a time, then the 1 s observation window.
      expect(w.durationMs).toBeGreaterThanOrEqual(1_000 + w.size * DEFAULT_LATENCY.upgrade);
      expect(w.steps!.upgrade).toEqual({
        count: w.size,
        medianMs: DEFAULT_LATENCY.upgrade,
        maxMs: DEFAULT_LATENCY.upgrade,
      });
      expect(w.steps!.drain!.medianMs).toBe(DEFAULT_LATENCY.drain);
      expect(w.steps!.undrain!.count).toBe(w.size);
      expect(w.steps!.verify!.count).toBe(w.size);
      expect(w.steps!.target!.medianMs).toBeGreaterThanOrEqual(DEFAULT_LATENCY.upgrade + DEFAULT_LATENCY.drain);
      expect(w.failed).toBeUndefined();
      expect(w.paused).toBeUndefined();
    }
    // The live state keeps the summary on each wave as well (what `status` and the report read).
    expect(sc.state().waves[1]!.steps!.upgrade!.count).toBe(2);
    // Written and read back as it is: no object shared between a wave and its history (a YAML alias).
    const text = serializeState(sc.state());
    expect(text).not.toMatch(/[&*]a\d/);
    expect(parseState(text, 'x.state.yaml')).toEqual(JSON.parse(JSON.stringify(sc.state())));
  });

  it('keeps the waves of the newest WAVE_HISTORY_ENTRIES entries only; older ones keep their count', async () => {
    const sc = scenario({
      spec: engineSpec([tier('edge', {}, { canary: size(1), waves: size(1), observeMs: 0 })]),
      targets: fleet('edge', 3),
    });
    for (let minor = 1; minor <= WAVE_HISTORY_ENTRIES + 2; minor++) {
      sc.spec = { ...sc.spec, version: `1.${minor}.0` };
      expect((await sc.engine().run()).outcome).toBe('Healthy');
    }
    const history = sc.state().history;
    expect(history).toHaveLength(WAVE_HISTORY_ENTRIES + 2);
    expect(history.slice(0, WAVE_HISTORY_ENTRIES).every((h) => h.waves?.length === 3)).toBe(true);
    expect(history.slice(WAVE_HISTORY_ENTRIES).map((h) => [h.to, h.waves, h.waveCount])).toEqual([
      ['1.2.0', undefined, 3],
      ['1.1.0', undefined, 3],
    ]);
  });

  it('records where a rollout paused, why, and what was decided there', async () => {
    const sc = scenario({
      spec: engineSpec([
        tier(
          'edge',
          {},
          {
            canary: size(1),
            waves: size(3),
            observeMs: 0,
            circuitBreaker: { maxConsecutiveFailures: 1 },
          },
        ),
      ]),
      targets: fleet('edge', 4),
    });
    sc.fleet.failWhen({ kind: 'upgrade', target: 'edge-3' });
    const paused = await sc.engine().run();
    expect(paused.outcome).toBe('Paused');
    expect(sc.state().waves[1]!.paused).toEqual(['CircuitBreakerTripped']);
    expect((await sc.engine().resume('rollback', 'too risky')).outcome).toBe('RolledBack');
    const entry = sc.state().history[0]!;
    const wave = entry.waves!.find((w) => w.id === 'edge/1')!;
    expect(wave).toMatchObject({ size: 3, failed: 1, paused: ['CircuitBreakerTripped'], decision: 'rollback' });
    expect(entry.waves!.find((w) => w.id === 'edge/canary')!.paused).toBeUndefined();
  });
});
