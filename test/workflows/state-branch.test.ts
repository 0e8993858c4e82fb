/**
 * One setting for where the state lives (issue 12, item 5): every example workflow that calls
 * a Fleetgate action or the reusable workflow taking `state-branch` passes the same repository
 * variable, so decide, rollback and the PR plan act on the state the rollout wrote, not on the
 * default branch's stale or missing copy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const VARIABLE = '${{ vars.FLEETGATE_STATE_BRANCH }}';

type Step = { uses?: string; with?: Record<string, unknown> };
type Job = { uses?: string; with?: Record<string, unknown>; steps?: Step[] };

/** Whether what `uses` names takes a `state-branch` input. */
function takesStateBranch(uses: string): boolean {
  const action = /^fleetgate\/fleetgate\/actions\/([a-z-]+)@/.exec(uses);
  const file = action
    ? join(ROOT, 'actions', action[1]!, 'action.yml')
    : /^fleetgate\/fleetgate\/\.github\/workflows\/rollout\.yml@/.test(uses)
      ? join(ROOT, '.github/workflows/rollout.yml')
      : undefined;
  if (!file) return false;
  const doc = parse(readFileSync(file, 'utf8')) as {
    inputs?: Record<string, unknown>;
    on?: { workflow_call?: { inputs?: Record<string, unknown> } };
  };
  return 'state-branch' in (doc.inputs ?? doc.on?.workflow_call?.inputs ?? {});
}

const examples = readdirSync(join(ROOT, 'examples/workflows')).filter((f) => f.endsWith('.yml'));

describe('state-branch in every example workflow', () => {
  it.each(examples)('%s passes the repository variable wherever state-branch is taken', (name) => {
    const doc = parse(readFileSync(join(ROOT, 'examples/workflows', name), 'utf8')) as { jobs: Record<string, Job> };
    const missing: string[] = [];
    let calls = 0;
    for (const [jobName, job] of Object.entries(doc.jobs)) {
      const users: { uses?: string; with?: Record<string, unknown>; where: string }[] = [
        { ...job, where: `job ${jobName}` },
        ...(job.steps ?? []).map((s, i) => ({ ...s, where: `job ${jobName} step ${i + 1}` })),
      ];
      for (const u of users) {
        if (!u.uses || !takesStateBranch(u.uses)) continue;
        calls++;
        if (u.with?.['state-branch'] !== VARIABLE) missing.push(`${u.where} (${u.uses})`);
      }
    }
    expect(missing).toEqual([]);
    expect(calls).toBeGreaterThan(0);
  });
});
