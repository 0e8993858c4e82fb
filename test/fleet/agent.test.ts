/** The agent server in-process: lifecycle details that are awkward to observe from another process. */
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startAgentServer } from '../../src/fleet/agent.js';
import { readAgentStats, setAgentFault } from '../../src/fleet/client.js';
import { createRandom, lognormalMs } from '../../src/fleet/prng.js';
import { pollUntil } from '../helpers/poll.js';

afterEach(() => {
  vi.useRealTimers();
});

/**
 * Fakes `setTimeout` only — the agent's latencies, restarts and the `slow` fault run on it — so a test moves
 * time itself; sockets and `performance.now()` stay real. Waits under it use {@link pollUntil}, which polls in
 * real time (`expect.poll` would advance the fake clock).
 */
function fakeAgentTimers(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
}

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
        config: null,
        reloads: 0,
      });
    } finally {
      await agent.close();
    }
  });

  it('close() ends held requests and open keep-alive connections instead of waiting for them, and is idempotent', async () => {
    const agent = await startAgentServer({ id: 'a-2', version: '1.0.0', trafficRps: 0 });
    await setAgentFault(agent.address, 'hang');
    // No timeout of its own: only close() can end this request (a close that waited would hang the test).
    // How long closing takes is measured in bench/timings.ts.
    const held = request(`http://${agent.address}/healthz`);
    await expect.poll(async () => (await readAgentStats(agent.address)).parked).toBe(1);
    await Promise.all([agent.close(), agent.close()]);
    await expect(held).rejects.toThrow();
    await agent.close();
  });

  it('fault slow holds every answer for slowFaultMs, then answers (fake setTimeout)', async () => {
    const agent = await startAgentServer({ id: 'a-5', version: '1.0.0', trafficRps: 0, slowFaultMs: 2000 });
    try {
      await setAgentFault(agent.address, 'slow');
      fakeAgentTimers();
      let answered = false;
      const slow = request(`http://${agent.address}/healthz`).then(async (r) => {
        answered = true;
        await r.body.dump();
        return r.statusCode;
      });
      await pollUntil(
        'the slow request at the agent',
        5000,
        async () => (await readAgentStats(agent.address)).requests['/healthz'] === 1,
        { intervalMs: 10 },
      );
      await vi.advanceTimersByTimeAsync(1999);
      await readAgentStats(agent.address); // a round trip: an answer written by now would have arrived
      expect(answered).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await slow).toBe(200);
    } finally {
      vi.useRealTimers();
      await agent.close();
    }
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
      fakeAgentTimers();
      const slow = request(`http://${agent.address}/work?delay=300`).then(async (r) => {
        await r.body.dump();
        return { status: r.statusCode };
      });
      await pollUntil('the /work request at the agent', 5000, () => agent.snapshot().inflight === 1, {
        intervalMs: 10,
      });
      await vi.advanceTimersByTimeAsync(299);
      expect(agent.snapshot().inflight).toBe(1); // held for its 300 ms
      expect(await inflight()).toMatchObject({ status: 503, body: { inflight: 1, idle: false } });
      await (await request(`http://${agent.address}/drain`, { method: 'POST' })).body.dump();
      expect((await inflight()).status).toBe(503); // drained, but one request still runs
      await vi.advanceTimersByTimeAsync(1);
      const answered = await slow;
      expect(answered.status).toBe(200);
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
