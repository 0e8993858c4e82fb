import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../src/fleet/agent-args.js';

describe('parseAgentArgs', () => {
  it('parses a single agent with every option', () => {
    const parsed = parseAgentArgs([
      '--id',
      'edge-1',
      '--version',
      '1.0.0',
      '--port',
      '0',
      '--upgrade-ms',
      '20',
      '--seed',
      '7',
      '--traffic-rps',
      '100',
      '--base-error-rate',
      '0.05',
      '--base-latency-ms',
      '5',
      '--exit-on-stdin-close',
    ]);
    expect(parsed).toEqual({
      agents: [
        {
          id: 'edge-1',
          version: '1.0.0',
          port: 0,
          upgradeMs: 20,
          seed: 7,
          trafficRps: 100,
          baseErrorRate: 0.05,
          baseLatencyMs: 5,
        },
      ],
      exitOnStdinClose: true,
      help: false,
    });
  });

  it('numbers --count agents from --first-index and gives consecutive ports', () => {
    const parsed = parseAgentArgs([
      '--count',
      '3',
      '--id-prefix',
      'edge-',
      '--first-index',
      '11',
      '--version',
      '1.0.0',
      '--port',
      '9000',
    ]);
    if ('problems' in parsed) throw new Error(parsed.problems.join('\n'));
    expect(parsed.agents.map((a) => [a.id, a.port])).toEqual([
      ['edge-11', 9000],
      ['edge-12', 9001],
      ['edge-13', 9002],
    ]);
  });

  it('collects every problem', () => {
    const parsed = parseAgentArgs(['--count', '0', '--base-error-rate', '2', '--port', 'x']);
    expect('problems' in parsed && parsed.problems).toEqual([
      '--count must be an integer between 1 and 20000 (got "0")',
      '--port must be an integer between 0 and 65535 (got "x")',
      '--base-error-rate must be a number between 0 and 1 (got "2")',
      '--version is required',
      'give --id ID for one agent or --count N for several',
    ]);
  });

  it('refuses unknown options, bad ids and --id with --count', () => {
    expect(parseAgentArgs(['--id', 'a', '--version', '1', '--bogus'])).toHaveProperty('problems');
    expect(parseAgentArgs(['--id', 'a b', '--version', '1'])).toHaveProperty('problems');
    expect(parseAgentArgs(['--id', 'a', '--count', '2', '--version', '1'])).toHaveProperty('problems');
    expect(parseAgentArgs(['--count', '10', '--port', '65530', '--version', '1'])).toHaveProperty('problems');
  });
});
