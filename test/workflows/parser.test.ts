/**
 * GitHub's own workflow parser (`@actions/workflow-parser`, the schema and expression checks
 * the Actions service and the VS Code extension use) over every workflow we ship, as well as
 * actionlint: it is GitHub's own reading of the schema and the expressions.
 */
import { readFileSync } from 'node:fs';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { workflowAndActionFiles } from './workflow-files.js';

async function problems(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const out = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) out.push(e.Message);
  }
  return out;
}

const workflows = workflowAndActionFiles().filter((f) => f.kind === 'workflow');

describe("GitHub's workflow parser", () => {
  it('sees the workflows', () => expect(workflows.length).toBeGreaterThanOrEqual(7));

  it.each(workflows.map((f) => [f.path, f] as const))('accepts %s', async (_path, file) => {
    expect(await problems(file.path, readFileSync(file.path, 'utf8'))).toEqual([]);
  });

  it('does refuse a broken workflow (the parser is really running)', async () => {
    const bad = `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    timeout-minutes: soon
    steps:
      - run: echo "\${{ nope.x }}"
        shell: bash
        wat: 1
`;
    const found = (await problems('bad.yml', bad)).join('\n');
    expect(found).toMatch(/nope/);
    expect(found).toMatch(/wat/);
  });
});
