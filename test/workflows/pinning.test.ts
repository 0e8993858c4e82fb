/**
 * No moving tags inside the reusable workflow (issue 12, item 2): in the source every `uses:`
 * of our own actions in rollout.yml names one repository and one ref; the release step rewrites
 * all of them to the release's bundled commit in the releasing repository (scripts/pin-actions.mjs),
 * checks the result, and tags the commit holding the pins; and a moving ref is refused.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './workflow-files.js';

const SCRIPT = join(ROOT, 'scripts/pin-actions.mjs');
const OWN = /^\s*(?:-\s+)?uses:\s*([^/\s]+\/[^/\s]+)\/actions\/([a-z0-9-]+)@(\S+)/;

function ownUses(text: string): { line: number; repo: string; action: string; ref: string }[] {
  return text.split('\n').flatMap((l, i) => {
    const m = OWN.exec(l);
    return m ? [{ line: i + 1, repo: m[1]!, action: m[2]!, ref: m[3]! }] : [];
  });
}

function pin(args: string[], file: string) {
  return spawnSync(process.execPath, [SCRIPT, ...args, file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

function copyOfRollout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-pin-'));
  const file = join(dir, 'rollout.yml');
  copyFileSync(join(ROOT, '.github/workflows/rollout.yml'), file);
  return file;
}

const SHA = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';

describe('our own actions in rollout.yml', () => {
  const source = readFileSync(join(ROOT, '.github/workflows/rollout.yml'), 'utf8');

  it('all name one repository and one ref in the source', () => {
    const uses = ownUses(source);
    expect(uses.length).toBeGreaterThanOrEqual(8);
    expect(new Set(uses.map((u) => `${u.repo}@${u.ref}`))).toEqual(new Set(['fleetgate/fleetgate@v1']));
  });

  it('are rewritten to the release commit in the releasing repository, nothing else changed', () => {
    const file = copyOfRollout();
    const r = pin(['--repository', 'acme/fleetgate-fork', '--ref', SHA], file);
    expect(r.status, r.stderr).toBe(0);
    const pinned = readFileSync(file, 'utf8');
    const uses = ownUses(pinned);
    expect(uses).toHaveLength(ownUses(source).length);
    for (const u of uses) expect(`${u.repo}@${u.ref}`).toBe(`acme/fleetgate-fork@${SHA}`);
    expect(pinned).not.toMatch(/fleetgate\/fleetgate\/actions\/[a-z-]+@v1/);
    // Every other line is untouched.
    const before = source.split('\n');
    const after = pinned.split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.flatMap((l, i) => (l === before[i] ? [] : [i + 1]));
    expect(changed).toEqual(ownUses(source).map((u) => u.line));
    expect(pin(['--repository', 'acme/fleetgate-fork', '--ref', SHA, '--check'], file).status).toBe(0);
  });

  it('--check fails on the source (a moving tag), and a moving ref is refused', () => {
    const check = pin(['--repository', 'fleetgate/fleetgate', '--ref', SHA, '--check'], copyOfRollout());
    expect(check.status).toBe(1);
    expect(check.stderr).toMatch(/fleetgate\/fleetgate\/actions\/plan@v1 is not fleetgate\/fleetgate@a{8}/);
    for (const ref of ['v1', 'main', 'abc123'])
      expect(pin(['--ref', ref], copyOfRollout()).stderr).toMatch(/full commit sha or a version tag/);
    expect(pin(['--ref', 'v1.2.3', '--repository', 'acme/x'], copyOfRollout()).status).toBe(0);
  });
});

describe('the release workflow', () => {
  const doc = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8')) as {
    jobs: Record<string, { steps: { run?: string; uses?: string; with?: Record<string, string> }[] }>;
  };
  const steps = Object.values(doc.jobs).flatMap((j) => j.steps);
  const script = steps.map((s) => s.run ?? '').join('\n');

  it('pins rollout.yml to the bundled commit, checks it, commits it, and only then tags', () => {
    const at = (needle: string) => script.indexOf(needle);
    const bundle = at('git commit --quiet -m "Release v$VERSION (bundled dist/)"');
    const sha = at('bundled="$(git rev-parse HEAD)"');
    const pinning = at('node scripts/pin-actions.mjs --repository "$REPOSITORY" --ref "$bundled"\n');
    const check = at('--ref "$bundled" --check');
    const commit = at('git add .github/workflows/rollout.yml');
    const tag = at('git tag "v$VERSION"');
    for (const i of [bundle, sha, pinning, check, commit, tag]) expect(i).toBeGreaterThanOrEqual(0);
    expect([bundle, sha, pinning, check, commit, tag]).toEqual(
      [...[bundle, sha, pinning, check, commit, tag]].sort((a, b) => a - b),
    );
    const env = steps.find((s) => s.run?.includes('pin-actions')) as { env?: Record<string, string> } | undefined;
    expect(env?.env?.REPOSITORY).toBe('${{ github.repository }}');
  });

  it('pushes with a token that may push a workflow change', () => {
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkout?.with?.token).toBe('${{ secrets.FLEETGATE_RELEASE_TOKEN }}');
  });
});
