/** The analysis fields of issue 11 as written and as normalized (ratios, milliseconds). */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/spec/parse.js';

const HEAD = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: p
component: api
version: 1.0.0
inventory: { targets: [{ id: a, address: '127.0.0.1:1' }] }
steps:
  version: { http: { url: 'http://{{target.address}}/version' } }
  upgrade: { run: [deploy, '{{version}}'] }
  verify: { http: { url: 'http://{{target.address}}/healthz' } }
`;

describe('sequential analysis fields', () => {
  it('normalizes confidence to a ratio, detect to a multiple, durations to ms; omitted ones stay absent', () => {
    const r = parseSpec(
      `${HEAD}analysis:
  provider: { scrape: {} }
  minWindow: 2m
  metrics:
    - name: e
      query: ratio(http_requests_total{code=~"5.."}, http_requests_total)
      baseline: { cohort: stable }
      maxIncrease: 10%
      confidence: 99.5%
      detect: 1.5x
      minSamples: 5000
      noData: wait
      maxWait: 30m
    - name: seed000
      query: ratio(http_requests_total{code=~"5.."}, http_requests_total)
      baseline: { cohort: stable }
      maxIncrease: 10%
      severity: critical
`,
      'r.yaml',
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.spec.analysis?.minWindowMs).toBe(120_000);
    expect(r.spec.analysis?.metrics[0]).toMatchObject({
      confidence: 0.995,
      detect: 1.5,
      minSamples: 5000,
      noData: 'wait',
      maxWaitMs: 1_800_000,
    });
    const plain = r.spec.analysis?.metrics[1];
    expect(plain).not.toHaveProperty('confidence');
    expect(plain).not.toHaveProperty('detect');
    expect(plain).not.toHaveProperty('minSamples');
  });
});
