/**
 * A real git repository standing in for GitHub's storage: a bare repository
 * (what the fake API serves and writes) plus work-tree clones (what a runner's
 * checkout sees). Writes use git plumbing with a compare-and-swap on both the
 * file's blob sha and the branch ref, so a stale sha is refused the way GitHub
 * refuses it (409) and two writers can never both win.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The committer GitHub uses for API commits made with GITHUB_TOKEN and no custom author. */
export const ACTIONS_BOT = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};

function run(
  cwd: string,
  args: string[],
  opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd, env: { ...process.env, ...opts.env }, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(new Error(`git ${args.join(' ')}: ${stderr || error.message}`), { stderr }));
        else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** A refused write, with the status GitHub answers. */
export class WriteRefused extends Error {
  constructor(
    readonly status: 404 | 409 | 422,
    message: string,
  ) {
    super(message);
  }
}

export class GitRemote {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** Temporary folder holding everything. */
    readonly root: string,
    /** The bare repository. */
    readonly bare: string,
    readonly defaultBranch: string,
  ) {}

  /** Creates a bare repository whose default branch holds `files` in one commit. */
  static async create(files: Record<string, string>, defaultBranch = 'main'): Promise<GitRemote> {
    const root = mkdtempSync(join(tmpdir(), 'fleetgate-gh-'));
    const bare = join(root, 'remote.git');
    await run(root, ['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, bare]);
    const seed = join(root, 'seed');
    await run(root, ['init', '--quiet', `--initial-branch=${defaultBranch}`, seed]);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(seed, path)), { recursive: true });
      writeFileSync(join(seed, path), content);
    }
    await run(seed, ['add', '-A']);
    await run(seed, [
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      'commit',
      '--quiet',
      '--allow-empty',
      '-m',
      'initial',
    ]);
    await run(seed, ['push', '--quiet', bare, `HEAD:refs/heads/${defaultBranch}`]);
    rmSync(seed, { recursive: true, force: true });
    return new GitRemote(root, bare, defaultBranch);
  }

  /** Runs `fn` alone (GitHub processes writes to one repository one at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  git(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    return run(this.bare, args, opts);
  }

  /** Commit sha of a branch head, or `undefined`. */
  async head(branch: string): Promise<string | undefined> {
    try {
      return (
        (await this.git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`])).trim() || undefined
      );
    } catch {
      return undefined;
    }
  }

  /** Commit sha a branch, tag or sha names, or `undefined`. */
  async resolve(ref: string): Promise<string | undefined> {
    for (const candidate of [`refs/heads/${ref}`, `refs/tags/${ref}`, ref]) {
      try {
        const sha = (await this.git(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`])).trim();
        if (sha) return sha;
      } catch {
        // next
      }
    }
    return undefined;
  }

  /** Blob sha of `path` at commit `commit`, or `undefined`. */
  async blobAt(commit: string, path: string): Promise<string | undefined> {
    try {
      const out = (await this.git(['ls-tree', commit, '--', path])).trim();
      const m = /^100\d{3} blob ([0-9a-f]{40})\t/.exec(out);
      return m?.[1];
    } catch {
      return undefined;
    }
  }

  /** Entries directly in folder `path` at `commit` (`undefined` when it is not a folder there). */
  async listDir(
    commit: string,
    path: string,
  ): Promise<{ name: string; type: 'file' | 'dir'; sha: string; size: number }[] | undefined> {
    let out: string;
    try {
      out = await this.git(['ls-tree', '-l', commit, '--', `${path.replace(/\/+$/, '')}/`]);
    } catch {
      return undefined;
    }
    const entries = out
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const m = /^\d{6} (blob|tree) ([0-9a-f]{40}) +(-|\d+)\t(.*)$/.exec(line);
        if (!m) throw new Error(`git ls-tree: unexpected line ${line}`);
        const name = m[4]!.split('/').at(-1)!;
        return {
          name,
          type: m[1] === 'blob' ? ('file' as const) : ('dir' as const),
          sha: m[2]!,
          size: m[3] === '-' ? 0 : Number(m[3]),
        };
      });
    return entries.length > 0 ? entries : undefined;
  }

  async readBlob(sha: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['cat-file', 'blob', sha],
        { cwd: this.bare, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
        (e, out) => {
          if (e) reject(new Error(`git cat-file blob ${sha}: ${e.message}`));
          else resolve(out);
        },
      );
    });
  }

  /** Text of `path` on `branch`, or `undefined`. */
  async read(branch: string, path: string): Promise<string | undefined> {
    const head = await this.head(branch);
    const blob = head && (await this.blobAt(head, path));
    return blob ? (await this.readBlob(blob)).toString('utf8') : undefined;
  }

  /**
   * Writes one file in one commit on `branch`, as the contents API does.
   * @param expectedSha - blob sha being replaced (`undefined`: the file must not exist)
   * @param author - custom author (then GitHub cannot sign the commit)
   * @throws WriteRefused 404 (no branch), 409 (stale sha), 422 (sha missing for an existing file)
   */
  writeFile(req: {
    branch: string;
    path: string;
    content: Buffer;
    message: string;
    expectedSha?: string;
    author?: { name: string; email: string };
  }): Promise<{ commit: string; blob: string; parent: string; tree: string }> {
    return this.serial(async () => {
      const parent = await this.head(req.branch);
      if (!parent) throw new WriteRefused(404, `Branch ${req.branch} not found`);
      const current = await this.blobAt(parent, req.path);
      if (current && !req.expectedSha) throw new WriteRefused(422, 'Invalid request.\n\n"sha" wasn\'t supplied.');
      if (req.expectedSha && req.expectedSha !== current)
        throw new WriteRefused(409, `${req.path} does not match ${req.expectedSha}`);
      const blob = (await this.git(['hash-object', '-w', '--stdin'], { input: req.content })).trim();
      const index = join(this.root, `index-${process.pid}-${Date.now()}`);
      const env = { GIT_INDEX_FILE: index };
      try {
        await this.git(['read-tree', parent], { env });
        await this.git(['update-index', '--add', '--cacheinfo', `100644,${blob},${req.path}`], { env });
        const tree = (await this.git(['write-tree'], { env })).trim();
        const who = req.author ?? ACTIONS_BOT;
        const commit = (
          await this.git(['commit-tree', tree, '-p', parent, '-m', req.message], {
            env: {
              GIT_AUTHOR_NAME: who.name,
              GIT_AUTHOR_EMAIL: who.email,
              GIT_COMMITTER_NAME: ACTIONS_BOT.name,
              GIT_COMMITTER_EMAIL: ACTIONS_BOT.email,
            },
          })
        ).trim();
        try {
          // Compare-and-swap on the ref too: refused unless the branch still points at `parent`.
          await this.git(['update-ref', `refs/heads/${req.branch}`, commit, parent]);
        } catch {
          throw new WriteRefused(409, `reference update failed: ${req.branch} moved`);
        }
        return { commit, blob, parent, tree };
      } finally {
        rmSync(index, { force: true });
      }
    });
  }

  /** Creates a branch at `sha`. @throws WriteRefused 422 when it exists */
  createBranch(branch: string, sha: string): Promise<void> {
    return this.serial(async () => {
      if (await this.head(branch)) throw new WriteRefused(422, 'Reference already exists');
      await this.git(['update-ref', `refs/heads/${branch}`, sha, '0000000000000000000000000000000000000000']);
    });
  }

  /** Commits on `branch`, newest first: sha, subject, author and committer names. */
  async log(branch: string): Promise<{ sha: string; subject: string; author: string; committer: string }[]> {
    const out = await this.git(['log', '--format=%H%x09%an%x09%cn%x09%s', `refs/heads/${branch}`]);
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [sha, author, committer, subject] = l.split('\t') as [string, string, string, string];
        return { sha, author, committer, subject };
      });
  }

  /** A work-tree clone of `branch` in a new folder (a runner's checkout). */
  async clone(branch = this.defaultBranch): Promise<string> {
    const dir = mkdtempSync(join(this.root, 'checkout-'));
    await run(this.root, ['clone', '--quiet', '--branch', branch, this.bare, dir]);
    await run(dir, ['config', 'user.name', 't']);
    await run(dir, ['config', 'user.email', 't@t']);
    return dir;
  }

  /** Pushes a commit made in a clone (a merged pull request). */
  async push(clone: string, branch = this.defaultBranch): Promise<void> {
    await run(clone, ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`]);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
