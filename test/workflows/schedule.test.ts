/**
 * The example rollout workflow's schedule (issue 12, item 8): at most hourly, off the full
 * hour, and its `specs` step skips idle specs on schedule ticks only, so a tick with nothing to
 * do costs one short job and calls the reusable workflow for no spec.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './workflow-files.js';

type Step = { uses?: string; with?: Record<string, unknown> };
const doc = parse(readFileSync(join(ROOT, 'examples/workflows/fleetgate-rollout.yml'), 'utf8')) as {
  on: { schedule: { cron: string }[] };
  jobs: Record<string, { needs?: string; if?: string; uses?: string; steps?: Step[] }>;
};

describe('the example schedule', () => {
  it('ticks at most once an hour, not at minute 0', () => {
    expect(doc.on.schedule).toHaveLength(1);
    const [minute, hour] = doc.on.schedule[0]!.cron.split(/\s+/);
    expect(minute).toMatch(/^\d+$/);
    expect(Number(minute)).not.toBe(0);
    expect(hour).toBe('*');
  });

  it('skips idle specs on schedule ticks, before the reusable workflow is called', () => {
    const step = doc.jobs.specs!.steps!.find((s) => s.uses?.includes('/actions/specs@'));
    expect(step?.with?.['skip-idle']).toBe("${{ github.event_name == 'schedule' }}");
    const rollout = doc.jobs.rollout!;
    expect(rollout.needs).toBe('specs');
    expect(rollout.if).toBe("needs.specs.outputs.specs != '[]'");
    expect(rollout.uses).toMatch(/\/\.github\/workflows\/rollout\.yml@/);
  });
});

describe('docs/github.md', () => {
  it('writes down what the schedule costs', () => {
    const doc = readFileSync(join(ROOT, 'docs/github.md'), 'utf8');
    expect(doc).toMatch(/^## What the schedule costs$/m);
    expect(doc).toMatch(/rounded \*\*up to a whole\s+minute\*\*/);
    expect(doc).toMatch(/\| hourly, idle specs skipped \(now\) \| 720 \|/);
  });
});
