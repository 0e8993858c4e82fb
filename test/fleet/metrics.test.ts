import { describe, expect, it } from 'vitest';
import { AgentMetrics, escapeLabelValue } from '../../src/fleet/metrics.js';

describe('AgentMetrics', () => {
  it('renders counters, a cumulative histogram and the build info', () => {
    const m = new AgentMetrics();
    m.record(200, 0.004);
    m.record(200, 0.02);
    m.record(500, 3);
    const text = m.render({ id: 'edge-1', version: '1.0.0', upgrades: 2 });
    expect(text).toContain('fleet_agent_build_info{id="edge-1",version="1.0.0"} 1\n');
    expect(text).toContain('http_requests_total{id="edge-1",version="1.0.0",code="200"} 2\n');
    expect(text).toContain('http_requests_total{id="edge-1",version="1.0.0",code="500"} 1\n');
    expect(text).toContain('http_request_duration_seconds_bucket{id="edge-1",version="1.0.0",le="0.005"} 1\n');
    expect(text).toContain('http_request_duration_seconds_bucket{id="edge-1",version="1.0.0",le="0.025"} 2\n');
    expect(text).toContain('http_request_duration_seconds_bucket{id="edge-1",version="1.0.0",le="2.5"} 2\n');
    expect(text).toContain('http_request_duration_seconds_bucket{id="edge-1",version="1.0.0",le="5"} 3\n');
    expect(text).toContain('http_request_duration_seconds_bucket{id="edge-1",version="1.0.0",le="+Inf"} 3\n');
    expect(text).toContain('http_request_duration_seconds_sum{id="edge-1",version="1.0.0"} 3.024\n');
    expect(text).toContain('http_request_duration_seconds_count{id="edge-1",version="1.0.0"} 3\n');
    expect(text).toContain('fleet_agent_upgrades_total{id="edge-1"} 2\n');
    expect(text.endsWith('\n')).toBe(true);
    // Every sample line is `name{labels} value`, every family has a TYPE line.
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{[^}]*\} [0-9.e+-]+)$/);
    }
  });

  it('exposes zero 200 and 500 series before any request, and starts over on reset', () => {
    const m = new AgentMetrics();
    m.record(503, 0);
    m.reset();
    const text = m.render({ id: 'a', version: '2', upgrades: 0 });
    expect(text).toContain('http_requests_total{id="a",version="2",code="200"} 0\n');
    expect(text).toContain('http_requests_total{id="a",version="2",code="500"} 0\n');
    expect(text).not.toContain('code="503"');
  });

  it('escapes label values', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
