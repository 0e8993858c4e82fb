/**
 * Workflow policy, beyond actionlint: every workflow declares `permissions`
 * (and grants no write at the top), third-party actions are pinned by full
 * commit SHA with a `# vN` comment, no `pull_request_target` or `workflow_run`,
 * no `${{ }}` inside `run:` (untrusted data — event fields, dispatch inputs —
 * reaches scripts only through `env:`), and checkouts in jobs that do not push
 * keep no credentials.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { workflowAndActionFiles, type YamlFile } from './workflow-files.js';

type Job = {
  permissions?: Record<string, string> | string;
  steps?: Step[];
  uses?: string;
};
type Step = { uses?: string; run?: string; with?: Record<string, unknown> };

/** Policy violations of one file (empty when it is fine). */
export function checkWorkflowPolicy(file: Pick<YamlFile, 'path' | 'text' | 'kind'>): string[] {
  const problems: string[] = [];
  const doc = parse(file.text) as {
    on?: unknown;
    permissions?: Record<string, string> | string;
    jobs?: Record<string, Job>;
    runs?: { steps?: Step[] };
  };
  // Pinning: every `uses:` line that is not local (./) or Fleetgate's own release tag.
  for (const [i, line] of file.text.split('\n').entries()) {
    const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (!m) continue;
    const [, ref, rest] = m as unknown as [string, string, string];
    if (ref.startsWith('./') || ref.startsWith('fleetgate/fleetgate/')) continue;
    if (!/@[0-9a-f]{40}$/.test(ref)) problems.push(`${file.path}:${i + 1}: ${ref} is not pinned by a full commit SHA`);
    else if (!/#\s*v\d/.test(rest)) problems.push(`${file.path}:${i + 1}: ${ref} needs a "# vN" comment`);
  }
  const steps: { job: string; step: Step; job_: Job | undefined }[] = [];
  if (file.kind === 'workflow') {
    const on = doc.on;
    const events = typeof on === 'string' ? [on] : Array.isArray(on) ? (on as string[]) : Object.keys(on ?? {});
    for (const e of ['pull_request_target', 'workflow_run'])
      if (events.includes(e)) problems.push(`${file.path}: uses ${e} (runs with a write token on untrusted input)`);
    if (doc.permissions === undefined) problems.push(`${file.path}: no top-level permissions`);
    const top = typeof doc.permissions === 'object' ? Object.values(doc.permissions) : [doc.permissions];
    if (top.some((v) => v === 'write' || v === 'write-all'))
      problems.push(`${file.path}: top-level permissions grant write; grant it on the job that needs it`);
    for (const [name, job] of Object.entries(doc.jobs ?? {})) {
      for (const step of job.steps ?? []) steps.push({ job: name, step, job_: job });
    }
  } else {
    for (const step of doc.runs?.steps ?? []) steps.push({ job: 'action', step, job_: undefined });
  }
  for (const { job, step, job_ } of steps) {
    if (step.run && /\$\{\{/.test(step.run))
      problems.push(`${file.path}: job ${job}: \${{ }} inside run: pass it through env:`);
    if (step.uses?.startsWith('actions/checkout@') && job_) {
      const perms = job_.permissions ?? doc.permissions;
      const writes = typeof perms === 'object' && perms.contents === 'write';
      const persist = step.with?.['persist-credentials'];
      if (!writes && persist !== false)
        problems.push(`${file.path}: job ${job}: checkout keeps credentials (persist-credentials: false)`);
    }
  }
  return problems;
}

describe('workflow policy', () => {
  it.each(workflowAndActionFiles().map((f) => [f.path, f] as const))('%s follows it', (_p, file) => {
    expect(checkWorkflowPolicy(file)).toEqual([]);
  });

  it('catches what it forbids', () => {
    const bad = `on: pull_request_target
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: some/action@0123456789abcdef0123456789abcdef01234567
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: echo "\${{ inputs.reason }}"
`;
    const problems = checkWorkflowPolicy({ path: 'bad.yml', text: bad, kind: 'workflow' }).join('\n');
    expect(problems).toMatch(/pull_request_target/);
    expect(problems).toMatch(/no top-level permissions/);
    expect(problems).toMatch(/actions\/checkout@v4 is not pinned/);
    expect(problems).toMatch(/needs a "# vN" comment/);
    expect(problems).toMatch(/\$\{\{ \}\} inside run/);
    expect(problems).toMatch(/persist-credentials/);
  });
});
