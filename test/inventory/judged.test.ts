/**
 * One way to check targets (issue 14, part 1): an inventory file and a discovery command's
 * output meet the spec's own target schema and list rules, and the rules that relate targets
 * to tiers (each target in exactly one tier, a tier that selects nothing, one leader per quorum
 * tier) once the inventory is loaded — located where a person fixes them: a target's problem
 * in the inventory file, a tier's in the spec, a command's output at the spec's
 * `inventory.discover`. Through the bundled CLI (`validate`, `plan`) as a user runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/rollout-repo.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetgate-judged-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A spec with two tiers over `inventory` (a YAML fragment under `inventory:`). */
function spec(inventory: string): string {
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: judged
component: agent
version: 1.1.0
inventory:
${inventory}
tiers:
  - name: edge
    select: { role: edge }
  - name: all-eu
    select: { zone: eu }
steps:
  version:
    http: { url: 'http://{{target.address}}/version', json: version }
  upgrade:
    http: { method: POST, url: 'http://{{target.address}}/upgrade?version={{version}}' }
  verify:
    http: { url: 'http://{{target.address}}/healthz' }
`;
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('an inventory file is judged like inline targets', () => {
  it('validate: overlapping tiers at the spec, a target in no tier in the file', async () => {
    await writeFile(
      join(dir, 'fleet.yaml'),
      [
        'targets:',
        '  - { id: edge-1, address: "10.0.0.1:80", labels: { role: edge, zone: eu } }',
        '  - { id: edge-2, address: "10.0.0.2:80", labels: { role: edge, zone: us } }',
        '  - { id: db-1, address: "10.0.0.3:80", labels: { role: db } }',
        '',
      ].join('\n'),
    );
    await writeFile(join(dir, 'file.yaml'), spec('  file: fleet.yaml'));
    const r = await cli('validate', 'file.yaml');
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'file.yaml:12:13 tiers[1].select: selects 1 target that tier "edge" also selects (edge-1) (expected each target in exactly one tier)',
      'fleet.yaml:4:11 targets[2].id: warning: target "db-1" is in no tier, so this rollout never upgrades it (expected labels that match some tier\'s select)',
    ]);
    // plan refuses with the same located error, before anything is planned.
    const plan = await cli('plan', 'file.yaml');
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain(
      'file.yaml:12:13 tiers[1].select: selects 1 target that tier "edge" also selects (edge-1)',
    );
  });

  it('validate: the schema of an inline target, in the file, with its line', async () => {
    await writeFile(join(dir, 'bad.yaml'), '- { id: x 1, address: "10.0.0.1:80", labels: { role: edge } }\n');
    await writeFile(join(dir, 'bad-spec.yaml'), spec('  file: bad.yaml'));
    const r = await cli('validate', 'bad-spec.yaml');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'bad.yaml:1:9 [0].id: must be a target id without spaces (expected a non-empty string without spaces, got "x 1")',
    );
    expect(r.stdout).not.toContain('valid\n');
  });

  it("plan: a discovery command's bad output is located at the spec's inventory.discover", async () => {
    const script = 'console.log(JSON.stringify([{id: "a", address: "x", labels: {role: "edge"}}, {id: "b"}], null, 2))';
    await writeFile(
      join(dir, 'discover.yaml'),
      spec(`  discover:\n    run: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(script)}]`),
    );
    const r = await cli('plan', 'discover.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /discover\.yaml:7:3 output\[1\]\.address: is required — in the output of discovery command `.+` \(stdout line 9, column 3\)/,
    );
  });
});
