/**
 * Given/when/then for GitHub-side scenarios: a fake GitHub API backed by a real
 * git repository that holds a rollout spec, a real local fleet, and the
 * composite actions run step by step the way the runner runs them, each job in
 * a fresh checkout of the commit that started the workflow.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAgentVersion } from '../../src/fleet/client.js';
import { startLocalFleet, type LocalFleet } from '../../src/fleet/local-fleet.js';
import { parseState } from '../../src/state/parse.js';
import type { RolloutState } from '../../src/state/types.js';
import { specText, type SpecOptions } from '../helpers/rollout-repo.js';
import { FakeGitHub, type FakeGitHubOptions } from '../github/fake-github.js';
import { runAction, type ActionRun } from './runner.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`node scripts/build.mjs\` (npm test does)`);

export const SPEC = 'rollouts/svc.yaml';
export const STATE = 'rollouts/svc.state.yaml';

export interface JobOptions {
  /** Event payload fields besides `repository`. */
  event?: Record<string, unknown>;
  eventName?: string;
  actor?: string;
  runId?: number;
  /** Commit the job checks out (default: the default branch head when the job starts). */
  sha?: string;
  env?: Record<string, string>;
}

export class GitHubScenario {
  private runs = 100;
  private constructor(
    readonly github: FakeGitHub,
    readonly fleet: LocalFleet,
  ) {}

  /** Given: a repository on the fake GitHub whose default branch holds `rollouts/svc.yaml` over a real fleet. */
  static async create(opts: {
    count: number;
    version: string;
    spec: SpecOptions;
    github?: Omit<FakeGitHubOptions, 'files'>;
  }): Promise<GitHubScenario> {
    const fleet = await startLocalFleet({ count: opts.count, version: opts.version, idPrefix: 't-', upgradeMs: 20 });
    const inventory = `targets:\n${fleet.targets.map((t) => `  - { id: ${t.id}, address: '${t.address}' }`).join('\n')}\n`;
    const github = await FakeGitHub.start({
      ...opts.github,
      files: {
        'inventory.yaml': inventory,
        [SPEC]: specText({ ...opts.spec, name: 'svc' }),
        '.gitignore': '.fleetgate/\n',
      },
    });
    return new GitHubScenario(github, fleet);
  }

  /** A person's change landing on a branch (a pull request head, or a merge to the default branch). */
  async commitSpec(spec: SpecOptions, branch = 'main', message = `propose ${spec.version}`): Promise<string> {
    const exists = (await this.github.remote.head(branch)) !== undefined;
    const dir = await this.github.remote.clone(exists ? branch : this.github.remote.defaultBranch);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
    if (!exists) git('checkout', '--quiet', '-b', branch);
    writeFileSync(join(dir, SPEC), specText({ ...spec, name: 'svc' }));
    git('commit', '--quiet', '-am', message);
    await this.github.remote.push(dir, branch);
    return git('rev-parse', 'HEAD');
  }

  /** A fresh checkout of `sha` (or the branch head), as `actions/checkout` makes for each job. */
  async checkout(ref?: string): Promise<string> {
    const dir = await this.github.remote.clone();
    if (ref) execFileSync('git', ['checkout', '--quiet', ref], { cwd: dir });
    return dir;
  }

  /** When: a job runs `uses: ./actions/<name>` with these inputs. */
  async job(name: string, inputs: Record<string, string>, opts: JobOptions = {}): Promise<ActionRun> {
    const runId = opts.runId ?? this.runs++;
    const sha = opts.sha ?? (await this.github.remote.head('main'))!;
    const workspace = await this.checkout(sha);
    const event = {
      repository: { default_branch: 'main', full_name: this.github.slug },
      ...opts.event,
    };
    return runAction(name, {
      with: inputs,
      workspace,
      event,
      token: this.github.opts.token,
      env: {
        ...this.github.env(),
        GITHUB_RUN_ID: String(runId),
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_ACTOR: opts.actor ?? 'alice',
        GITHUB_TRIGGERING_ACTOR: opts.actor ?? 'alice',
        GITHUB_SHA: sha,
        GITHUB_REF: 'refs/heads/main',
        GITHUB_REF_NAME: 'main',
        GITHUB_EVENT_NAME: opts.eventName ?? 'push',
        GITHUB_WORKFLOW_REF: `${this.github.slug}/.github/workflows/fleetgate-rollout.yml@refs/heads/main`,
        NO_COLOR: '1',
        ...opts.env,
      },
    });
  }

  /** Then: the state as committed on `branch`. */
  async state(branch = 'main'): Promise<RolloutState | undefined> {
    const text = await this.github.remote.read(branch, STATE);
    return text === undefined ? undefined : parseState(text, STATE);
  }

  /** Then: what each agent reports. */
  async versions(): Promise<string[]> {
    return Promise.all(this.fleet.targets.map(async (t) => (await readAgentVersion(t.address)).version));
  }

  async close(): Promise<void> {
    await this.fleet.stop();
    await this.github.close();
  }
}

/** The annotations (`::error file=…::message`) a run printed. */
export function annotations(run: ActionRun): string[] {
  return `${run.stdout}\n${run.stderr}`.split('\n').filter((l) => /^::(error|warning|notice)/.test(l));
}
