/**
 * Zero-downtime rollout time behind a real HAProxy against its floor (issue 10).
 *
 *   npx tsx bench/lb-zero-downtime.ts     # FLEETGATE_BENCH_LB_TARGETS (default 20), FLEETGATE_BENCH_RUNS (default 1)
 *
 * 20 local agents behind HAProxy (health checks `GET /readyz`, inter 500 ms, fall 2,
 * rise 2), 200 requests/s through it for the whole rollout (1 in 5 held 250 ms), and
 * `rollouts/examples/haproxy.yaml` with the drain done the readiness way: `POST /drain`
 * on the agent (its `/readyz` turns 503) and `until` HAProxy's own view says the server
 * is out with 0 sessions; `POST /undrain` and `until` HAProxy reports it UP.
 * maxUnavailable 1, so every target is its own wave as the balancer sees it. The floor of
 * one target: HAProxy noticing the drain (inter × fall), the restart (upgrade-ms), HAProxy
 * noticing the recovery (inter × rise); the rollout's floor is the sum over targets.
 * Goal: ≤ 1.5 × the floor, with 0 failed requests. Prints a Markdown section for bench/RESULTS.md.
 */
import { loadavg } from 'node:os';
import { parseDocument } from 'yaml';
import { startLocalFleet } from '../src/fleet/local-fleet.js';
import { locateHaproxy, startHaproxy } from '../test/lb/haproxy.js';
import { describeRun, exampleSpec, rollOutUnderLoad } from '../test/lb/zero-downtime-rollout.js';

const count = Number(process.env.FLEETGATE_BENCH_LB_TARGETS ?? 20);
const runs = Number(process.env.FLEETGATE_BENCH_RUNS ?? 1);
const timing = { interMs: 500, fall: 2, rise: 2 };
const upgradeMs = 300;

/** The example with the readiness drain: the agent's own drain, HAProxy's view polled. */
function readinessDrainSpec(version: string): string {
  const doc = parseDocument(exampleSpec({ version, until: true, waves: 4 }));
  doc.setIn(['steps', 'drain', 'http'], doc.createNode({ method: 'POST', url: 'http://{{target.address}}/drain' }));
  doc.deleteIn(['steps', 'drain', 'run']);
  doc.setIn(['steps', 'undrain', 'http'], doc.createNode({ method: 'POST', url: 'http://{{target.address}}/undrain' }));
  doc.deleteIn(['steps', 'undrain', 'run']);
  return doc.toString();
}

const binary = locateHaproxy();
if (binary === undefined) process.exit(1);
const fleet = await startLocalFleet({
  count,
  version: '1.0.0',
  idPrefix: 'web-',
  agentsPerProcess: count,
  labels: () => ({ backend: 'fleet' }),
  trafficRps: 0,
  baseErrorRate: 0,
  upgradeMs,
});
const lb = await startHaproxy(binary, {
  servers: fleet.targets.map((t) => ({ name: t.id, address: t.address })),
  ...timing,
});
const floorPerTargetMs = timing.interMs * timing.fall + upgradeMs + timing.interMs * timing.rise;
const floorMs = floorPerTargetMs * count;
const rows: string[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const r = await rollOutUnderLoad(
      fleet,
      lb,
      readinessDrainSpec(`1.${i + 1}.0`),
      { rps: 200, slowShare: 0.2, slowMs: 250 },
      180_000,
    );
    process.stderr.write(`${describeRun(`run ${i + 1}`, r)}\n`);
    if (r.code !== 0) process.stderr.write(r.output);
    rows.push(
      `| ${i + 1} | ${(r.rolloutMs / 1000).toFixed(1)} s | ${(floorMs / 1000).toFixed(1)} s | **${(r.rolloutMs / floorMs).toFixed(2)}×** | ${r.load.sent} at ${r.load.rps}/s | ${r.load.failed} (${r.load.resets} resets) | ${r.lb.maxNotUp} |`,
    );
  }
} finally {
  await lb.stop();
  await fleet.stop();
}
process.stdout.write(
  [
    '## Zero-downtime rollout behind HAProxy against its floor',
    '',
    `${count} local agents behind Debian's HAProxy (health checks \`GET /readyz\`, inter ${timing.interMs} ms, fall ${timing.fall}, rise ${timing.rise}), ` +
      `200 requests/s through it for the whole rollout, 1 in 5 held 250 ms; restart ${upgradeMs} ms; maxUnavailable 1. ` +
      'Drain: `POST /drain` on the agent, `until` HAProxy reports the server out with 0 sessions; undrain: `POST /undrain`, `until` HAProxy reports it UP ' +
      '(`rollouts/examples/haproxy.yaml` with the readiness drain). Floor per target: inter × fall + restart + inter × rise = ' +
      `${floorPerTargetMs} ms. Goal ≤ 1.5× the floor. \`npx tsx bench/lb-zero-downtime.ts\`; load average ${loadavg()[0]!.toFixed(2)} (2 cores shared).`,
    '',
    '| run | rollout | floor | ÷ floor | requests | failed | max not UP (HAProxy) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n'),
);
