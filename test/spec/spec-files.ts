/**
 * Finds the spec files the tests validate: fixtures and every rollout spec
 * under `rollouts/` (state files and inventories are skipped).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

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

/** Every `rollouts/**` YAML file that holds a spec (`kind: Rollout`), skipping `*.state.yaml` and inventories. */
export function rolloutSpecFiles(): string[] {
  return walk(join(ROOT, 'rollouts'))
    .filter((f) => /\.ya?ml$/.test(f) && !/\.state\.ya?ml$/.test(f))
    .filter((f) => {
      try {
        const data: unknown = parse(readFileSync(f, 'utf8'));
        return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'Rollout';
      } catch {
        return false;
      }
    })
    .sort();
}
