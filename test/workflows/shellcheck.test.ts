/**
 * ShellCheck (Debian package `shellcheck`, located or installed by scripts/shellcheck.sh) over
 * every `run:` block of every workflow and composite action, and over the launcher the actions
 * share (actions/lib/fleetgate.sh), each as the bash script the runner would write: GitHub runs
 * `shell: bash` as `bash --noprofile --norc -eo pipefail {0}` and a step without `shell:` on
 * Linux as `bash -e {0}`; our `run:` blocks hold no `${{ }}` (test/workflows/lint.test.ts), so
 * the text checked is the text run.
 *
 * Without shellcheck on a developer machine that is not root the test is skipped with a loud
 * message; as root (CI) the script installs the package, and in CI a missing one fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT, workflowAndActionFiles } from './workflow-files.js';

const SCRIPT = resolve(ROOT, 'scripts/shellcheck.sh');

function locateShellcheck(): string | undefined {
  const check = spawnSync('bash', [SCRIPT, '--check'], { encoding: 'utf8' });
  if (check.status === 0) return check.stdout.trim();
  const root = process.getuid?.() === 0;
  if (root || process.env.CI) {
    const install = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 600_000 });
    if (install.status === 0) return install.stdout.trim();
    if (process.env.CI)
      throw new Error(
        `shellcheck is required in CI and scripts/shellcheck.sh could not provide it:\n${install.stderr}`,
      );
  }
  process.stderr.write(
    `\n${'#'.repeat(80)}\n## SKIPPING the shellcheck test: shellcheck is not installed and this is not root.\n` +
      `## ${check.stderr.split('\n').find((l) => l.includes('Install it with')) ?? 'apt-get install shellcheck'}\n${'#'.repeat(80)}\n`,
  );
  return undefined;
}

type Step = { name?: string; id?: string; run?: string; shell?: string };
type Doc = {
  jobs?: Record<string, { steps?: Step[]; defaults?: { run?: { shell?: string } } }>;
  runs?: { steps?: Step[] };
};

/** Every `run:` block of a workflow or action file, with where it is and the shell GitHub would run it with. */
export function runBlocks(path: string, text: string): { where: string; shell: string; script: string }[] {
  const doc = parse(text) as Doc & { defaults?: { run?: { shell?: string } } };
  const out: { where: string; shell: string; script: string }[] = [];
  const add = (where: string, steps: Step[] | undefined, shellDefault: string | undefined) => {
    for (const [i, s] of (steps ?? []).entries()) {
      if (typeof s.run !== 'string') continue;
      out.push({
        where: [path, where, `step ${s.id ?? s.name ?? i + 1}`].filter(Boolean).join(' '),
        shell: s.shell ?? shellDefault ?? 'bash',
        script: s.run,
      });
    }
  };
  if (doc.runs) add('', doc.runs.steps, undefined);
  for (const [name, job] of Object.entries(doc.jobs ?? {}))
    add(`job ${name}`, job.steps, job.defaults?.run?.shell ?? doc.defaults?.run?.shell);
  return out;
}

/** The script file the runner would write for a block (the options GitHub's bash invocations set). */
function asScript(block: { shell: string; script: string }): string {
  const options = block.shell === 'bash' ? 'set -eo pipefail' : 'set -e';
  return `#!/usr/bin/env bash\n${options}\n${block.script}`;
}

const shellcheck = locateShellcheck();
const files = workflowAndActionFiles();
const blocks = files.flatMap((f) => runBlocks(f.path, f.text));
const launchers = readdirSync(join(ROOT, 'actions/lib'))
  .filter((n) => n.endsWith('.sh'))
  .map((n) => join('actions/lib', n));

function check(path: string): string[] {
  const r = spawnSync(shellcheck!, ['--shell=bash', '--severity=style', '--format=gcc', path], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

describe.skipIf(!shellcheck)('shellcheck over every run: block', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-shellcheck-'));

  it('sees the run: blocks of the workflows and the actions', () => {
    expect(blocks.filter((b) => b.where.startsWith('actions/')).length).toBeGreaterThanOrEqual(18);
    expect(blocks.filter((b) => !b.where.startsWith('actions/')).length).toBeGreaterThanOrEqual(10);
    expect(blocks.every((b) => b.shell === 'bash')).toBe(true);
  });

  it.each(blocks.map((b, i) => [b.where, b, i] as const))('%s', (_where, block, i) => {
    const file = join(dir, `block-${i}.sh`);
    writeFileSync(file, asScript(block));
    // Lines are the block's own (the two header lines taken off).
    const findings = check(file).map((l) =>
      l.replace(/^[^:]+:(\d+):(\d+): /, (_m, line: string, col: string) => `line ${Number(line) - 2}:${col}: `),
    );
    expect(findings, block.script).toEqual([]);
  });

  it.each(launchers)('%s', (path) => {
    expect(check(join(ROOT, path))).toEqual([]);
  });

  it('does report problems (shellcheck is really running)', () => {
    const file = join(dir, 'bad.sh');
    writeFileSync(file, asScript({ shell: 'bash', script: 'files=$(ls *.yaml)\nfor f in $files; do echo $f; done\n' }));
    expect(check(file).join('\n')).toMatch(/SC2086/);
  });
});
