/**
 * Every spec under rollouts/ and test/fixtures/specs/ is validated here.
 * Invalid fixtures carry their expected issues, rendered, one per line, in
 * `<case>.expected.txt`; a valid fixture may carry the warnings it expects.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec, readSpecFile } from '../../src/spec/parse.js';
import { fixtureFiles, repoPath, ROLLOUT_INVENTORIES, rolloutSpecFiles, rolloutYamlFiles, ROOT } from './spec-files.js';

function expectedLines(yamlPath: string): string[] | undefined {
  const path = yamlPath.replace(/\.yaml$/, '.expected.txt');
  if (!existsSync(path)) return undefined;
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

describe('valid fixtures', () => {
  const files = fixtureFiles('valid');
  it('exist', () => expect(files.length).toBeGreaterThanOrEqual(3));
  it.each(files.map((f) => [repoPath(f), f]))('%s parses with exactly the expected warnings', (name, file) => {
    const result = parseSpec(readFileSync(file, 'utf8'), name);
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([]);
    expect(result.warnings.map(formatIssue)).toEqual(expectedLines(file) ?? []);
  });
});

describe('invalid fixtures', () => {
  const files = fixtureFiles('invalid');
  it('exist, each with its expected issues', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) expect(expectedLines(file), `${repoPath(file)} needs a .expected.txt`).toBeDefined();
  });
  it.each(files.map((f) => [repoPath(f), f]))('%s reports exactly the expected issues', (name, file) => {
    const result = parseSpec(readFileSync(file, 'utf8'), name);
    expect(result.ok).toBe(false);
    const rendered = [...(result.ok ? [] : result.errors), ...result.warnings].map(formatIssue);
    expect(rendered).toEqual(expectedLines(file));
  });
});

describe('the fixture with many mistakes', () => {
  const name = 'test/fixtures/specs/invalid/many-mistakes.yaml';
  const result = parseSpec(readFileSync(name, 'utf8'), name);
  const errors = result.ok ? [] : result.errors;

  it.each([
    ['bad semver', 'version', 6, 10],
    ['bad size', 'tiers[0].strategy.canary', 16, 15],
    ['bad percent', 'tiers[0].strategy.waves', 17, 14],
    ['unknown key', 'tiers[0].strategy.maxUnavaliable', 18, 7],
    ['bad duration', 'tiers[0].strategy.observe', 19, 16],
    ['wrong type', 'tiers[0].strategy.quorum', 20, 15],
    ['unknown template placeholder', 'steps.upgrade.run[1]', 23, 25],
    ['negative count', 'steps.verify.retries', 24, 74],
  ] as const)('reports the %s at %s with line and column', (_what, path, line, col) => {
    const found = errors.find((e) => e.path === path);
    expect(found, `no issue at ${path}`).toBeDefined();
    expect([found!.line, found!.col]).toEqual([line, col]);
    expect(found!.expected).toBeDefined();
  });
});

describe('rollout specs under rollouts/', () => {
  const files = rolloutSpecFiles();
  it('include the examples', () => {
    const names = files.map(repoPath);
    for (const example of ['vm-ssh', 'http-agents', 'quorum'])
      expect(names).toContain(`rollouts/examples/${example}.yaml`);
  });
  it.each(files.map((f) => [repoPath(f), f]))('%s is valid and warning-free', async (name, file) => {
    const result = await readSpecFile(file);
    expect(result.ok ? [] : result.errors.map(formatIssue), name).toEqual([]);
    expect(result.warnings.map(formatIssue)).toEqual([]);
  });
});

describe('inventories under rollouts/', () => {
  const present = rolloutYamlFiles().map(repoPath);
  it('are all listed, and every listed one exists (any other YAML file there is a spec)', () => {
    for (const name of ROLLOUT_INVENTORIES) expect(present, `${name} is listed but missing`).toContain(name);
    expect(rolloutSpecFiles().length + ROLLOUT_INVENTORIES.length).toBe(present.length);
  });
  it.each(ROLLOUT_INVENTORIES.map((name) => [name]))('%s is a valid inventory with targets', async (name) => {
    const loaded = await loadInventory({ kind: 'file', path: name }, { baseDir: ROOT, file: 'inventory-check.yaml' });
    expect(loaded.issues.map(formatIssue)).toEqual([]);
    expect(loaded.targets.length).toBeGreaterThan(0);
  });
});

describe('docs/spec.md', () => {
  const text = readFileSync(join(ROOT, 'docs/spec.md'), 'utf8');
  const specs = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((block) => /^kind: Rollout/m.test(block));
  it('has an annotated spec', () => expect(specs.length).toBeGreaterThanOrEqual(1));
  it.each(specs.map((s, i) => [i, s]))('spec block %d is valid and warning-free', (_i, block) => {
    const result = parseSpec(block, 'docs/spec.md');
    expect([...(result.ok ? [] : result.errors), ...result.warnings].map(formatIssue)).toEqual([]);
  });
});
