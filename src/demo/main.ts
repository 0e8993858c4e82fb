/**
 * `npm run demo`: a complete rollout on an embedded local fleet, then a drill.
 *
 * 1. Starts 20 real agent processes on 127.0.0.1 (17 edge, a 3-member quorum).
 * 2. Copies `rollouts/demo.yaml` into a temporary git repository with the fleet's inventory.
 * 3. `fleetgate run` 1.0.0 → 1.1.0: canary, observation, waves, quorum leader last; state committed per wave.
 * 4. Drill: the spec moves to 1.2.0-broken, whose targets never turn healthy; the circuit
 *    breaker trips after 2 consecutive failures and `fleetgate resume --decision rollback`
 *    returns the touched targets to 1.1.0.
 * 5. Drill: 1.3.0-errors10 passes its health checks but serves 10× the 5xx share; the
 *    canary's error-rate analysis (scrape provider, critical) rolls it back automatically.
 * 6. Checks every agent's `/version`, prints status, the git log and the state file, stops every process.
 * 7. After each of the three rollouts, `fleetgate report` writes its HTML report to `.fleetgate/` of
 *    this checkout (kept after the demo); the demo ends by printing their paths.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAgentVersion } from '../fleet/client.js';
import { demoFleetLabels } from '../fleet/demo-labels.js';
import { startLocalFleet, type LocalFleet } from '../fleet/local-fleet.js';
import { colorsFor } from '../cli/reporter.js';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, '..');
const cli = join(here, 'cli.js');
const keep = process.argv.includes('--keep');

/** A bold heading on a terminal; plain text into a pipe or a log file, or with NO_COLOR (the CLI's rule). */
function banner(text: string): void {
  process.stdout.write(`\n${colorsFor(process.stdout).bold(`━━ ${text}`)}\n`);
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Demo',
      GIT_AUTHOR_EMAIL: 'demo@localhost',
      GIT_COMMITTER_NAME: 'Demo',
      GIT_COMMITTER_EMAIL: 'demo@localhost',
    },
  });
}

/** Runs the bundled CLI as a user would; resolves with its exit code. */
function fleetgate(cwd: string, ...args: string[]): Promise<number> {
  process.stdout.write(`\n$ fleetgate ${args.join(' ')}\n`);
  return new Promise((resolveCode, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd,
      stdio: 'inherit',
      env: { ...process.env, CI: process.env.CI ?? '1' },
    });
    child.on('error', reject);
    child.on('exit', (code) => resolveCode(code ?? 1));
  });
}

async function expectVersions(fleet: LocalFleet, version: string): Promise<void> {
  const reports = await Promise.all(
    fleet.targets.map(async (t) => ({ ...(await readAgentVersion(t.address)), id: t.id })),
  );
  const wrong = reports.filter((r) => r.version !== version);
  if (wrong.length > 0)
    throw new Error(`expected every agent on ${version}; ${wrong.map((w) => `${w.id}=${w.version}`).join(', ')}`);
  const upgrades = reports.reduce((n, r) => n + r.upgrades, 0);
  process.stdout.write(
    `✔ all ${reports.length} agents report ${version} on /version (${upgrades} upgrades in total)\n`,
  );
}

function expectCode(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: exit code ${got}, expected ${want}`);
}

/** `fleetgate report` of the rollout just run, into `.fleetgate/` of this checkout (the temporary repository goes). */
async function writeDemoReport(work: string, spec: string, name: string): Promise<string> {
  const out = join(projectRoot, '.fleetgate', `demo-${name}.report.html`);
  expectCode(`report (${name})`, await fleetgate(work, 'report', spec, '--out', out), 0);
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  const reports: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'fleetgate-demo-'));
  banner('Starting an embedded local fleet: 20 agents on 127.0.0.1, version 1.0.0');
  const fleet = await startLocalFleet({
    count: 20,
    version: '1.0.0',
    idPrefix: 'agent-',
    labels: (i) => demoFleetLabels(i, 20),
  });
  const stop = async () => {
    await fleet.stop();
    if (!keep) rmSync(work, { recursive: true, force: true });
  };
  try {
    process.stdout.write(`  ${fleet.targets.length} agents, processes ${fleet.pids.join(' ')}\n`);
    mkdirSync(join(work, 'rollouts'), { recursive: true });
    mkdirSync(join(work, 'inventory'), { recursive: true });
    copyFileSync(join(projectRoot, 'rollouts', 'demo.yaml'), join(work, 'rollouts', 'demo.yaml'));
    await fleet.writeInventory(join(work, 'inventory', 'local-fleet.yaml'));
    writeFileSync(join(work, '.gitignore'), '.fleetgate/\nrollouts/.fleetgate/\n');
    git(work, 'init', '--quiet', '--initial-branch=main');
    git(work, 'add', '.');
    git(work, 'commit', '--quiet', '-m', 'demo: fleet inventory and rollout spec at 1.1.0');
    process.stdout.write(`  temporary git repository: ${work}\n`);
    const spec = 'rollouts/demo.yaml';

    banner('Validate and plan (touches no target)');
    expectCode('validate', await fleetgate(work, 'validate', spec), 0);
    expectCode('plan', await fleetgate(work, 'plan', spec), 0);

    banner('Roll out 1.0.0 → 1.1.0 (the promotion gate is approved with --yes)');
    expectCode('run', await fleetgate(work, 'run', spec, '--yes'), 0);
    await expectVersions(fleet, '1.1.0');
    reports.push(await writeDemoReport(work, spec, 'healthy'));

    banner('Drill: propose 1.2.0-broken, whose agents never turn healthy');
    const specFile = join(work, spec);
    writeFileSync(specFile, readFileSync(specFile, 'utf8').replace(/^version: .*$/m, 'version: 1.2.0-broken'));
    git(work, 'commit', '--quiet', '-am', 'demo: propose 1.2.0-broken');
    const drill = await fleetgate(work, 'run', spec, '--yes');
    expectCode('drill run (paused by the circuit breaker)', drill, 3);
    expectCode('status while paused', await fleetgate(work, 'status', spec), 3);

    banner('Decision: roll back the touched targets to 1.1.0');
    expectCode(
      'resume --decision rollback',
      await fleetgate(
        work,
        'resume',
        spec,
        '--decision',
        'rollback',
        '--reason',
        'demo drill: 1.2.0-broken fails health checks',
      ),
      4,
    );
    await expectVersions(fleet, '1.1.0');
    reports.push(await writeDemoReport(work, spec, 'breaker-rollback'));

    banner('Drill: propose 1.3.0-errors10, healthy but serving 10× the 5xx share');
    writeFileSync(specFile, readFileSync(specFile, 'utf8').replace(/^version: .*$/m, 'version: 1.3.0-errors10'));
    git(work, 'commit', '--quiet', '-am', 'demo: propose 1.3.0-errors10');
    expectCode(
      'metric drill (critical error-rate → automatic rollback)',
      await fleetgate(work, 'run', spec, '--yes'),
      4,
    );
    await expectVersions(fleet, '1.1.0');
    expectCode('status after the metric-driven rollback', await fleetgate(work, 'status', spec), 0);
    reports.push(await writeDemoReport(work, spec, 'metric-rollback'));

    banner('Drift check: every target against the state');
    expectCode('drift', await fleetgate(work, 'drift', spec), 0);

    banner('State commits in git');
    process.stdout.write(git(work, 'log', '--oneline', '--', 'rollouts/demo.state.yaml'));

    banner('Final state file: rollouts/demo.state.yaml');
    process.stdout.write(readFileSync(join(work, 'rollouts', 'demo.state.yaml'), 'utf8'));

    banner('Rollout reports (open in any browser; see docs/report.md)');
    for (const r of reports) process.stdout.write(`  ${r}\n`);

    banner(
      `Demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s${keep ? `; repository kept at ${work}` : ''}`,
    );
  } finally {
    await stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
