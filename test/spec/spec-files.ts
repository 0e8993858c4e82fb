/**
 * Finds the spec files the tests validate: fixtures and every YAML file under `rollouts/`, which is
 * a spec unless it is one of the inventories listed here (state files are skipped).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const FIXTURES = join(ROOT, 'test/fixtures/specs');

/** Path relative to the repository root, with forward slashes (how issues name files). */
export function repoPath(absolute: string): string {
  return relative(ROOT, absolute).split('\\').join('/');
}

function walk(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** `*.yaml` files of a fixture folder (`valid` or `invalid`), sorted. */
export function fixtureFiles(kind: 'valid' | 'invalid'): string[] {
  return walk(join(FIXTURES, kind))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

/**
 * The YAML files under `rollouts/` that are not specs: inventories, validated as inventories by
 * test/spec/fixtures.test.ts. Every other YAML file there is a spec and must pass as one — a file
 * that does not parse, or is not a spec, fails the suite instead of being skipped.
 */
export const ROLLOUT_INVENTORIES: readonly string[] = [
  'rollouts/examples/inventory/haproxy-fleet.yaml',
  'rollouts/examples/inventory/vms.yaml',
];

/** Every `rollouts/**` YAML file, sorted; `*.state.yaml` (written by the tool, not by people) left out. */
export function rolloutYamlFiles(): string[] {
  return walk(join(ROOT, 'rollouts'))
    .filter((f) => /\.ya?ml$/.test(f) && !/\.state\.ya?ml$/.test(f))
    .sort();
}

/**
 * Every `rollouts/**` YAML file that is not a listed inventory ({@link ROLLOUT_INVENTORIES}): each must
 * be a valid spec. Nothing is filtered by content, so a broken example is a failing test, not a missing one.
 */
export function rolloutSpecFiles(): string[] {
  return rolloutYamlFiles().filter((f) => !ROLLOUT_INVENTORIES.includes(repoPath(f)));
}
