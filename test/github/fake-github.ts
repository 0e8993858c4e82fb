/**
 * A loopback GitHub REST API for tests. Every request is checked against
 * GitHub's published OpenAPI description (see openapi.ts): an undocumented
 * route, parameter or body field, a missing required one, or a documented route
 * this fake does not expect is recorded as a failure and answered with an error
 * — `assertClean()` then fails the test. Every answer is checked against the
 * documented response schema too, so the fake cannot drift into shapes GitHub
 * never sends. The contents and git endpoints are backed by a real git
 * repository (git-remote.ts): blob-sha compare-and-swap is real.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOctokitScm } from '../../src/github/octokit-scm.js';
import type { RolloutScm } from '../../src/github/scm.js';
import { GitRemote, WriteRefused } from './git-remote.js';
import { OpenApiChecker, type MatchedOperation } from './openapi.js';

export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

/** An environment's protection rules as an admin configured them. */
export interface FakeEnvironment {
  reviewers?: { type: 'User' | 'Team'; name: string }[];
  waitTimer?: number;
  preventSelfReview?: boolean;
}

export interface FakeReview {
  environments: string[];
  state: 'approved' | 'rejected';
  user: string;
  comment: string;
  /** Run attempt the review was given in (default 1). GitHub lists every attempt's reviews under the run. */
  attempt?: number;
}

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  /** Files of the initial commit on the default branch. */
  files?: Record<string, string>;
  defaultBranch?: string;
  /** Branches with classic protection. */
  protectedBranches?: string[];
  /**
   * Protected branches whose rules refuse direct commits by this token (pull request or status
   * checks required, no bypass): a contents-API write there answers 409 with GitHub's message.
   */
  refuseDirectCommitsTo?: string[];
  environments?: Record<string, FakeEnvironment>;
  /** Login → permission (others: 404, not a collaborator). */
  collaborators?: Record<string, Permission>;
  /** `org/team` → member logins. */
  teams?: Record<string, string[]>;
  /** Run id → environment reviews of that run. */
  reviews?: Record<number, FakeReview[]>;
  /** The token requests must carry. */
  token?: string;
  /** Token scopes: `read` makes every write answer 403 like a fork's read-only GITHUB_TOKEN. */
  access?: 'write' | 'read';
  /** Answer `workflow_dispatch` with run details (200) or like older servers (400 on the field). */
  dispatchRunDetails?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId?: string;
  query: Record<string, string>;
  body?: unknown;
  status: number;
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const BOT_LOGIN = 'github-actions[bot]';

/** A documented `simple-user`. */
export function simpleUser(login: string, id = 1000 + ((login.length * 7919) % 9000)): Record<string, unknown> {
  const api = `https://api.github.com/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}`,
    gravatar_id: '',
    url: api,
    html_url: `https://github.com/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    site_admin: false,
  };
}

function error(status: number, message: string): Reply {
  return { status, body: { message, documentation_url: 'https://docs.github.com/rest', status: String(status) } };
}

/** The fake server. */
export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly failures: string[] = [];
  readonly comments: FakeComment[] = [];
  /** Issues opened through the API (the drift check's), with their labels and state. */
  readonly issues: {
    number: number;
    title: string;
    body: string;
    labels: string[];
    state: 'open' | 'closed';
    stateReason?: string;
  }[] = [];
  readonly dispatches: { workflow: string; ref: string; inputs: Record<string, unknown>; runId: number }[] = [];
  readonly deployments: {
    id: number;
    environment: string;
    ref: string;
    task: string;
    payload: unknown;
    statuses: { state: string; description: string }[];
  }[] = [];
  /** Commits the contents API made, with whether GitHub would show them as Verified. */
  readonly commits: { sha: string; path: string; branch: string; verified: boolean; message: string }[] = [];
  /** Runs before each contents-API write; a test uses it to slip a concurrent write in. */
  beforeWrite?: (path: string, branch: string) => Promise<void>;
  readonly checker = new OpenApiChecker();
  private nextId = 5000;
  private server!: Server;
  url = '';

  private constructor(
    readonly remote: GitRemote,
    readonly opts: Required<Pick<FakeGitHubOptions, 'owner' | 'repo' | 'token'>> & FakeGitHubOptions,
  ) {}

  /** Starts the fake on 127.0.0.1 with a fresh git repository. */
  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const remote = await GitRemote.create(
      options.files ?? { 'README.md': '# repo\n' },
      options.defaultBranch ?? 'main',
    );
    const fake = new FakeGitHub(remote, { owner: 'acme', repo: 'fleet', token: 'ghs_faketoken123', ...options });
    fake.server = createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  get slug(): string {
    return `${this.opts.owner}/${this.opts.repo}`;
  }

  /** The real Octokit adapter, pointed at this fake with its token and repository. */
  scm(): RolloutScm {
    return createOctokitScm({
      token: this.opts.token,
      repository: { owner: this.opts.owner, repo: this.opts.repo },
      baseUrl: this.url,
    });
  }

  /** Environment variables a step would have for this repository. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      GITHUB_API_URL: this.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: this.slug,
      GITHUB_TOKEN: this.opts.token,
      ...extra,
    };
  }

  /** Fails when any request was unexpected or undocumented, or an answer was not in a documented shape. */
  assertClean(): void {
    if (this.failures.length > 0)
      throw new Error(`fake GitHub saw unexpected requests:\n- ${this.failures.join('\n- ')}`);
  }

  /** Requests to an operation, e.g. `repos/create-or-update-file-contents`. */
  calls(operationId: string): RecordedRequest[] {
    return this.requests.filter((r) => r.operationId === operationId);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections?.();
    this.remote.remove();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
    };
    this.requests.push(record);
    const send = (reply: Reply, m?: MatchedOperation) => {
      record.status = reply.status;
      if (m) {
        for (const p of this.checker.checkResponse(m, reply.status, reply.body))
          this.failures.push(`${method} ${url.pathname} answered off-spec: ${p}`);
      }
      const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        'x-ratelimit-limit': '1000',
        'x-ratelimit-remaining': String(Math.max(0, 1000 - this.requests.length)),
        'x-github-api-version-selected': '2022-11-28',
        ...reply.headers,
      });
      res.end(text);
    };
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      this.failures.push(`${method} ${url.pathname}: body is not JSON`);
      return send(error(400, 'Problems parsing JSON'));
    }
    record.body = body;
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${this.opts.token}` && auth !== `Bearer ${this.opts.token}`) {
      this.failures.push(`${method} ${url.pathname}: missing or wrong token`);
      return send(error(401, 'Bad credentials'));
    }
    const m = this.checker.match(method, url.pathname);
    if (!m) {
      this.failures.push(`${method} ${url.pathname}: no such route in GitHub's REST description`);
      return send(error(404, 'Not Found'));
    }
    record.operationId = m.operationId;
    const problems = this.checker.checkRequest(m, url.searchParams, body);
    if (problems.length > 0) {
      this.failures.push(`${method} ${url.pathname} (${m.operationId}): ${problems.join('; ')}`);
      return send(error(422, `Invalid request: ${problems.join('; ')}`), m);
    }
    if (m.params.owner !== undefined && (m.params.owner !== this.opts.owner || m.params.repo !== this.opts.repo)) {
      this.failures.push(`${method} ${url.pathname}: wrong repository ${m.params.owner}/${m.params.repo}`);
      return send(error(404, 'Not Found'), m);
    }
    const handler = this.handlers[m.operationId];
    if (!handler) {
      this.failures.push(`${method} ${url.pathname}: ${m.operationId} is documented but not expected by this test`);
      return send(error(501, `fake GitHub does not implement ${m.operationId}`));
    }
    const isWrite = method !== 'GET' && method !== 'HEAD';
    if (isWrite && this.opts.access === 'read') return send(error(403, 'Resource not accessible by integration'), m);
    try {
      send(await handler(m.params, url.searchParams, body as Record<string, unknown>), m);
    } catch (e) {
      this.failures.push(`${method} ${url.pathname}: fake crashed: ${(e as Error).stack ?? String(e)}`);
      send(error(500, 'fake crashed'));
    }
  }

  private id(): number {
    return this.nextId++;
  }

  private repoUrl(): string {
    return `https://api.github.com/repos/${this.slug}`;
  }

  private commentShape(c: FakeComment): Record<string, unknown> {
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${this.repoUrl()}/issues/comments/${c.id}`,
      html_url: `https://github.com/${this.slug}/pull/${c.issue}#issuecomment-${c.id}`,
      issue_url: `${this.repoUrl()}/issues/${c.issue}`,
      body: c.body,
      user: simpleUser(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: 'NONE',
    };
  }

  private contentShape(path: string, sha: string, size: number, ref: string): Record<string, unknown> {
    const api = `${this.repoUrl()}/contents/${path}?ref=${ref}`;
    const html = `https://github.com/${this.slug}/blob/${ref}/${path}`;
    const git = `${this.repoUrl()}/git/blobs/${sha}`;
    return {
      type: 'file',
      name: path.split('/').at(-1),
      path,
      sha,
      size,
      url: api,
      html_url: html,
      git_url: git,
      download_url: `https://raw.githubusercontent.com/${this.slug}/${ref}/${path}`,
      _links: { self: api, git, html },
    };
  }

  private issueShape(i: FakeGitHub['issues'][number]): Record<string, unknown> {
    const url = `${this.repoUrl()}/issues/${i.number}`;
    return {
      id: 5000 + i.number,
      node_id: `I_${i.number}`,
      url,
      repository_url: this.repoUrl(),
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `https://github.com/${this.slug}/issues/${i.number}`,
      number: i.number,
      state: i.state,
      ...(i.stateReason !== undefined && { state_reason: i.stateReason }),
      title: i.title,
      body: i.body,
      user: simpleUser(BOT_LOGIN),
      labels: i.labels.map((name, n) => ({
        id: n + 1,
        node_id: `L_${n + 1}`,
        url: '',
        name,
        description: null,
        color: 'ededed',
        default: false,
      })),
      assignee: null,
      milestone: null,
      locked: false,
      comments: this.comments.filter((c) => c.issue === i.number).length,
      closed_at: i.state === 'closed' ? '2026-01-01T00:00:00Z' : null,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
    };
  }

  private envShape(name: string, env: FakeEnvironment): Record<string, unknown> {
    const rules: Record<string, unknown>[] = [];
    if (env.waitTimer) rules.push({ id: 1, node_id: 'GA_1', type: 'wait_timer', wait_timer: env.waitTimer });
    if (env.reviewers?.length) {
      rules.push({
        id: 2,
        node_id: 'GA_2',
        type: 'required_reviewers',
        prevent_self_review: Boolean(env.preventSelfReview),
        reviewers: env.reviewers.map((r) => ({
          type: r.type,
          reviewer:
            r.type === 'User'
              ? simpleUser(r.name)
              : {
                  id: 77,
                  node_id: 'T_77',
                  name: r.name,
                  slug: r.name,
                  url: '',
                  html_url: '',
                  members_url: '',
                  repositories_url: '',
                  permission: 'pull',
                  parent: null,
                  description: null,
                  privacy: 'closed',
                  notification_setting: 'notifications_enabled',
                  type: 'team',
                },
        })),
      });
    }
    return {
      id: 100 + name.length,
      node_id: `EN_${name}`,
      name,
      url: `${this.repoUrl()}/environments/${encodeURIComponent(name)}`,
      html_url: `https://github.com/${this.slug}/deployments/activity_log?environments_filter=${encodeURIComponent(name)}`,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
      protection_rules: rules,
      deployment_branch_policy: null,
    };
  }

  private branchShape(name: string, sha: string): Record<string, unknown> {
    const commitUrl = `${this.repoUrl()}/commits/${sha}`;
    const person = { name: 't', email: 't@t', date: '2026-01-01T00:00:00Z' };
    return {
      name,
      commit: {
        sha,
        node_id: `C_${sha}`,
        url: commitUrl,
        html_url: `https://github.com/${this.slug}/commit/${sha}`,
        comments_url: `${commitUrl}/comments`,
        commit: {
          url: commitUrl,
          author: person,
          committer: person,
          message: 'm',
          comment_count: 0,
          tree: { sha, url: commitUrl },
        },
        author: null,
        committer: null,
        parents: [],
      },
      _links: { self: `${this.repoUrl()}/branches/${name}`, html: `https://github.com/${this.slug}/tree/${name}` },
      protected: (this.opts.protectedBranches ?? []).includes(name),
      protection: { enabled: (this.opts.protectedBranches ?? []).includes(name) },
      protection_url: `${this.repoUrl()}/branches/${name}/protection`,
    };
  }

  private readonly handlers: Record<
    string,
    (p: Record<string, string>, q: URLSearchParams, b: Record<string, unknown>) => Promise<Reply> | Reply
  > = {
    'repos/get-content': async (p, q) => {
      const ref = q.get('ref') ?? this.remote.defaultBranch;
      const commit = await this.remote.resolve(ref);
      if (!commit) return error(404, `No commit found for the ref ${ref}`);
      const sha = await this.remote.blobAt(commit, p.path!);
      if (!sha) {
        // Like GitHub: a folder's path lists its entries (files and folders, no content).
        const entries = await this.remote.listDir(commit, p.path!);
        if (!entries) return error(404, 'Not Found');
        return {
          status: 200,
          body: entries.map((e) => ({
            ...this.contentShape(`${p.path!.replace(/\/+$/, '')}/${e.name}`, e.sha, e.size, ref),
            type: e.type,
            ...(e.type === 'dir' && { download_url: null }),
          })),
        };
      }
      const data = await this.remote.readBlob(sha);
      const base = this.contentShape(p.path!, sha, data.length, ref);
      // Like GitHub: files over 1 MB come without content (read them as blobs).
      if (data.length > 1024 * 1024) return { status: 200, body: { ...base, content: '', encoding: 'none' } };
      const b64 = data.toString('base64').replace(/.{60}/g, '$&\n');
      return { status: 200, body: { ...base, content: b64, encoding: 'base64' } };
    },
    'git/get-blob': async (p) => {
      const data = await this.remote.readBlob(p.file_sha!);
      return {
        status: 200,
        body: {
          content: data.toString('base64'),
          encoding: 'base64',
          url: `${this.repoUrl()}/git/blobs/${p.file_sha}`,
          sha: p.file_sha,
          size: data.length,
          node_id: `B_${p.file_sha}`,
        },
      };
    },
    'repos/create-or-update-file-contents': async (p, _q, b) => {
      const branch = (b.branch as string | undefined) ?? this.remote.defaultBranch;
      await this.beforeWrite?.(p.path!, branch);
      const custom = (b.author ?? b.committer) as { name: string; email: string } | undefined;
      if ((this.opts.refuseDirectCommitsTo ?? []).includes(branch))
        return error(409, 'Repository rule violations found\n\nChanges must be made through a pull request.\n\n');
      try {
        const r = await this.remote.writeFile({
          branch,
          path: p.path!,
          content: Buffer.from(b.content as string, 'base64'),
          message: b.message as string,
          expectedSha: b.sha as string | undefined,
          author: custom,
        });
        const verified = custom === undefined;
        this.commits.push({ sha: r.commit, path: p.path!, branch, verified, message: b.message as string });
        const size = Buffer.from(b.content as string, 'base64').length;
        const commitUrl = `${this.repoUrl()}/git/commits/${r.commit}`;
        const when = new Date().toISOString();
        return {
          status: b.sha ? 200 : 201,
          body: {
            content: this.contentShape(p.path!, r.blob, size, branch),
            commit: {
              sha: r.commit,
              node_id: `C_${r.commit}`,
              url: commitUrl,
              html_url: `https://github.com/${this.slug}/commit/${r.commit}`,
              author: {
                date: when,
                name: custom?.name ?? 'github-actions[bot]',
                email: custom?.email ?? '41898282+github-actions[bot]@users.noreply.github.com',
              },
              committer: { date: when, name: 'GitHub', email: 'noreply@github.com' },
              message: b.message,
              tree: { url: `${this.repoUrl()}/git/trees/${r.tree}`, sha: r.tree },
              parents: [
                {
                  url: `${this.repoUrl()}/git/commits/${r.parent}`,
                  html_url: `https://github.com/${this.slug}/commit/${r.parent}`,
                  sha: r.parent,
                },
              ],
              verification: verified
                ? {
                    verified: true,
                    reason: 'valid',
                    signature: '-----BEGIN PGP SIGNATURE-----',
                    payload: 'tree',
                    verified_at: when,
                  }
                : { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
            },
          },
        };
      } catch (e) {
        if (e instanceof WriteRefused) return error(e.status, e.message);
        throw e;
      }
    },
    'repos/get-branch': async (p) => {
      const sha = await this.remote.head(p.branch!);
      return sha ? { status: 200, body: this.branchShape(p.branch!, sha) } : error(404, 'Branch not found');
    },
    'git/create-ref': async (_p, _q, b) => {
      const ref = b.ref as string;
      if (!ref.startsWith('refs/heads/')) return error(422, 'Reference name must start with refs/heads/');
      try {
        await this.remote.createBranch(ref.slice('refs/heads/'.length), b.sha as string);
      } catch (e) {
        if (e instanceof WriteRefused) return error(422, e.message);
        throw e;
      }
      return {
        status: 201,
        body: {
          ref,
          node_id: `R_${ref}`,
          url: `${this.repoUrl()}/git/${ref}`,
          object: { type: 'commit', sha: b.sha, url: `${this.repoUrl()}/git/commits/${String(b.sha)}` },
        },
      };
    },
    'repos/get-environment': (p) => {
      const env = this.opts.environments?.[p.environment_name!];
      return env ? { status: 200, body: this.envShape(p.environment_name!, env) } : error(404, 'Not Found');
    },
    'repos/get-collaborator-permission-level': (p) => {
      const perm = this.opts.collaborators?.[p.username!];
      if (!perm) return error(404, `${p.username} is not a user`);
      const legacy = perm === 'maintain' ? 'write' : perm === 'triage' ? 'read' : perm;
      return {
        status: 200,
        body: { permission: legacy, role_name: perm, user: { ...simpleUser(p.username!), role_name: perm } },
      };
    },
    'teams/get-membership-for-user-in-org': (p) => {
      const members = this.opts.teams?.[`${p.org}/${p.team_slug}`] ?? [];
      // Documented as a 404 without a body.
      if (!members.includes(p.username!)) return { status: 404 };
      return {
        status: 200,
        body: { url: `https://api.github.com/teams/1/memberships/${p.username}`, role: 'member', state: 'active' },
      };
    },
    'actions/get-reviews-for-run': (p) => {
      // Scoped by run, not attempt (the endpoint takes no attempt and answers no time): every
      // attempt's reviews, oldest attempt first.
      const reviews = [...(this.opts.reviews?.[Number(p.run_id)] ?? [])].sort(
        (a, b) => (a.attempt ?? 1) - (b.attempt ?? 1),
      );
      return {
        status: 200,
        body: reviews.map((r) => ({
          state: r.state,
          comment: r.comment,
          user: simpleUser(r.user),
          environments: r.environments.map((name) => ({
            id: 100 + name.length,
            node_id: `EN_${name}`,
            name,
            url: `${this.repoUrl()}/environments/${name}`,
            html_url: `https://github.com/${this.slug}/deployments/activity_log?environments_filter=${name}`,
            created_at: '2026-01-01T00:00:00Z',
            updated_at: '2026-01-01T00:00:00Z',
          })),
        })),
      };
    },
    'issues/list-comments': (p, q) => {
      const issue = Number(p.issue_number);
      const all = this.comments.filter((c) => c.issue === issue);
      const perPage = Math.min(100, Number(q.get('per_page') ?? 30));
      const page = Number(q.get('page') ?? 1);
      const slice = all.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < all.length) {
        headers.link = `<${this.url}/repos/${this.slug}/issues/${issue}/comments?per_page=${perPage}&page=${page + 1}>; rel="next"`;
      }
      return { status: 200, body: slice.map((c) => this.commentShape(c)), headers };
    },
    'issues/create-comment': (p, _q, b) => {
      const now = new Date().toISOString();
      const c: FakeComment = {
        id: this.id(),
        issue: Number(p.issue_number),
        body: b.body as string,
        user: BOT_LOGIN,
        created_at: now,
        updated_at: now,
      };
      this.comments.push(c);
      return {
        status: 201,
        body: this.commentShape(c),
        headers: { location: `${this.repoUrl()}/issues/comments/${c.id}` },
      };
    },
    'issues/update-comment': (p, _q, b) => {
      const c = this.comments.find((x) => x.id === Number(p.comment_id));
      if (!c) return error(404, 'Not Found');
      if (c.user !== BOT_LOGIN) return error(403, 'Resource not accessible by integration');
      c.body = b.body as string;
      c.updated_at = new Date().toISOString();
      return { status: 200, body: this.commentShape(c) };
    },
    'actions/create-workflow-dispatch': (p, _q, b) => {
      if (b.return_run_details !== undefined && this.opts.dispatchRunDetails === false) {
        return error(422, 'Invalid request. "return_run_details" is not a permitted key.');
      }
      const runId = this.id() * 1000;
      this.dispatches.push({
        workflow: p.workflow_id!,
        ref: b.ref as string,
        inputs: (b.inputs ?? {}) as Record<string, unknown>,
        runId,
      });
      if (b.return_run_details !== true) return { status: 204 };
      return {
        status: 200,
        body: {
          workflow_run_id: runId,
          run_url: `${this.repoUrl()}/actions/runs/${runId}`,
          html_url: `https://github.com/${this.slug}/actions/runs/${runId}`,
        },
      };
    },
    'repos/create-deployment': async (_p, _q, b) => {
      const id = this.id();
      const sha = (await this.remote.resolve(b.ref as string)) ?? (b.ref as string);
      this.deployments.push({
        id,
        environment: b.environment as string,
        ref: b.ref as string,
        task: (b.task as string | undefined) ?? 'deploy',
        payload: b.payload,
        statuses: [],
      });
      const now = new Date().toISOString();
      return {
        status: 201,
        body: {
          url: `${this.repoUrl()}/deployments/${id}`,
          id,
          node_id: `D_${id}`,
          sha,
          ref: b.ref,
          task: (b.task as string | undefined) ?? 'deploy',
          payload: b.payload ?? {},
          original_environment: b.environment,
          environment: b.environment,
          description: b.description ?? null,
          creator: simpleUser(BOT_LOGIN),
          created_at: now,
          updated_at: now,
          statuses_url: `${this.repoUrl()}/deployments/${id}/statuses`,
          repository_url: this.repoUrl(),
          transient_environment: Boolean(b.transient_environment),
          production_environment: Boolean(b.production_environment),
        },
      };
    },
    'issues/list-for-repo': (_p, q) => {
      const labels = (q.get('labels') ?? '').split(',').filter((l) => l !== '');
      const state = q.get('state') ?? 'open';
      const page = Number(q.get('page') ?? 1);
      const perPage = Number(q.get('per_page') ?? 30);
      const matching = [...this.issues]
        .reverse()
        .filter((i) => (state === 'all' || i.state === state) && labels.every((l) => i.labels.includes(l)));
      return { status: 200, body: matching.slice((page - 1) * perPage, page * perPage).map((i) => this.issueShape(i)) };
    },
    'issues/create': (_p, _q, b) => {
      const number = this.id();
      const issue = {
        number,
        title: b.title as string,
        body: (b.body as string | undefined) ?? '',
        labels: ((b.labels as string[] | undefined) ?? []).map(String),
        state: 'open' as const,
      };
      this.issues.push(issue);
      return { status: 201, body: this.issueShape(issue) };
    },
    'issues/update': (p, _q, b) => {
      const issue = this.issues.find((i) => i.number === Number(p.issue_number));
      if (!issue) return error(404, 'Not Found');
      if (typeof b.title === 'string') issue.title = b.title;
      if (typeof b.body === 'string') issue.body = b.body;
      if (b.state === 'open' || b.state === 'closed') issue.state = b.state;
      if (typeof b.state_reason === 'string') issue.stateReason = b.state_reason;
      return { status: 200, body: this.issueShape(issue) };
    },
    'repos/list-deployments': async (_p, q) => {
      // Like GitHub: newest first, filtered by the query's environment, task, ref and sha.
      const perPage = Number(q.get('per_page') ?? 30);
      const matching = [...this.deployments]
        .reverse()
        .filter(
          (d) =>
            (q.get('environment') === null || d.environment === q.get('environment')) &&
            (q.get('task') === null || d.task === q.get('task')),
        )
        .slice(0, perPage);
      const body = await Promise.all(
        matching.map(async (d) => ({
          url: `${this.repoUrl()}/deployments/${d.id}`,
          id: d.id,
          node_id: `D_${d.id}`,
          sha: (await this.remote.resolve(d.ref)) ?? d.ref,
          ref: d.ref,
          task: d.task,
          payload: d.payload ?? {},
          original_environment: d.environment,
          environment: d.environment,
          description: null,
          creator: simpleUser(BOT_LOGIN),
          created_at: '2026-01-01T00:00:00Z',
          updated_at: '2026-01-01T00:00:00Z',
          statuses_url: `${this.repoUrl()}/deployments/${d.id}/statuses`,
          repository_url: this.repoUrl(),
        })),
      );
      return { status: 200, body };
    },
    'repos/create-deployment-status': (p, _q, b) => {
      const d = this.deployments.find((x) => x.id === Number(p.deployment_id));
      if (!d) return error(404, 'Not Found');
      d.statuses.push({ state: b.state as string, description: (b.description as string) ?? '' });
      const id = this.id();
      const now = new Date().toISOString();
      return {
        status: 201,
        body: {
          url: `${this.repoUrl()}/deployments/${d.id}/statuses/${id}`,
          id,
          node_id: `DS_${id}`,
          state: b.state,
          creator: simpleUser(BOT_LOGIN),
          description: b.description ?? '',
          environment: d.environment,
          target_url: '',
          log_url: b.log_url ?? '',
          created_at: now,
          updated_at: now,
          deployment_url: `${this.repoUrl()}/deployments/${d.id}`,
          repository_url: this.repoUrl(),
        },
      };
    },
  };
}
