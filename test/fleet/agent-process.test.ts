/**
 * The bundled agent program (`dist/agent.js` as scripts/build.mjs makes it):
 * many agents in one process, clean exit on SIGTERM, the launcher's
 * bundled-mode resolution, and no agent outliving a killed parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readAgentVersion } from '../../src/fleet/client.js';
import { isRunning } from './process-helpers.js';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let agentJs: string;
let probeJs: string;
const children: ChildProcess[] = [];

/** Same bundle settings as scripts/build.mjs, into a temporary folder. */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-bundle-'));
  const probeSrc = join(dir, 'probe.ts');
  // A stand-in for dist/cli.js: a bundled caller of startLocalFleet.
  writeFileSync(
    probeSrc,
    `import { resolveAgentCommand, startLocalFleet } from ${JSON.stringify(join(root, 'src/fleet/local-fleet.ts'))};
const hold = process.argv[2] === 'hold';
const fleet = await startLocalFleet({ count: 4, version: '1.0.0', agentsPerProcess: 2 });
process.stdout.write(JSON.stringify({ command: await resolveAgentCommand(), targets: fleet.targets, pids: fleet.pids }) + '\\n');
if (!hold) await fleet.stop();
else setInterval(() => undefined, 1000);
`,
  );
  await build({
    entryPoints: { agent: join(root, 'src/fleet/agent-main.ts'), probe: probeSrc },
    outdir: join(dir, 'out'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __fgCreateRequire } from 'node:module'; const require = __fgCreateRequire(import.meta.url);",
    },
  });
  agentJs = join(dir, 'out', 'agent.js');
  probeJs = join(dir, 'out', 'probe.js');
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(
  script: string,
  args: string[],
): { child: ChildProcess; firstLine: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const firstLine = new Promise<string>((resolveLine, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolveLine(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing a line: ${err}`)));
  });
  // Tests that expect an early exit never read the line.
  firstLine.catch(() => undefined);
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, firstLine, exit };
}

describe('bundled agent program', () => {
  it('serves 50 agents on 50 ports from one process and exits 0 on SIGTERM', async () => {
    const { child, firstLine, exit } = run(agentJs, [
      '--count',
      '50',
      '--id-prefix',
      'edge-',
      '--version',
      '1.0.0',
      '--traffic-rps',
      '10',
    ]);
    const { agents } = JSON.parse(await firstLine) as { agents: Array<{ id: string; address: string; port: number }> };
    expect(agents).toHaveLength(50);
    expect(new Set(agents.map((a) => a.port)).size).toBe(50);
    expect(agents[0]).toMatchObject({ id: 'edge-1', address: `127.0.0.1:${agents[0]?.port}` });
    const reports = await Promise.all(agents.map((a) => readAgentVersion(a.address)));
    expect(reports.map((r) => r.id)).toEqual(agents.map((a) => a.id));
    expect(reports.every((r) => r.version === '1.0.0' && r.state === 'ready')).toBe(true);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('exits 2 with every problem on bad arguments', async () => {
    const child = spawn(process.execPath, [agentJs, '--count', 'x'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('--count must be an integer');
    expect(err).toContain('--version is required');
  });

  it('exits 1 when a port is taken', async () => {
    const first = run(agentJs, ['--id', 'a', '--version', '1.0.0']);
    const { agents } = JSON.parse(await first.firstLine) as { agents: Array<{ port: number }> };
    const second = run(agentJs, ['--id', 'b', '--version', '1.0.0', '--port', String(agents[0]?.port)]);
    expect(await second.exit).toBe(1);
    await expect(second.firstLine).rejects.toThrow(/EADDRINUSE/);
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
  });
});

describe('launcher from a bundle', () => {
  it('the built CLI (dist/cli.js, split into chunks) starts its agents: `fleetgate fleet`', async () => {
    // The launcher runs inside a chunk of the real bundle, not in cli.js itself: it must still find dist/agent.js.
    const inventory = join(dir, 'fleet-inventory.yaml');
    const { child, firstLine, exit } = run(join(root, 'dist', 'cli.js'), [
      'fleet',
      '--count',
      '3',
      '--version',
      '2.0.0',
      '--inventory',
      inventory,
    ]);
    expect(await firstLine).toMatch(/^3 agents on 2\.0\.0 listening on 127\.0\.0\.1; inventory written to /);
    const { targets } = parseYaml(readFileSync(inventory, 'utf8')) as {
      targets: Array<{ id: string; address: string }>;
    };
    expect(targets).toHaveLength(3);
    const reports = await Promise.all(targets.map((t) => readAgentVersion(t.address)));
    expect(reports.map((r) => r.version)).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('runs agent.js next to the bundle, several agents per process', async () => {
    const { firstLine, exit } = run(probeJs, []);
    const out = JSON.parse(await firstLine) as {
      command: { mode: string; script: string; args: string[] };
      targets: Array<{ id: string }>;
      pids: number[];
    };
    expect(out.command.mode).toBe('bundled');
    expect(out.command.script).toBe(agentJs);
    expect(out.command.args).toEqual([agentJs]);
    expect(out.targets.map((t) => t.id)).toEqual(['agent-1', 'agent-2', 'agent-3', 'agent-4']);
    expect(out.pids).toHaveLength(2);
    expect(await exit).toBe(0);
    for (const pid of out.pids) expect(isRunning(pid)).toBe(false);
  });

  it('leaves no agent behind when the parent is killed with SIGKILL', async () => {
    const { child, firstLine, exit } = run(probeJs, ['hold']);
    const out = JSON.parse(await firstLine) as { pids: number[] };
    for (const pid of out.pids) expect(isRunning(pid)).toBe(true);
    child.kill('SIGKILL');
    await exit;
    // The agents see their stdin pipe close and shut down.
    await expect.poll(() => out.pids.filter(isRunning), { timeout: 5000, interval: 50 }).toEqual([]);
  });
});
