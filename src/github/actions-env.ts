/**
 * What a step learns from the runner's environment: repository, run, actor,
 * event payload (`GITHUB_EVENT_PATH`), API URL and token. Read once, passed in,
 * so everything else takes plain values (and tests pass their own).
 */
import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../errors.js';
import type { RepoRef, RolloutScm } from './scm.js';

/** The parts of the Actions environment Fleetgate uses. */
export interface ActionsContext {
  repository?: RepoRef;
  apiUrl: string;
  serverUrl: string;
  runId?: number;
  runAttempt?: number;
  /** Login that started the run (`GITHUB_ACTOR`). */
  actor?: string;
  /** Login that started this attempt (`GITHUB_TRIGGERING_ACTOR`, differs on re-runs). */
  triggeringActor?: string;
  sha?: string;
  ref?: string;
  eventName?: string;
  /** Parsed event payload, `{}` when there is none. */
  event: Record<string, unknown>;
  /** `owner/repo/.github/workflows/file.yml@ref` of the workflow (the caller's, in a reusable workflow). */
  workflowRef?: string;
  /** Default branch from the event payload (`repository.default_branch`). */
  defaultBranch?: string;
  /** Pull request number for `pull_request` events. */
  pullRequest?: number;
  /** True for a pull request whose head is a fork (read-only token, no secrets). */
  fromFork: boolean;
  /** URL of this run's page, for summaries and deployment statuses. */
  runUrl?: string;
}

function int(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** Reads the Actions environment. Never throws: an unreadable event file is an empty payload. */
export function readActionsContext(env: NodeJS.ProcessEnv = process.env): ActionsContext {
  let event: Record<string, unknown> = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
      if (parsed && typeof parsed === 'object') event = parsed as Record<string, unknown>;
    } catch {
      event = {};
    }
  }
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const repository = owner && repo ? { owner, repo } : undefined;
  const pr = event.pull_request as { number?: number; head?: { repo?: { full_name?: string } | null } } | undefined;
  const repoPayload = event.repository as { default_branch?: string; full_name?: string } | undefined;
  const serverUrl = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
  const runId = int(env.GITHUB_RUN_ID);
  const headRepo = pr?.head?.repo?.full_name;
  return {
    repository,
    apiUrl: (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
    serverUrl,
    runId,
    runAttempt: int(env.GITHUB_RUN_ATTEMPT),
    actor: env.GITHUB_ACTOR || undefined,
    triggeringActor: env.GITHUB_TRIGGERING_ACTOR || env.GITHUB_ACTOR || undefined,
    sha: env.GITHUB_SHA || undefined,
    ref: env.GITHUB_REF || undefined,
    eventName: env.GITHUB_EVENT_NAME || undefined,
    event,
    workflowRef: env.GITHUB_WORKFLOW_REF || undefined,
    defaultBranch: repoPayload?.default_branch,
    pullRequest: typeof pr?.number === 'number' ? pr.number : undefined,
    // A deleted fork leaves `head.repo: null`: still code from outside, so still a fork.
    fromFork: Boolean(pr && (pr.head?.repo === null || (headRepo !== undefined && headRepo !== env.GITHUB_REPOSITORY))),
    runUrl:
      repository && runId ? `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${runId}` : undefined,
  };
}

/**
 * The token for API calls: `FLEETGATE_GITHUB_TOKEN`, else `GITHUB_TOKEN`. Registered
 * as a secret so the runner masks it in every log line.
 * @throws ConfigurationError when neither is set
 */
export async function readToken(): Promise<string> {
  const token = process.env.FLEETGATE_GITHUB_TOKEN || process.env.GITHUB_TOKEN;
  if (!token) {
    throw new ConfigurationError(
      'no GitHub token: pass `github-token` to the action (default `${{ github.token }}`) or set GITHUB_TOKEN',
    );
  }
  // Loaded on first use: `@actions/core` and Octokit are most of the bundle, and only
  // GitHub-facing commands need them (a local `fleetgate run` starts without them).
  const core = await import('@actions/core');
  core.setSecret(token);
  return token;
}

/**
 * The GitHub port for the repository the run belongs to (`GITHUB_REPOSITORY`, `GITHUB_API_URL`).
 * @throws ConfigurationError outside GitHub Actions (no repository) or without a token
 */
export async function createScmFromEnv(ctx: ActionsContext = readActionsContext()): Promise<RolloutScm> {
  if (!ctx.repository) {
    throw new ConfigurationError('GITHUB_REPOSITORY is not set (owner/repo): the GitHub state backend runs in Actions');
  }
  const token = await readToken();
  const { createOctokitScm } = await import('./octokit-scm.js');
  return createOctokitScm({ token, repository: ctx.repository, baseUrl: ctx.apiUrl });
}

/** `.github/workflows/x.yml` of `owner/repo/.github/workflows/x.yml@refs/heads/main`, or `undefined`. */
export function workflowFileOf(workflowRef: string | undefined): string | undefined {
  const m = /^[^/]+\/[^/]+\/\.github\/workflows\/([^@]+)@/.exec(workflowRef ?? '');
  return m?.[1];
}
