/**
 * docs/github.md does not mislead (issue 12, item 7): what *Prevent self-review* does not
 * cover in runs Fleetgate dispatches or schedules, that reviewers and wait timers are
 * unavailable (not "silently not enforced") on some plans, and that under `pull_request` a
 * fork's code can reach a self-hosted runner. The old claims must not come back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './workflow-files.js';

const doc = readFileSync(join(ROOT, 'docs/github.md'), 'utf8').replace(/\s+/g, ' ');

describe('docs/github.md', () => {
  it('does not promise what GitHub does not do', () => {
    expect(doc).not.toMatch(/silently not enforced/);
    expect(doc).not.toMatch(/never reaches your fleet or your self-hosted runners/);
    expect(doc).not.toMatch(/tick \*Prevent self-review\* if the person merging must not approve/);
  });

  it('says Prevent self-review does not hold for dispatched and scheduled runs', () => {
    expect(doc).toMatch(/Prevent self-review.*does not stop the person who merged/);
    expect(doc).toMatch(/dispatched by `finalize` with `GITHUB_TOKEN`, so its actor is `github-actions\[bot\]`/);
    expect(doc).toMatch(/scheduled run is started by GitHub's timer, not by the merger/);
  });

  it('says reviewers and wait timers are unavailable on private repositories without Enterprise', () => {
    expect(doc).toMatch(
      /In private and internal repositories they are \*\*unavailable\*\* except on GitHub Enterprise/,
    );
  });

  it('says fork code can reach a self-hosted runner under pull_request, and what to do', () => {
    expect(doc).toMatch(/Under `pull_request` the workflow file itself comes from the pull request's merge commit/);
    expect(doc).toMatch(/a self-hosted runner that can reach your fleet included/);
    expect(doc).toMatch(/GitHub-hosted runners/);
  });
});
