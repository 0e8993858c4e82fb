/** The agent server in-process: lifecycle details that are awkward to observe from another process. */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startAgentServer } from '../../src/fleet/agent.js';
import { readAgentStats, setAgentFault } from '../../src/fleet/client.js';
import { createRandom, lognormalMs } from '../../src/fleet/prng.js';

describe('startAgentServer', () => {
  it('binds 127.0.0.1 and reports its state without a request', async () => {
    const agent = await startAgentServer({ id: 'a-1', version: '1.0.0', trafficRps: 0 });
    try {
      expect(agent.address).toBe(`127.0.0.1:${agent.port}`);
      expect(agent.snapshot()).toEqual({
        id: 'a-1',
        version: '1.0.0',
        upgrades: 0,
        drained: false,
        state: 'ready',
        fault: 'none',
        inflight: 0,
      });
    } finally {
      await agent.close();
    }
  });

  it('close() ends held requests and open keep-alive connections promptly, and is idempotent', async () => {
    const agent = await startAgentServer({ id: 'a-2', version: '1.0.0', trafficRps: 0 });
    await setAgentFault(agent.address, 'hang');
    const held = request(`http://${agent.address}/healthz`, { signal: AbortSignal.timeout(5000) });
    await expect.poll(async () => (await readAgentStats(agent.address)).parked).toBe(1);
    const started = Date.now();
    await Promise.all([agent.close(), agent.close()]);
    await expect(held).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses an invalid id, version or rate', async () => {
    await expect(startAgentServer({ id: 'a b', version: '1.0.0' })).rejects.toThrow(/invalid agent id/);
    await expect(startAgentServer({ id: 'a', version: '' })).rejects.toThrow(/invalid version/);
    await expect(startAgentServer({ id: 'a', version: '1', baseErrorRate: 5 })).rejects.toThrow(/ratio/);
  });

  it('records synthetic traffic only while ready', async () => {
    const agent = await startAgentServer({ id: 'a-3', version: '1.0.0', trafficRps: 500 });
    try {
      const total = async (): Promise<number> => {
        const res = await request(`http://${agent.address}/metrics`);
        const text = await res.body.text();
        return Number(/^http_request_duration_seconds_count\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
      };
      await expect.poll(total).toBeGreaterThan(0);
      await (await request(`http://${agent.address}/drain`, { method: 'POST' })).body.dump();
      const drained = await total();
      await new Promise((r) => setTimeout(r, 300));
      expect(await total()).toBe(drained);
    } finally {
      await agent.close();
    }
  });
});

describe('in-flight requests and slow requests', () => {
  it('/work?delay= holds a request that long; /inflight counts it and says idle only when drained, empty and quiet', async () => {
    const agent = await startAgentServer({ id: 'a-4', version: '1.0.0', trafficRps: 0, baseErrorRate: 0 });
    const inflight = async (query = '') => {
      const res = await request(`http://${agent.address}/inflight${query}`);
      return { status: res.statusCode, body: (await res.body.json()) as { inflight: number; idle: boolean } };
    };
    try {
      const started = Date.now();
      const slow = request(`http://${agent.address}/work?delay=300`).then(async (r) => {
        await r.body.dump();
        return { status: r.statusCode, ms: Date.now() - started };
      });
      await expect.poll(() => agent.snapshot().inflight).toBe(1);
      expect(await inflight()).toMatchObject({ status: 503, body: { inflight: 1, idle: false } });
      await (await request(`http://${agent.address}/drain`, { method: 'POST' })).body.dump();
      expect((await inflight()).status).toBe(503); // drained, but one request still runs
      const answered = await slow;
      expect(answered.status).toBe(200);
      expect(answered.ms).toBeGreaterThanOrEqual(290);
      expect(await inflight()).toMatchObject({ status: 200, body: { inflight: 0, idle: true } });
      expect((await inflight('?quiet=60000')).status).toBe(503); // a request arrived less than 60 s ago
      expect((await request(`http://${agent.address}/work?delay=-1`)).statusCode).toBe(400);
    } finally {
      await agent.close();
    }
  });

  it('a restart cuts the requests in flight and the count goes back to 0', async () => {
    const agent = await startAgentServer({ id: 'a-5', version: '1.0.0', trafficRps: 0, upgradeMs: 20 });
    try {
      const cut = request(`http://${agent.address}/work?delay=2000`);
      await expect.poll(() => agent.snapshot().inflight).toBe(1);
      await (await request(`http://${agent.address}/upgrade?version=1.1.0`, { method: 'POST' })).body.dump();
      await expect(cut.then((r) => r.body.text())).rejects.toThrow();
      expect(agent.snapshot().inflight).toBe(0);
    } finally {
      await agent.close();
    }
  });
});

describe('seeded random streams', () => {
  it('repeat for the same seed and id, and differ across ids', () => {
    const seq = (seed: number, id: string) => {
      const r = createRandom(seed, id);
      return Array.from({ length: 5 }, () => r());
    };
    expect(seq(1, 'edge-1')).toEqual(seq(1, 'edge-1'));
    expect(seq(1, 'edge-1')).not.toEqual(seq(1, 'edge-2'));
    expect(seq(1, 'edge-1')).not.toEqual(seq(2, 'edge-1'));
    for (const x of seq(3, 'x')) expect(x >= 0 && x < 1).toBe(true);
  });

  it('gives log-normal latencies around the median, clamped', () => {
    const r = createRandom(1, 'lat');
    const samples = Array.from({ length: 2000 }, () => lognormalMs(r, 20, 0.5, 100)).sort((a, b) => a - b);
    const median = samples[1000] as number;
    expect(median).toBeGreaterThan(17);
    expect(median).toBeLessThan(23);
    expect(samples[samples.length - 1]).toBeLessThanOrEqual(100);
  });
});
