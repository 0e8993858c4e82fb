/**
 * Drift and hygiene of the composite actions: README tables match action.yml,
 * every input reaches the scripts through `env:` (composite actions get no
 * `INPUT_*` variables) and never as `${{ }}` inside `run:`, third-party actions
 * are pinned by full commit SHA, and an input that is not forwarded is caught —
 * statically and by running the action.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { actionNames, between, inputsTable, outputsTable } from './readme.js';
import { ACTIONS_DIR, readAction, runAction, type ActionMetadata } from './runner.js';

/** Inputs that no step forwards: not in any `env:` value, nor in a `uses:` step's `with:`. */
export function unforwardedInputs(a: ActionMetadata): string[] {
  const forwarded = new Set<string>();
  for (const step of a.runs.steps) {
    const values = [...Object.values(step.env ?? {}), ...(step.uses ? Object.values(step.with ?? {}) : [])];
    for (const v of values)
      for (const m of String(v).matchAll(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g)) forwarded.add(m[1]!);
  }
  return Object.keys(a.inputs ?? {}).filter((k) => !forwarded.has(k));
}

const names = actionNames();

describe('composite actions', () => {
  it('include every stage of the rollout workflow', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'validate',
        'plan',
        'preflight',
        'wave',
        'analyze',
        'decide',
        'rollback',
        'commit-state',
      ]),
    );
  });

  describe.each(names)('%s', (name) => {
    const a = readAction(name);
    const raw = readFileSync(join(ACTIONS_DIR, name, 'action.yml'), 'utf8');
    const readme = readFileSync(join(ACTIONS_DIR, name, 'README.md'), 'utf8');

    it('is composite and runs bash steps through the bundled CLI, by the one launcher the actions share', () => {
      expect(a.runs.using).toBe('composite');
      for (const step of a.runs.steps) {
        if (step.uses) continue;
        expect(step.shell).toBe('bash');
        expect(step.run).toContain('bash "$GITHUB_ACTION_PATH/../lib/fleetgate.sh"');
        // No copy of the launcher's "find dist/cli.js" block (issue 12, Also).
        expect(step.run).not.toContain('dist/cli.js');
      }
    });

    it('forwards every input through env and never interpolates inside run', () => {
      expect(unforwardedInputs(a)).toEqual([]);
      for (const step of a.runs.steps) expect(step.run ?? '').not.toMatch(/\$\{\{/);
    });

    it('brings its own Node, pinned by full commit SHA', () => {
      const uses = [...raw.matchAll(/uses:\s*(\S+)(.*)$/gm)];
      expect(uses.length).toBeGreaterThan(0);
      for (const [, ref, comment] of uses) {
        expect(ref).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/);
        expect(comment).toMatch(/# v\d/);
      }
      expect(raw).toContain('actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4');
    });

    it('has a README whose tables match action.yml and which names the permissions', () => {
      expect(between(readme, 'inputs')).toBe(inputsTable(a));
      expect(between(readme, 'outputs')).toBe(outputsTable(a));
      expect(readme).toMatch(/## Permissions[\s\S]*permissions:/);
      expect(readme).toMatch(/## Usage/);
    });

    it('maps every output to a step output', () => {
      for (const [key, out] of Object.entries(a.outputs ?? {})) {
        const m = /^\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}$/.exec(out.value);
        expect(m, `${name} output ${key}`).not.toBeNull();
        expect(a.runs.steps.some((s) => s.id === m![1])).toBe(true);
      }
    });
  });
});

describe('an input that is not forwarded', () => {
  function mutated(name: string, drop: string): string {
    const root = mkdtempSync(join(tmpdir(), 'fleetgate-mutant-'));
    mkdirSync(join(root, 'actions'));
    cpSync(join(ACTIONS_DIR, name), join(root, 'actions', name), { recursive: true });
    cpSync(join(ACTIONS_DIR, 'lib'), join(root, 'actions', 'lib'), { recursive: true });
    symlinkSync(resolve(ACTIONS_DIR, '../dist'), join(root, 'dist'));
    const file = join(root, 'actions', name, 'action.yml');
    const a = parse(readFileSync(file, 'utf8')) as ActionMetadata;
    for (const step of a.runs.steps) delete step.env?.[drop];
    writeFileSync(file, stringify(a));
    return join(root, 'actions');
  }

  it('is caught by the forwarding check', () => {
    const dir = mutated('validate', 'FLEETGATE_SPECS');
    expect(unforwardedInputs(readAction('validate', dir))).toEqual(['specs']);
  });

  it('never reaches the script: there are no INPUT_* variables in a composite action', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'fleetgate-ws-'));
    mkdirSync(join(workspace, 'specs'));
    writeFileSync(join(workspace, 'specs', 'bad.yaml'), 'apiVersion: fleetgate/v1alpha1\nkind: Rollout\n');
    const good = await runAction('validate', { workspace, with: { specs: 'specs/bad.yaml', 'node-version': '' } });
    expect(good.exitCode).toBe(1);
    expect(good.outputs.specs).toBe('["specs/bad.yaml"]');
    const broken = await runAction('validate', {
      workspace,
      with: { specs: 'specs/bad.yaml', 'node-version': '' },
      actionsDir: mutated('validate', 'FLEETGATE_SPECS'),
    });
    // The script never saw the input: it validated nothing and passed — the failure the check prevents.
    expect(broken.exitCode).toBe(0);
    expect(broken.outputs.specs).toBe('[]');
  });
});

describe('actions/lib/fleetgate.sh, the launcher every action runs the CLI through', () => {
  it('says what to do when dist/cli.js is missing (a branch instead of a release tag)', () => {
    const root = mkdtempSync(join(tmpdir(), 'fleetgate-nodist-'));
    cpSync(join(ACTIONS_DIR, 'lib'), join(root, 'actions', 'lib'), { recursive: true });
    const r = spawnSync('bash', [join(root, 'actions', 'lib', 'fleetgate.sh'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^::error title=fleetgate::dist\/cli\.js is missing next to this action: use a release tag/,
    );
  });

  it('runs the bundled CLI with its arguments, and its exit code', () => {
    const ok = spawnSync('bash', [join(ACTIONS_DIR, 'lib', 'fleetgate.sh'), '--help'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/fleetgate/);
    const bad = spawnSync('bash', [join(ACTIONS_DIR, 'lib', 'fleetgate.sh'), 'validate', '/nonexistent.yaml'], {
      encoding: 'utf8',
    });
    expect(bad.status).not.toBe(0);
  });
});
