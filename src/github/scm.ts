/**
 * The narrow port Fleetgate talks to GitHub through (release-please's
 * `src/scm.ts` idea): only what the GitHub layer needs, in Fleetgate's words.
 * `createOctokitScm` (octokit-scm.ts) implements it over the REST API; tests
 * run it against a loopback server that checks every request against GitHub's
 * published OpenAPI description.
 */

/** `owner/repo`, split. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** A file as stored on a branch: its text and its blob sha (the compare-and-swap token). */
export interface FileAtRef {
  content: string;
  /** Blob sha (40 hex), what the contents API takes as `sha` on update. */
  sha: string;
}

/** A write through the contents API: one file, one commit. */
export interface FileWrite {
  /** Repository-relative path with `/` separators. */
  path: string;
  content: string;
  message: string;
  branch: string;
  /** Blob sha the write replaces; absent when the file must not exist yet. */
  sha?: string;
}

/** A branch head and whether branch protection applies to it. */
export interface BranchInfo {
  name: string;
  /** Commit sha of the head. */
  sha: string;
  protected: boolean;
}

/** A reviewer of an environment's required-reviewers rule. */
export interface EnvironmentReviewer {
  type: 'User' | 'Team';
  /** User login or team slug. */
  name: string;
}

/** What Fleetgate needs to know of a deployment environment's protection rules. */
export interface EnvironmentInfo {
  name: string;
  /** Required reviewers (empty: none configured, or not available on the repository's plan). */
  reviewers: EnvironmentReviewer[];
  /** Wait timer in minutes (0: none). */
  waitTimerMinutes: number;
  /** True when the person who started the run cannot approve it. */
  preventSelfReview: boolean;
  /** True when deployment branches are restricted. */
  branchPolicy: boolean;
}

/** Repository permission levels, weakest first (the collaborator-permission API's `role_name` order). */
export const PERMISSION_LEVELS = ['none', 'read', 'triage', 'write', 'maintain', 'admin'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

/** An approval or rejection of an environment gate in a workflow run. The API gives no time. */
export interface RunApproval {
  state: 'approved' | 'rejected' | 'pending';
  /** Environment names the review covered. */
  environments: string[];
  /** Login of the reviewer. */
  user: string;
  comment: string;
}

/** An issue or pull-request comment. */
export interface IssueComment {
  id: number;
  body: string;
  /** Login of the author (`github-actions[bot]` for comments made with `GITHUB_TOKEN`). */
  user?: string;
  htmlUrl: string;
}

/** An issue (never a pull request). */
export interface IssueInfo {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  htmlUrl: string;
}

/** A `workflow_dispatch` request. At most 25 inputs (GitHub's limit). */
export interface WorkflowDispatch {
  /** Workflow file name (`fleetgate-rollout.yml`) or id. */
  workflow: string;
  /** Branch or tag the new run uses. */
  ref: string;
  inputs: Record<string, string>;
}

/** The run a dispatch started, when GitHub said (`return_run_details`); empty on servers that do not support it. */
export interface DispatchedRun {
  runId?: number;
  runUrl?: string;
  htmlUrl?: string;
}

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

/** The port. Every method throws `GitHubApiError` (and `ScmConflictError` where noted). */
export interface RolloutScm {
  readonly repository: RepoRef;
  /** File at `ref` (branch, tag or sha); `undefined` when the file (or the ref) does not exist. */
  readFile(path: string, ref: string): Promise<FileAtRef | undefined>;
  /**
   * Names of the files directly in folder `path` at `ref` (not subfolders); empty when the
   * folder or the ref does not exist. GitHub lists at most 1,000 entries of a folder.
   */
  listFiles(path: string, ref: string): Promise<string[]>;
  /**
   * Creates or updates one file in one commit, without custom author or committer
   * (so GitHub shows the bot's commit as Verified).
   * @returns the new commit sha and the new blob sha
   * @throws ScmConflictError when `sha` is stale or missing (someone else wrote the file)
   */
  writeFile(write: FileWrite): Promise<{ commitSha: string; blobSha: string }>;
  /** Branch head and protection; `undefined` when the branch does not exist. */
  getBranch(name: string): Promise<BranchInfo | undefined>;
  /**
   * Creates `refs/heads/<name>` at `sha`.
   * @throws ScmConflictError when the branch already exists
   */
  createBranch(name: string, sha: string): Promise<void>;
  /** Environment and its protection rules; `undefined` when it does not exist. */
  getEnvironment(name: string): Promise<EnvironmentInfo | undefined>;
  /** `username`'s permission on the repository (`none` when not a collaborator). */
  getPermission(username: string): Promise<PermissionLevel>;
  /** True when `username` is an active member of `org`'s team `teamSlug` (needs a token with org `members: read`). */
  isTeamMember(org: string, teamSlug: string, username: string): Promise<boolean>;
  /** Reviews of environment gates in workflow run `runId`. */
  listRunApprovals(runId: number): Promise<RunApproval[]>;
  /** Every comment of an issue or pull request, oldest first (all pages). */
  listIssueComments(issue: number): Promise<IssueComment[]>;
  createIssueComment(issue: number, body: string): Promise<IssueComment>;
  /** Issues (not pull requests) carrying `label` in `state`, all pages. */
  listIssues(label: string, state: 'open' | 'closed' | 'all'): Promise<IssueInfo[]>;
  /** Opens an issue with `labels` (GitHub creates a label that does not exist yet). */
  createIssue(req: { title: string; body: string; labels: string[] }): Promise<IssueInfo>;
  /** Changes an issue's title, body or state (`completed` when closed). */
  updateIssue(issue: number, change: { title?: string; body?: string; state?: 'open' | 'closed' }): Promise<IssueInfo>;
  updateIssueComment(commentId: number, body: string): Promise<IssueComment>;
  /**
   * Starts a workflow run. Asks for the run's id (`return_run_details`) and retries
   * without it on servers that refuse the field (older GHES).
   */
  dispatchWorkflow(dispatch: WorkflowDispatch): Promise<DispatchedRun>;
  /** Creates a deployment of `ref` to `environment` (shown in the repository's Deployments view). */
  createDeployment(req: {
    ref: string;
    environment: string;
    /** What the deployment does (`deploy:<rollout>`); GitHub's default is `deploy`. */
    task?: string;
    description: string;
    payload: Record<string, unknown>;
    productionEnvironment?: boolean;
    transientEnvironment?: boolean;
  }): Promise<{ id: number }>;
  /** The newest deployments (first page, up to 100) of `environment` with `task`, newest first. */
  listDeployments(environment: string, task: string): Promise<{ id: number; payload: Record<string, unknown> }[]>;
  createDeploymentStatus(
    deploymentId: number,
    req: { state: DeploymentState; description: string; logUrl?: string; environmentUrl?: string },
  ): Promise<void>;
}
