/**
 * GitHub shows at most 10 error and 10 warning annotations per step and drops the rest
 * without a word (issue 12, item 12). The validate action, run as the runner runs it, on
 * two specs with 14 problems between them: nine errors annotated at their lines, a tenth
 * saying how many more, and every problem in the job summary.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAction } from './runner.js';
import { annotations } from './scenario.js';

/** A spec with `n` unknown fields (one error each). */
function badSpec(name: string, n: number): string {
  const unknown = Array.from({ length: n }, (_, i) => `unknownField${i}: 1\n`).join('');
  return `apiVersion: fleetgate/v1alpha1\nkind: Rollout\nname: ${name}\ncomponent: c\nversion: 1.0.0\ninventory: { targets: [{ id: a, address: 'a:1' }] }\nsteps:\n  version: { run: [v] }\n  upgrade: { run: [u] }\n  verify: { run: [h] }\n${unknown}`;
}

describe('annotations over the per-step cap', () => {
  it('annotates nine errors, a tenth with the count of the rest, and lists all of them in the summary', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'fleetgate-ws-'));
    mkdirSync(join(workspace, 'rollouts'));
    writeFileSync(join(workspace, 'rollouts', 'a.yaml'), badSpec('a', 8));
    writeFileSync(join(workspace, 'rollouts', 'b.yaml'), badSpec('b', 6));

    const run = await runAction('validate', {
      workspace,
      with: { specs: 'rollouts/a.yaml\nrollouts/b.yaml', 'node-version': '' },
    });

    expect(run.exitCode).toBe(1);
    const errors = annotations(run).filter((l) => l.startsWith('::error'));
    expect(errors).toHaveLength(10);
    expect(errors.slice(0, 9).every((l) => /file=rollouts\/[ab]\.yaml,line=\d+/.test(l))).toBe(true);
    expect(errors[9]).toMatch(/5 more error\(s\) not annotated .*job summary/);
    const listed = run.summary.split('\n').filter((l) => /^- error `rollouts\/[ab]\.yaml:\d+:\d+`/.test(l));
    expect(listed).toHaveLength(14);
  });
});
