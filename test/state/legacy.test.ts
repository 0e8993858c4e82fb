/**
 * A state file an older Fleetgate wrote is read in today's words (src/state/legacy.ts, issue 14
 * part 2). The fixture was written by the serializer of commit 48fc1e4, the last before the
 * renames: a paused rollout with a target failed at its version read and two caught mid-move, and
 * four measurements in Argo's phase words (`Successful`, `Error`, `Failed`, `Inconclusive`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOldWords } from '../../src/state/legacy.js';
import { serializeState } from '../../src/state/format.js';
import { parseState, parseStateWithYaml } from '../../src/state/parse.js';

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

  it('reads a measurement’s phase as its verdict, in the words of the wave’s analysis', () => {
    for (const parse of [parseState, parseStateWithYaml]) {
      const s = parse(oldText, FIXTURE);
      const measurements = s.waves.flatMap((w) => w.analysis?.measurements ?? []);
      expect(measurements.map((m) => [m.metric, m.verdict])).toEqual([
        ['error-rate', 'pass'],
        ['latency-p99', 'error'],
        ['error-rate', 'fail'],
        ['saturation', 'inconclusive'],
      ]);
      for (const m of measurements) expect(m).not.toHaveProperty('phase');
      // The verdict stands where the phase stood.
      expect(Object.keys(measurements[0]!)).toEqual([
        'metric',
        'query',
        'cohort',
        'severity',
        'at',
        'window',
        'value',
        'threshold',
        'verdict',
        'message',
      ]);
      // The wave's own verdict and phase are as written.
      expect(s.waves.map((w) => w.analysis?.verdict)).toEqual(['pass', 'fail', undefined]);
    }
    expect(parseState(oldText, FIXTURE)).toEqual(parseStateWithYaml(oldText, FIXTURE));
  });

  it('reads each look of a sequential metric’s series the same way', () => {
    const look = (at: string, phase: string) => `            - { at: ${at}, phase: ${phase}, value: 0.2 }\n`;
    const withSeries = oldText.replace(
      '          message: error-rate 0.2 ≥ 0.01\n',
      `          message: error-rate 0.2 ≥ 0.01\n          series:\n${look('2026-12-01T09:10:00.000Z', 'Inconclusive')}${look('2026-12-01T09:12:00.000Z', 'Failed')}`,
    );
    expect(withSeries).not.toBe(oldText);
    for (const parse of [parseState, parseStateWithYaml]) {
      const series = parse(withSeries, FIXTURE).waves[1]!.analysis!.measurements[0]!.series!;
      expect(series).toEqual([
        { at: '2026-12-01T09:10:00.000Z', verdict: 'inconclusive', value: 0.2 },
        { at: '2026-12-01T09:12:00.000Z', verdict: 'fail', value: 0.2 },
      ]);
    }
    const text = serializeState(parseState(withSeries, FIXTURE));
    expect(text).toContain('- { at: 2026-12-01T09:12:00.000Z, verdict: fail, value: 0.2 }');
    expect(text).not.toMatch(/{ at: [^}]*phase:/);
  });

  it('writes only today’s words back, and reads what it wrote the same', () => {
    const s = parseState(oldText, FIXTURE);
    const text = serializeState(s);
    expect(text).not.toMatch(/InProgress|step: probe|\bSuccessful\b|\bInconclusive\b|phase: Error/);
    // `Failed` stays a wave's and a target's phase; no measurement has one.
    expect(text).not.toMatch(/^ {10}phase:/m);
    expect(text.match(/^ {10}verdict: \w+$/gm)).toEqual([
      '          verdict: pass',
      '          verdict: error',
      '          verdict: fail',
      '          verdict: inconclusive',
    ]);
    expect(text).toContain('edge-4: { phase: Progressing, step: version, from: 1.0.0, version: 1.0.0 }');
    expect(parseState(text, 'again')).toEqual(s);
    expect(parseStateWithYaml(text, 'again')).toEqual(s);
  });

  it('keeps a measurement’s key order, and changes nothing on a second read', () => {
    const raw = {
      waves: [
        {
          id: 'w',
          analysis: {
            verdict: 'fail',
            measurements: [
              { metric: 'm', phase: 'Failed', message: 'x', series: [{ at: 't', phase: 'Successful', value: 1 }] },
            ],
          },
        },
      ],
    };
    expect(readOldWords(raw)).toBe(2);
    const m = raw.waves[0]!.analysis.measurements[0]!;
    expect(Object.keys(m)).toEqual(['metric', 'verdict', 'message', 'series']);
    expect(m).toEqual({ metric: 'm', verdict: 'fail', message: 'x', series: [{ at: 't', verdict: 'pass', value: 1 }] });
    expect(readOldWords(raw)).toBe(0);
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
