/**
 * The GitHub port over the REST API with `@octokit/rest`. The base URL comes
 * from `GITHUB_API_URL` (GitHub Enterprise Server, tests), as in the Actions
 * toolkit. Octokit errors are wrapped once, here, into `GitHubApiError`.
 */
import { Octokit } from '@octokit/rest';
import { GitHubApiError, ScmConflictError } from './errors.js';
import {
  PERMISSION_LEVELS,
  type BranchInfo,
  type DispatchedRun,
  type EnvironmentInfo,
  type EnvironmentReviewer,
  type FileAtRef,
  type IssueComment,
  type PermissionLevel,
  type RepoRef,
  type IssueInfo,
  type RolloutScm,
  type RunApproval,
} from './scm.js';

/** Options of {@link createOctokitScm}. */
export interface OctokitScmOptions {
  /** Token (`GITHUB_TOKEN` or an app/user token). Never logged. */
  token: string;
  repository: RepoRef;
  /** REST API root; default `GITHUB_API_URL`, then `https://api.github.com`. */
  baseUrl?: string;
  /** Per-request timeout (ms; default 30 s). */
  timeoutMs?: number;
}

interface HttpError {
  status: number;
  message: string;
  response?: { data?: unknown };
}

function isHttpError(error: unknown): error is HttpError {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

function errorMessage(error: HttpError): string {
  const data = error.response?.data as { message?: unknown } | undefined;
  return typeof data?.message === 'string' ? data.message : error.message;
}

/** Wraps a call: HTTP errors become `GitHubApiError` naming what was attempted. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    rethrow(what, error);
  }
}

/** Rethrows `error` wrapped the way `call` wraps it. */
function rethrow(what: string, error: unknown): never {
  if (error instanceof GitHubApiError) throw error;
  if (isHttpError(error))
    throw new GitHubApiError(`GitHub API: ${what}: ${error.status} ${errorMessage(error)}`, error.status, {
      cause: error,
    });
  throw new GitHubApiError(`GitHub API: ${what}: ${error instanceof Error ? error.message : String(error)}`, 0, {
    cause: error,
  });
}

/** Like `call`, but a 404 answers `undefined`. */
async function callOrMissing<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call(what, fn);
  } catch (error) {
    if (error instanceof GitHubApiError && error.status === 404) return undefined;
    throw error;
  }
}

function toPermission(roleName: string | undefined, permission: string | undefined): PermissionLevel {
  if (roleName && (PERMISSION_LEVELS as readonly string[]).includes(roleName)) return roleName as PermissionLevel;
  if (permission && (PERMISSION_LEVELS as readonly string[]).includes(permission)) return permission as PermissionLevel;
  return 'none';
}

/**
 * Creates the Octokit-backed port for one repository.
 * @throws nothing itself; every method throws `GitHubApiError` on failure.
 */
export function createOctokitScm(opts: OctokitScmOptions): RolloutScm {
  const baseUrl = (opts.baseUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const octokit = new Octokit({
    auth: opts.token,
    baseUrl,
    userAgent: 'fleetgate',
    request: {
      fetch: (url: string | URL, init?: RequestInit) =>
        fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
    },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const { owner, repo } = opts.repository;
  const slug = `${owner}/${repo}`;

  const issueInfo = (i: {
    number: number;
    title: string;
    body?: string | null;
    state: string;
    html_url: string;
  }): IssueInfo => ({
    number: i.number,
    title: i.title,
    body: i.body ?? '',
    state: i.state === 'closed' ? 'closed' : 'open',
    htmlUrl: i.html_url,
  });
  const comment = (c: { id: number; body?: string; user?: { login: string } | null; html_url: string }) =>
    ({ id: c.id, body: c.body ?? '', user: c.user?.login, htmlUrl: c.html_url }) satisfies IssueComment;

  return {
    repository: opts.repository,

    async readFile(path, ref): Promise<FileAtRef | undefined> {
      const data = await callOrMissing(`read ${path} at ${ref} in ${slug}`, async () => {
        const r = await octokit.rest.repos.getContent({ owner, repo, path, ref });
        return r.data;
      });
      if (data === undefined) return undefined;
      if (Array.isArray(data) || data.type !== 'file') {
        throw new GitHubApiError(`GitHub API: ${path} at ${ref} in ${slug} is not a file`, 422);
      }
      let base64 = 'content' in data ? data.content : '';
      // Files over 1 MB come back without content ("encoding: none"): read the blob instead (up to 100 MB).
      if (('encoding' in data && data.encoding === 'none') || (base64 === '' && data.size > 0)) {
        base64 = await call(`read blob ${data.sha} (${path}) in ${slug}`, async () => {
          const r = await octokit.rest.git.getBlob({ owner, repo, file_sha: data.sha });
          return r.data.content;
        });
      }
      return { content: Buffer.from(base64, 'base64').toString('utf8'), sha: data.sha };
    },

    async writeFile(w) {
      try {
        const r = await octokit.rest.repos.createOrUpdateFileContents({
          owner,
          repo,
          path: w.path,
          message: w.message,
          content: Buffer.from(w.content, 'utf8').toString('base64'),
          branch: w.branch,
          ...(w.sha ? { sha: w.sha } : {}),
        });
        return { commitSha: r.data.commit.sha ?? '', blobSha: r.data.content?.sha ?? '' };
      } catch (error) {
        if (isHttpError(error)) {
          const message = errorMessage(error);
          // 409: the sha is stale. 422 "sha wasn't supplied": the file appeared since it was read.
          if (error.status === 409 || (error.status === 422 && /sha/i.test(message))) {
            throw new ScmConflictError(
              `GitHub API: write ${w.path} on ${w.branch} in ${slug}: ${error.status} ${message}`,
              error.status,
              { cause: error },
            );
          }
        }
        rethrow(`write ${w.path} on ${w.branch} in ${slug}`, error);
      }
    },

    async listFiles(path, ref): Promise<string[]> {
      const data = await callOrMissing(`list ${path} at ${ref} in ${slug}`, async () => {
        const r = await octokit.rest.repos.getContent({ owner, repo, path, ref });
        return r.data;
      });
      if (data === undefined || !Array.isArray(data)) return [];
      return data.filter((entry) => entry.type === 'file').map((entry) => entry.name);
    },

    async getBranch(name): Promise<BranchInfo | undefined> {
      const data = await callOrMissing(`read branch ${name} of ${slug}`, async () => {
        const r = await octokit.rest.repos.getBranch({ owner, repo, branch: name });
        return r.data;
      });
      return data && { name: data.name, sha: data.commit.sha, protected: data.protected };
    },

    async createBranch(name, sha) {
      try {
        await octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${name}`, sha });
      } catch (error) {
        if (isHttpError(error) && error.status === 422 && /exists/i.test(errorMessage(error))) {
          throw new ScmConflictError(`GitHub API: branch ${name} already exists in ${slug}`, 422, { cause: error });
        }
        rethrow(`create branch ${name} in ${slug}`, error);
      }
    },

    async getEnvironment(name): Promise<EnvironmentInfo | undefined> {
      const data = await callOrMissing(`read environment ${name} of ${slug}`, async () => {
        const r = await octokit.rest.repos.getEnvironment({ owner, repo, environment_name: name });
        return r.data;
      });
      if (!data) return undefined;
      const info: EnvironmentInfo = {
        name: data.name,
        reviewers: [],
        waitTimerMinutes: 0,
        preventSelfReview: false,
        branchPolicy: Boolean(data.deployment_branch_policy),
      };
      for (const rule of data.protection_rules ?? []) {
        const r = rule as {
          type: string;
          wait_timer?: number;
          prevent_self_review?: boolean;
          reviewers?: { type?: string; reviewer?: { login?: string; slug?: string } }[];
        };
        if (r.type === 'wait_timer') info.waitTimerMinutes = r.wait_timer ?? 0;
        if (r.type === 'required_reviewers') {
          info.preventSelfReview = Boolean(r.prevent_self_review);
          for (const rv of r.reviewers ?? []) {
            const reviewer: EnvironmentReviewer =
              rv.type === 'Team'
                ? { type: 'Team', name: rv.reviewer?.slug ?? '?' }
                : { type: 'User', name: rv.reviewer?.login ?? '?' };
            info.reviewers.push(reviewer);
          }
        }
      }
      return info;
    },

    async getPermission(username) {
      const data = await callOrMissing(`read ${username}'s permission on ${slug}`, async () => {
        const r = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
        return r.data;
      });
      return data ? toPermission(data.role_name, data.permission) : 'none';
    },

    async isTeamMember(org, teamSlug, username) {
      const data = await callOrMissing(`read ${username}'s membership of ${org}/${teamSlug}`, async () => {
        const r = await octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: teamSlug, username });
        return r.data;
      });
      return data?.state === 'active';
    },

    async listRunApprovals(runId): Promise<RunApproval[]> {
      const data = await call(`read approvals of run ${runId} in ${slug}`, async () => {
        const r = await octokit.rest.actions.getReviewsForRun({ owner, repo, run_id: runId });
        return r.data;
      });
      return data.map((a) => ({
        state: a.state,
        environments: a.environments.map((e) => e.name ?? ''),
        user: a.user.login,
        comment: a.comment,
      }));
    },

    async listIssueComments(issue) {
      const data = await call(`list comments of #${issue} in ${slug}`, () =>
        octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: issue, per_page: 100 }),
      );
      return data.map(comment);
    },

    async createIssueComment(issue, body) {
      const data = await call(`comment on #${issue} in ${slug}`, async () => {
        const r = await octokit.rest.issues.createComment({ owner, repo, issue_number: issue, body });
        return r.data;
      });
      return comment(data);
    },

    async listIssues(label, state) {
      const data = await call(`list ${state} issues labelled ${label} in ${slug}`, () =>
        octokit.paginate(octokit.rest.issues.listForRepo, { owner, repo, labels: label, state, per_page: 100 }),
      );
      return data.filter((i) => !i.pull_request).map(issueInfo);
    },

    async createIssue(req) {
      const data = await call(`open an issue in ${slug}`, async () => {
        const r = await octokit.rest.issues.create({
          owner,
          repo,
          title: req.title,
          body: req.body,
          labels: req.labels,
        });
        return r.data;
      });
      return issueInfo(data);
    },

    async updateIssue(issue, change) {
      const data = await call(`update issue #${issue} in ${slug}`, async () => {
        const r = await octokit.rest.issues.update({
          owner,
          repo,
          issue_number: issue,
          ...(change.title !== undefined && { title: change.title }),
          ...(change.body !== undefined && { body: change.body }),
          ...(change.state !== undefined && { state: change.state }),
          ...(change.state === 'closed' && { state_reason: 'completed' as const }),
        });
        return r.data;
      });
      return issueInfo(data);
    },

    async updateIssueComment(commentId, body) {
      const data = await call(`update comment ${commentId} in ${slug}`, async () => {
        const r = await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
        return r.data;
      });
      return comment(data);
    },

    async dispatchWorkflow(d): Promise<DispatchedRun> {
      const route = 'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches';
      const what = `dispatch ${d.workflow} on ${d.ref} in ${slug}`;
      const params = { owner, repo, workflow_id: d.workflow, ref: d.ref, inputs: d.inputs };
      try {
        const r = await octokit.request(route, { ...params, return_run_details: true } as typeof params);
        const data = (r.status === 200 ? r.data : undefined) as
          { workflow_run_id?: number; run_url?: string; html_url?: string } | undefined;
        return { runId: data?.workflow_run_id, runUrl: data?.run_url, htmlUrl: data?.html_url };
      } catch (error) {
        // Servers without `return_run_details` (older GHES) refuse the field: dispatch without it.
        if (isHttpError(error) && (error.status === 400 || error.status === 422)) {
          await call(what, () => octokit.request(route, params));
          return {};
        }
        rethrow(what, error);
      }
    },

    async createDeployment(req) {
      const data = await call(`create deployment to ${req.environment} in ${slug}`, async () => {
        const r = await octokit.rest.repos.createDeployment({
          owner,
          repo,
          ref: req.ref,
          environment: req.environment,
          ...(req.task ? { task: req.task } : {}),
          description: req.description,
          payload: req.payload as { [key: string]: unknown },
          auto_merge: false,
          required_contexts: [],
          production_environment: req.productionEnvironment,
          transient_environment: req.transientEnvironment,
        });
        return r.data;
      });
      if (!('id' in data))
        throw new GitHubApiError(`GitHub API: deployment to ${req.environment}: ${data.message}`, 202);
      return { id: data.id };
    },

    async listDeployments(environment, task) {
      const data = await call(`list deployments to ${environment} in ${slug}`, async () => {
        const r = await octokit.rest.repos.listDeployments({ owner, repo, environment, task, per_page: 100 });
        return r.data;
      });
      return data.map((d) => ({
        id: d.id,
        payload: d.payload !== null && typeof d.payload === 'object' ? (d.payload as Record<string, unknown>) : {},
      }));
    },

    async createDeploymentStatus(deploymentId, req) {
      await call(`set status of deployment ${deploymentId} in ${slug}`, () =>
        octokit.rest.repos.createDeploymentStatus({
          owner,
          repo,
          deployment_id: deploymentId,
          state: req.state,
          description: req.description.slice(0, 140),
          ...(req.logUrl ? { log_url: req.logUrl } : {}),
          ...(req.environmentUrl ? { environment_url: req.environmentUrl } : {}),
        }),
      );
    },
  };
}
