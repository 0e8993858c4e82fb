/**
 * Inventory loading against real files in temporary folders and real
 * discovery commands (the running Node binary with `-e` scripts).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { formatIssue } from '../../src/spec/issue.js';

let dir: string;
const specFile = 'rollouts/edge.yaml';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetgate-inventory-'));
  await mkdir(join(dir, 'rollouts'));
  await mkdir(join(dir, 'inventory'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `inventory/<name>` and loads it as the spec `rollouts/edge.yaml` would (`file: ../inventory/<name>`). */
async function loadFile(name: string, text: string) {
  await writeFile(join(dir, 'inventory', name), text);
  return loadInventory(
    { kind: 'file', path: `../inventory/${name}` },
    { baseDir: join(dir, 'rollouts'), file: specFile },
  );
}

function discover(script: string, timeoutMs = 10_000) {
  return loadInventory(
    { kind: 'discover', run: [process.execPath, '-e', script], timeoutMs },
    { baseDir: join(dir, 'rollouts'), file: specFile },
  );
}

describe('loadInventory: inline', () => {
  it('returns the spec’s targets', async () => {
    const targets = [{ id: 'a', address: 'a:80', labels: { role: 'edge' } }];
    expect(await loadInventory({ kind: 'inline', targets }, { baseDir: dir, file: specFile })).toEqual({
      targets,
      issues: [],
    });
  });

  it('leaves the checks to the spec parser, which judges inline targets with the same rules as a file', async () => {
    // Repeated ids, ids with spaces, overlapping tiers: refused while the spec is parsed (test/spec).
    const targets = [{ id: 'a', address: 'a:80', labels: {} }];
    expect((await loadInventory({ kind: 'inline', targets }, { baseDir: dir, file: specFile })).issues).toEqual([]);
  });
});

describe('loadInventory: file', () => {
  it('reads a YAML list of targets, labels optional', async () => {
    const { targets, issues } = await loadFile(
      'list.yaml',
      [
        '- id: edge-1',
        '  address: 10.0.0.1:8080',
        '  labels: {role: edge, zone: a}',
        '- id: edge-2',
        '  address: 10.0.0.2:8080',
        '',
      ].join('\n'),
    );
    expect(issues).toEqual([]);
    expect(targets).toEqual([
      { id: 'edge-1', address: '10.0.0.1:8080', labels: { role: 'edge', zone: 'a' } },
      { id: 'edge-2', address: '10.0.0.2:8080', labels: {} },
    ]);
  });

  it('reads {targets: [...]} in JSON', async () => {
    const { targets, issues } = await loadFile(
      'fleet.json',
      JSON.stringify({ targets: [{ id: 'a', address: 'a:1', labels: { rack: 'r1' } }] }, null, 2),
    );
    expect(issues).toEqual([]);
    expect(targets).toEqual([{ id: 'a', address: 'a:1', labels: { rack: 'r1' } }]);
  });

  it('converts number and boolean label values to strings', async () => {
    const { targets, issues } = await loadFile(
      'coerce.yaml',
      'targets:\n  - {id: a, address: "a:1", labels: {rack: 3, canary: true, weight: 0.5}}\n',
    );
    expect(issues).toEqual([]);
    expect(targets[0]!.labels).toEqual({ rack: '3', canary: 'true', weight: '0.5' });
  });

  it('reports every bad entry with its line and column', async () => {
    const text = [
      'targets:', //                               1
      '  - id: edge-1', //                         2
      '    address: 10.0.0.1:80', //               3
      '  - address: 10.0.0.2:80', //               4  missing id
      '  - id: edge-3', //                         5  missing address
      '  - id: 7', //                              6  id not a string
      '    address: 10.0.0.4:80', //               7
      '  - id: edge-1', //                         8  duplicate id
      '    address: 10.0.0.5:80', //               9
      '  - id: edge-6', //                        10
      '    address: ""', //                       11  empty address
      '  - id: edge-7', //                        12
      '    address: 10.0.0.7:80', //              13
      '    labels: {zone: [a, b], ok: x, n: ~}', //14 list label, null label
      '  - just-a-string', //                     15
      '  - id: edge-9', //                        16
      '    address: 10.0.0.9:80', //              17
      '    labels: [role, edge]', //              18
      '  - id: edge-10', //                       19
      '    address: 10.0.0.10:80', //             20
      '    host: edge-10.example', //             21 unknown field (warning)
      '',
    ].join('\n');
    const { targets, issues } = await loadFile('bad.yaml', text);
    // The spec's own schema and words: an inline target with the same mistakes reads the same.
    expect(issues.map(formatIssue)).toEqual([
      'inventory/bad.yaml:4:5 targets[1].id: is required (expected a string)',
      'inventory/bad.yaml:5:5 targets[2].address: is required (expected a host, host:port or URL authority)',
      'inventory/bad.yaml:6:9 targets[3].id: must be a target id; quote it to keep it text: "7" (expected a string, got 7)',
      'inventory/bad.yaml:8:9 targets[4].id: target id "edge-1" is already used by targets[0] (expected an id no other target has)',
      'inventory/bad.yaml:11:14 targets[5].address: must be an address without spaces (expected a host, host:port or URL authority, got "")',
      'inventory/bad.yaml:14:20 targets[6].labels.zone: must be a label value (expected a string (numbers and true/false are read as text), got ["a","b"])',
      'inventory/bad.yaml:14:38 targets[6].labels.n: must be a label value (expected a string (numbers and true/false are read as text), got ~)',
      'inventory/bad.yaml:15:5 targets[7]: must be a map of fields (expected a map (key: value lines), got "just-a-string")',
      'inventory/bad.yaml:18:13 targets[8].labels: must be a map (expected a map (key: value lines), got ["role","edge"])',
      'inventory/bad.yaml:21:5 targets[9].host: unknown field (expected one of id, address, labels)',
    ]);
    expect(issues.every((i) => i.severity === 'error')).toBe(true);
    expect(targets.map((t) => t.id)).toEqual(['edge-1']);
  });

  it('refuses an id with a space, as an inline inventory does', async () => {
    const { targets, issues } = await loadFile('space.yaml', '- {id: x 1, address: "10.0.0.1:80"}\n');
    expect(targets).toEqual([]);
    expect(issues.map(formatIssue)).toEqual([
      'inventory/space.yaml:1:8 [0].id: must be a target id without spaces (expected a non-empty string without spaces, got "x 1")',
    ]);
  });

  it('reports YAML syntax errors with their position', async () => {
    const { targets, issues } = await loadFile('syntax.yaml', 'targets:\n  - id: a\n    address: [unclosed\n');
    expect(targets).toEqual([]);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ file: 'inventory/syntax.yaml', severity: 'error' });
    expect(issues[0]!.line).toBeGreaterThan(0);
  });

  it('reports duplicate keys', async () => {
    const { issues } = await loadFile('dupkey.yaml', '- id: a\n  id: b\n  address: x\n');
    expect(issues[0]).toMatchObject({ file: 'inventory/dupkey.yaml', line: 2, severity: 'error' });
    expect(issues[0]!.message).toMatch(/unique/);
  });

  it('refuses JSON that is not strict JSON in a .json file', async () => {
    const { targets, issues } = await loadFile('loose.json', '[{id: a, address: b}]');
    expect(targets).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'inventory/loose.json', severity: 'error' });
    expect(issues[0]!.message).toMatch(/^invalid JSON/);
  });

  it('reports a document that is neither a list nor {targets: [...]}', async () => {
    expect((await loadFile('empty.yaml', '# nothing\n')).issues.map(formatIssue)).toEqual([
      'inventory/empty.yaml:0:0 inventory is empty (expected a list of targets or a mapping {targets: [...]})',
    ]);
    expect((await loadFile('nokey.yaml', 'hosts: []\n')).issues.map(formatIssue)).toEqual([
      'inventory/nokey.yaml:1:1 inventory has no targets (expected a list of targets or a mapping {targets: [...]}, got a mapping with "hosts")',
    ]);
    expect((await loadFile('scalar.yaml', 'targets: 3\n')).issues.map(formatIssue)).toEqual([
      'inventory/scalar.yaml:1:10 targets: must be a list (expected a list of targets, got 3)',
    ]);
  });

  it('accepts an empty list', async () => {
    expect(await loadFile('none.yaml', '[]\n')).toMatchObject({ targets: [], issues: [] });
  });

  it('reports a missing file at the spec’s inventory.file', async () => {
    const { targets, issues } = await loadInventory(
      { kind: 'file', path: '../inventory/nope.yaml' },
      { baseDir: join(dir, 'rollouts'), file: specFile },
    );
    expect(targets).toEqual([]);
    expect(issues.map(formatIssue)).toEqual([
      'rollouts/edge.yaml:0:0 inventory.file: cannot read inventory file inventory/nope.yaml: no such file',
    ]);
  });

  it('accepts an absolute path', async () => {
    await writeFile(join(dir, 'abs.yaml'), '- {id: a, address: b}\n');
    const { targets, issues } = await loadInventory(
      { kind: 'file', path: join(dir, 'abs.yaml') },
      { baseDir: join(dir, 'rollouts'), file: specFile },
    );
    expect(issues).toEqual([]);
    expect(targets).toEqual([{ id: 'a', address: 'b', labels: {} }]);
  });

  it('loads 10,000 targets', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({
      id: `n-${i}`,
      address: `10.${i >> 8}.${i & 255}.1:80`,
      labels: { role: 'edge' },
    }));
    const { targets, issues } = await loadFile('big.json', JSON.stringify({ targets: many }));
    expect(issues).toEqual([]);
    expect(targets).toHaveLength(10_000);
  });
});

describe('loadInventory: discover', () => {
  it('runs the argv (no shell) in the spec’s folder and parses its JSON', async () => {
    const script = `process.stdout.write(JSON.stringify({targets: [{id: 'cwd', address: process.cwd(), labels: {argv: String(process.argv.length)}}]}))`;
    const { targets, issues } = await discover(script);
    expect(issues).toEqual([]);
    expect(targets).toEqual([{ id: 'cwd', address: join(dir, 'rollouts'), labels: { argv: '1' } }]);
  });

  it('passes arguments as data, never to a shell', async () => {
    const run = [
      process.execPath,
      '-e',
      'console.log(JSON.stringify([{id: "a", address: "x", labels: {arg: process.argv[1]}}]))',
      '$(echo pwned); `id` | cat',
    ];
    const { targets, issues } = await loadInventory(
      { kind: 'discover', run, timeoutMs: 10_000 },
      { baseDir: dir, file: specFile },
    );
    expect(issues).toEqual([]);
    expect(targets[0]!.labels.arg).toBe('$(echo pwned); `id` | cat');
  });

  it('reports a non-zero exit with the command and the end of stderr', async () => {
    const { targets, issues } = await discover(`console.error('inventory API said 503'); process.exit(3)`);
    expect(targets).toEqual([]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: specFile, path: 'inventory.discover', severity: 'error' });
    expect(issues[0]!.message).toContain(process.execPath);
    expect(issues[0]!.message).toContain('exited with code 3; stderr: inventory API said 503');
  });

  it('reports a timeout', async () => {
    const { issues } = await discover('setTimeout(() => {}, 60_000)', 300);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/timed out after 300 ms/);
  });

  it('reports a command that cannot start', async () => {
    const { issues } = await loadInventory(
      { kind: 'discover', run: ['./no-such-inventory-script', '--json'], timeoutMs: 1000 },
      { baseDir: dir, file: specFile },
    );
    expect(issues.map(formatIssue)).toEqual([
      "rollouts/edge.yaml:0:0 inventory.discover: discovery command `./no-such-inventory-script --json` cannot start: ./no-such-inventory-script not found (cwd is the spec's folder; use a path or a command on PATH)",
    ]);
  });

  it('reports output that is not JSON, quoting its start', async () => {
    const { issues } = await discover(`console.log('hosts: a, b')`);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/printed invalid JSON/);
    expect(issues[0]!.got).toBe(JSON.stringify('hosts: a, b'));
  });

  it('reports empty output', async () => {
    const { issues } = await discover('');
    expect(issues[0]!.message).toMatch(/printed nothing/);
  });

  it('reports bad targets in the output with their path and stdout position', async () => {
    const { targets, issues } = await discover(
      `console.log(JSON.stringify([{id: 'a', address: 'x'}, {id: 'b'}], null, 2))`,
    );
    expect(targets).toEqual([{ id: 'a', address: 'x', labels: {} }]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: specFile, line: 0, col: 0, path: 'output[1].address', severity: 'error' });
    expect(issues[0]!.message).toMatch(
      /^is required — in the output of discovery command `.+` \(stdout line 6, column 3\)$/,
    );
  });

  it('reports an empty command', async () => {
    const { issues } = await loadInventory(
      { kind: 'discover', run: [], timeoutMs: 1000 },
      { baseDir: dir, file: specFile },
    );
    expect(issues[0]).toMatchObject({ path: 'inventory.discover.run', severity: 'error' });
  });
});
