/**
 * Which specs a workflow run is about, against a real git repository (issue 12, items 9
 * and 10): a push of several commits misses none, a new branch (all-zero `before`) takes
 * every spec, a shallow clone fetches the `before` commit, and files under rollouts/ that
 * are not `kind: Rollout` (inventories, state files) are never taken for specs.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectSpecs, ZERO_SHA } from '../../src/github/specs.js';
import { gitIn } from '../helpers/git.js';

const spec = (name: string, version = '1.0.0') =>
  `apiVersion: fleetgate/v1alpha1\nkind: Rollout\nname: ${name}\ncomponent: c\nversion: ${version}\n`;

function repo() {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-specs-'));
  const git = (...args: string[]) => gitIn(dir, ...args).trim();
  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const commit = (message: string) => {
    git('add', '-A');
    git('commit', '--quiet', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  git('init', '--quiet', '--initial-branch=main');
  write('rollouts/a.yaml', spec('a'));
  write('rollouts/b.yaml', spec('b'));
  write('rollouts/examples/inventory/vms.yaml', 'targets:\n  - { id: vm-1, address: 10.0.0.1 }\n');
  write('rollouts/a.state.yaml', 'name: a\nrevision: 1\nphase: Healthy\n');
  const first = commit('initial');
  return { dir, git, write, commit, first };
}

describe('selectSpecs', () => {
  it('push of several commits: every spec changed between before and after, not only in the last commit', async () => {
    const r = repo();
    r.write('rollouts/a.yaml', spec('a', '1.1.0'));
    r.commit('a to 1.1.0');
    r.write('README.md', 'docs\n');
    const after = r.commit('unrelated');

    const got = await selectSpecs({ event: 'push', before: r.first, after, cwd: r.dir });

    expect(got.specs).toEqual(['rollouts/a.yaml']);
    expect(got.how).toMatch(/changed by the push/);
  });

  it('a push that creates the branch (before all zeros): every spec, never an inventory or a state file', async () => {
    const r = repo();
    const got = await selectSpecs({ event: 'push', before: ZERO_SHA, after: r.first, cwd: r.dir });
    expect(got.specs).toEqual(['rollouts/a.yaml', 'rollouts/b.yaml']);
    expect(got.skipped.map((x) => [x.path, x.why.split(' (')[0]])).toEqual([
      ['rollouts/a.state.yaml', 'a state file'],
      ['rollouts/examples/inventory/vms.yaml', 'kind is missing, not Rollout'],
    ]);
  });

  it('a shallow clone (fetch-depth 1) fetches the commit before the push to diff against it', async () => {
    const r = repo();
    r.write('rollouts/b.yaml', spec('b', '2.0.0'));
    r.commit('b');
    r.write('rollouts/examples/inventory/vms.yaml', 'targets: []\n');
    const after = r.commit('inventory');
    const clone = mkdtempSync(join(tmpdir(), 'fleetgate-specs-clone-'));
    gitIn(clone, 'clone', '--quiet', '--depth=1', `file://${r.dir}`, '.');

    const got = await selectSpecs({ event: 'push', before: r.first, after, cwd: clone });

    expect(got.specs).toEqual(['rollouts/b.yaml']);
    expect(got.skipped.map((s) => s.path)).toEqual(['rollouts/examples/inventory/vms.yaml']);
  });

  it('a before that cannot be found (a force push over it): every spec, and says why', async () => {
    const r = repo();
    const got = await selectSpecs({ event: 'push', before: 'f'.repeat(40), after: r.first, cwd: r.dir });
    expect(got.specs).toEqual(['rollouts/a.yaml', 'rollouts/b.yaml']);
    expect(got.how).toMatch(/not reachable/);
  });

  it('pull request: the specs the merge commit changes', async () => {
    const r = repo();
    r.write('rollouts/b.yaml', spec('b', '1.2.0'));
    r.commit('b');
    const got = await selectSpecs({ event: 'pull_request', cwd: r.dir });
    expect(got.specs).toEqual(['rollouts/b.yaml']);
  });

  it('dispatch: the input, refused when it is not a spec path under rollouts/', async () => {
    const r = repo();
    expect((await selectSpecs({ event: 'workflow_dispatch', input: 'rollouts/b.yaml', cwd: r.dir })).specs).toEqual([
      'rollouts/b.yaml',
    ]);
    for (const bad of ['../etc/passwd.yaml', 'rollouts/../x.yaml', 'rollouts/a.yaml; rm -rf /', 'other/a.yaml'])
      await expect(selectSpecs({ event: 'workflow_dispatch', input: bad, cwd: r.dir })).rejects.toThrow(
        /under rollouts/,
      );
  });

  it('schedule: every spec', async () => {
    const r = repo();
    expect((await selectSpecs({ event: 'schedule', cwd: r.dir })).specs).toEqual([
      'rollouts/a.yaml',
      'rollouts/b.yaml',
    ]);
  });
});
