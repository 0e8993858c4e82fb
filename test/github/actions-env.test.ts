/**
 * Reading the Actions environment: a pull request from a fork, including one whose fork was
 * deleted (GitHub then sends `head.repo: null`), is untrusted (issue 12, item 13).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readActionsContext } from '../../src/github/actions-env.js';

function contextFor(event: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-event-'));
  const path = join(dir, 'event.json');
  writeFileSync(path, JSON.stringify(event));
  return readActionsContext({
    GITHUB_EVENT_PATH: path,
    GITHUB_REPOSITORY: 'acme/fleet',
    GITHUB_EVENT_NAME: 'pull_request',
  });
}

describe('readActionsContext: forks', () => {
  it('a pull request from a branch of the repository is not a fork', () => {
    expect(contextFor({ pull_request: { number: 7, head: { repo: { full_name: 'acme/fleet' } } } }).fromFork).toBe(
      false,
    );
  });

  it('a pull request from another repository is a fork', () => {
    expect(contextFor({ pull_request: { number: 7, head: { repo: { full_name: 'mallory/fleet' } } } }).fromFork).toBe(
      true,
    );
  });

  it('a pull request whose fork was deleted (head.repo null) is still a fork', () => {
    expect(contextFor({ pull_request: { number: 7, head: { repo: null } } }).fromFork).toBe(true);
  });

  it('a push is not a fork', () => {
    expect(contextFor({ ref: 'refs/heads/main' }).fromFork).toBe(false);
  });
});
