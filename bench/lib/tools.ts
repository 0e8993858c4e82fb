/**
 * The other ways to roll a fleet, run against the same local fleet as
 * Fleetgate: the floor (an ideal orchestrator with no state, no checks and no
 * process start: only the requests, each wave's targets at once), a plain
 * shell loop of `curl`, and an Ansible playbook (`uri` module, `serial`).
 * Each does drain → upgrade → wait healthy → undrain per target, a wave at a time.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';

/** Wave partition: target addresses per wave, in order. */
export type Waves = string[][];

export interface IdealRun {
  /** Wall time of the whole run (ms). */
  ms: number;
  /** Per wave: the slowest target's drain → undrain time (ms). */
  slowestPerWave: number[];
  /** Sum over waves of the slowest target's time (ms): the floor. */
  floorMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The floor: every target of a wave at once, back-to-back requests on keep-alive
 * connections, polling `/healthz` every `pollMs` — nothing else.
 */
export async function runIdeal(waves: Waves, version: string, pollMs = 10): Promise<IdealRun> {
  const dispatcher = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
  const call = async (method: 'GET' | 'POST', url: string): Promise<number> => {
    const res = await request(url, { method, dispatcher });
    await res.body.dump();
    return res.statusCode;
  };
  const start = performance.now();
  const slowestPerWave: number[] = [];
  try {
    for (const wave of waves) {
      const times = await Promise.all(
        wave.map(async (address) => {
          const t0 = performance.now();
          const base = `http://${address}`;
          if ((await call('POST', `${base}/drain`)) !== 200) throw new Error(`${address}: drain failed`);
          const up = await call('POST', `${base}/upgrade?version=${encodeURIComponent(version)}`);
          if (up !== 200 && up !== 202) throw new Error(`${address}: upgrade failed (${up})`);
          for (let i = 0; (await call('GET', `${base}/healthz`)) !== 200; i++) {
            if (i > 3000) throw new Error(`${address}: never healthy`);
            await sleep(pollMs);
          }
          if ((await call('POST', `${base}/undrain`)) !== 200) throw new Error(`${address}: undrain failed`);
          return performance.now() - t0;
        }),
      );
      slowestPerWave.push(Math.max(...times));
    }
  } finally {
    await dispatcher.close();
  }
  return {
    ms: performance.now() - start,
    slowestPerWave,
    floorMs: slowestPerWave.reduce((a, b) => a + b, 0),
  };
}

/** The plain shell loop: one backgrounded subshell of `curl`s per target, `wait` per wave. */
export function curlScript(waves: Waves): string {
  const lines = [
    '#!/usr/bin/env bash',
    '# drain -> upgrade -> wait healthy -> undrain, every target of a wave at once, a wave at a time',
    'set -u',
    'V="$1"',
    'one() {',
    '  local a="$1" n=0',
    '  curl -fsS -o /dev/null -X POST "http://$a/drain" || return 1',
    '  curl -fsS -o /dev/null -X POST "http://$a/upgrade?version=$V" || return 1',
    '  until curl -fsS -o /dev/null "http://$a/healthz" 2>/dev/null; do',
    '    n=$((n + 1)); [ "$n" -gt 3000 ] && return 1',
    '    sleep 0.01',
    '  done',
    '  curl -fsS -o /dev/null -X POST "http://$a/undrain" || return 1',
    '}',
    'wave() {',
    '  local failed=0 pid',
    '  local pids=()',
    '  for a in "$@"; do one "$a" & pids+=($!); done',
    '  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done',
    '  return $failed',
    '}',
    ...waves.map((w) => `wave ${w.join(' ')} || exit 1`),
    '',
  ];
  return lines.join('\n');
}

export async function runCurlLoop(waves: Waves, version: string): Promise<{ ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-curl-'));
  const script = join(dir, 'roll.sh');
  writeFileSync(script, curlScript(waves), { mode: 0o755 });
  try {
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      execFile('bash', [script, version], { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`curl loop failed: ${stderr.slice(0, 500)}`));
        else resolve();
      });
    });
    return { ms: performance.now() - start };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Ansible playbook: `serial` waves, `uri` module, the same four steps and polling. */
export function ansiblePlaybook(serial: string): string {
  return `- name: rolling upgrade
  hosts: fleet
  gather_facts: false
  serial: "${serial}"
  tasks:
    - name: drain
      ansible.builtin.uri: { url: "http://{{ addr }}/drain", method: POST, status_code: 200 }
    - name: upgrade
      ansible.builtin.uri: { url: "http://{{ addr }}/upgrade?version={{ version }}", method: POST, status_code: [200, 202] }
    - name: wait healthy
      ansible.builtin.uri: { url: "http://{{ addr }}/healthz", status_code: [200, 503] }
      register: health
      until: health.status == 200
      retries: 600
      delay: 0
    - name: undrain
      ansible.builtin.uri: { url: "http://{{ addr }}/undrain", method: POST, status_code: 200 }
`;
}

const ANSIBLE = '/usr/bin/ansible-playbook';

/**
 * Makes sure Debian's `ansible-core` is installed (root: `apt-get install -y
 * ansible-core`). Returns why it is unavailable, or `undefined` when ready.
 */
export function ensureAnsible(log: (line: string) => void): string | undefined {
  if (existsSync(ANSIBLE)) return undefined;
  if (process.getuid?.() !== 0)
    return 'ansible-core is not installed and this is not root (apt-get install ansible-core)';
  log('installing ansible-core from Debian (apt-get install -y --no-install-recommends ansible-core) …');
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'ansible-core'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch {
    try {
      execFileSync('apt-get', ['update'], { stdio: 'ignore' });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'ansible-core'], {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch (error) {
      return `apt-get install ansible-core failed: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  return existsSync(ANSIBLE) ? undefined : 'ansible-playbook still missing after apt-get install ansible-core';
}

export function ansibleVersion(): string {
  return execFileSync(ANSIBLE, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
}

/**
 * Runs the playbook over `hosts` (id → address) with `forks` parallel workers.
 * Uses the local connection (the `uri` module runs on the controller, as with real hosts).
 */
export async function runAnsible(
  hosts: { id: string; address: string }[],
  version: string,
  serial: string,
  forks: number,
): Promise<{ ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-ansible-'));
  const inventory = [
    '[fleet]',
    ...hosts.map((h) => `${h.id} addr=${h.address}`),
    '',
    '[fleet:vars]',
    'ansible_connection=local',
    'ansible_python_interpreter=/usr/bin/python3',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'hosts.ini'), inventory);
  writeFileSync(join(dir, 'roll.yml'), ansiblePlaybook(serial));
  try {
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(ANSIBLE, ['-i', 'hosts.ini', 'roll.yml', '-e', `version=${version}`, '-f', String(forks)], {
        cwd: dir,
        env: {
          ...process.env,
          ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
          ANSIBLE_HOME: join(dir, 'home'),
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_RETRY_FILES_ENABLED: '0',
          PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
      child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ansible-playbook exit ${code}: ${out}`))));
    });
    return { ms: performance.now() - start };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
