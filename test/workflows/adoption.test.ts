/**
 * The adoption guide is followed step by step (issue 12, "Done means"): a consumer repository
 * is built in a temporary directory from docs/github.md's own marked blocks — a fenced block
 * right after `<!-- adoption: <path> -->` is written to <path>, and
 * `<!-- adoption: <path> = <file of this repository> -->` copies that file, as the guide tells
 * the reader to — and then checked: actionlint and GitHub's workflow parser accept every
 * workflow, `fleetgate validate` accepts the spec, and the workflows call the reusable workflow
 * and the actions the way the guide says (inputs that exist, the secrets passed, the variables,
 * environments and runner labels the guide tells the reader to create).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionlint } from './actionlint.js';
import { ROOT } from './workflow-files.js';

const GUIDE_PATH = join(ROOT, 'docs/github.md');
const guide = readFileSync(GUIDE_PATH, 'utf8');
/** The guide's adoption section (from its heading to the next `## `). */
const section = (() => {
  const start = guide.indexOf('## Adopt it');
  const end = guide.indexOf('\n## ', start + 1);
  return guide.slice(start, end === -1 ? undefined : end);
})();
const flat = section.replace(/\s+/g, ' ');

interface Marked {
  path: string;
  content: string;
  from: string;
}

/** The files the guide marks, in order: inline blocks and copies. */
export function markedFiles(markdown: string): Marked[] {
  const out: Marked[] = [];
  const marker = /<!-- adoption: (\S+?)(?: = (\S+))? -->\n/g;
  for (let m = marker.exec(markdown); m; m = marker.exec(markdown)) {
    const [, path, copyOf] = m as unknown as [string, string, string | undefined];
    if (copyOf) {
      out.push({ path, content: readFileSync(join(ROOT, copyOf), 'utf8'), from: copyOf });
      continue;
    }
    const fence = /^```[\w-]*\n([\s\S]*?)^```$/m.exec(markdown.slice(marker.lastIndex));
    if (!fence || fence.index !== 0) throw new Error(`adoption marker for ${path} is not followed by a fenced block`);
    out.push({ path, content: fence[1]!, from: 'docs/github.md' });
  }
  return out;
}

type Step = { uses?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = { uses?: string; with?: Record<string, unknown>; secrets?: unknown; steps?: Step[] };
type Workflow = { jobs: Record<string, Job> };

const files = markedFiles(section);
const repo = mkdtempSync(join(tmpdir(), 'fleetgate-adopter-'));
const workflows = files.filter((f) => f.path.startsWith('.github/workflows/'));
const specs = files.filter((f) => /^rollouts\/[^/]+\.ya?ml$/.test(f.path));

function inputsOf(file: string): Record<string, unknown> {
  const doc = parse(readFileSync(join(ROOT, file), 'utf8')) as {
    inputs?: Record<string, unknown>;
    on?: { workflow_call?: { inputs?: Record<string, unknown> } };
  };
  return doc.inputs ?? doc.on?.workflow_call?.inputs ?? {};
}

async function parserProblems(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const out = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) out.push(e.Message);
  }
  return out;
}

beforeAll(() => {
  for (const f of files) {
    mkdirSync(join(repo, dirname(f.path)), { recursive: true });
    writeFileSync(join(repo, f.path), f.content);
  }
});

describe('the adoption guide builds a consumer repository', () => {
  it('marks a spec and the workflows (at least rollout, pr, decide, rollback), each path once', () => {
    expect(specs.map((f) => f.path)).toEqual(['rollouts/edge.yaml']);
    expect(workflows.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        '.github/workflows/fleetgate-decide.yml',
        '.github/workflows/fleetgate-pr.yml',
        '.github/workflows/fleetgate-rollback.yml',
        '.github/workflows/fleetgate-rollout.yml',
      ]),
    );
    expect(new Set(files.map((f) => f.path)).size).toBe(files.length);
  });

  it('shows the rollout workflow exactly as the example ships it (the guide and the example cannot drift)', () => {
    const inline = files.find((f) => f.path === '.github/workflows/fleetgate-rollout.yml')!;
    expect(inline.from).toBe('docs/github.md');
    expect(inline.content).toBe(readFileSync(join(ROOT, 'examples/workflows/fleetgate-rollout.yml'), 'utf8'));
  });

  it.each(workflows.map((f) => [f.path, f] as const))('actionlint accepts %s', async (path) => {
    expect(await actionlint(readFileSync(join(repo, path), 'utf8'), path)).toEqual([]);
  });

  it.each(workflows.map((f) => [f.path, f] as const))("GitHub's workflow parser accepts %s", async (path) => {
    expect(await parserProblems(path, readFileSync(join(repo, path), 'utf8'))).toEqual([]);
  });

  it('fleetgate validate accepts the spec, in the consumer repository', () => {
    const cli = join(ROOT, 'dist/cli.js');
    expect(existsSync(cli), 'build first: node scripts/build.mjs').toBe(true);
    const r = spawnSync(process.execPath, [cli, 'validate', ...specs.map((s) => s.path)], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toMatch(/rollouts\/edge\.yaml: valid/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('the workflows use Fleetgate the way the guide says', () => {
  const docs = () =>
    workflows.map((f) => ({ path: f.path, doc: parse(readFileSync(join(repo, f.path), 'utf8')) as Workflow }));
  const text = () => workflows.map((f) => readFileSync(join(repo, f.path), 'utf8')).join('\n');
  const spec = () =>
    parse(readFileSync(join(repo, 'rollouts/edge.yaml'), 'utf8')) as {
      gates: { canary: string; promote: string };
      tiers: { runsOn?: string[] }[];
      analysis: { provider: { prometheus: { bearerTokenEnv: string } } };
    };

  it('calls the reusable workflow with inputs it has, secrets: inherit, and a continuation the repository holds', () => {
    const inputs = inputsOf('.github/workflows/rollout.yml');
    const callers = docs().flatMap(({ path, doc }) =>
      Object.values(doc.jobs)
        .filter((j) => j.uses)
        .map((j) => ({ path, job: j })),
    );
    expect(callers.map((c) => c.job.uses)).toEqual(['fleetgate/fleetgate/.github/workflows/rollout.yml@v1']);
    const { job } = callers[0]!;
    expect(job.secrets).toBe('inherit');
    expect(Object.keys(job.with ?? {}).filter((k) => !(k in inputs))).toEqual([]);
    expect(job.with?.['state-branch']).toBe('${{ vars.FLEETGATE_STATE_BRANCH }}');
    expect(String(job.with?.['runs-on'])).toMatch(/vars\.FLEETGATE_RUNS_ON/);
    expect(existsSync(join(repo, '.github/workflows', String(job.with?.['continuation-workflow'])))).toBe(true);
  });

  it('uses only Fleetgate actions that exist, at @v1, with inputs they take', () => {
    const wrong: string[] = [];
    let calls = 0;
    for (const { path, doc } of docs())
      for (const job of Object.values(doc.jobs))
        for (const step of job.steps ?? []) {
          if (!step.uses?.startsWith('fleetgate/')) continue;
          calls++;
          const m = /^fleetgate\/fleetgate\/actions\/([a-z-]+)@v1$/.exec(step.uses);
          if (!m || !existsSync(join(ROOT, 'actions', m[1]!, 'action.yml'))) {
            wrong.push(`${path}: ${step.uses}`);
            continue;
          }
          const inputs = inputsOf(`actions/${m[1]!}/action.yml`);
          for (const k of Object.keys(step.with ?? {}))
            if (!(k in inputs)) wrong.push(`${path}: ${step.uses} has no input ${k}`);
          if ('state-branch' in inputs && step.with?.['state-branch'] !== '${{ vars.FLEETGATE_STATE_BRANCH }}')
            wrong.push(`${path}: ${step.uses} does not pass FLEETGATE_STATE_BRANCH`);
        }
    expect(wrong).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(7);
  });

  it('dispatches only workflows the repository holds', () => {
    for (const { path, doc } of docs())
      for (const job of Object.values(doc.jobs))
        for (const step of job.steps ?? [])
          if (step.uses?.startsWith('fleetgate/fleetgate/actions/dispatch@') && step.with?.workflow)
            expect(existsSync(join(repo, '.github/workflows', step.with.workflow as string)), path).toBe(true);
  });

  it('the guide tells the reader to set every repository variable the workflows read', () => {
    const used = [...new Set([...text().matchAll(/\bvars\.([A-Z0-9_]+)/g)].map((m) => m[1]!))].sort();
    expect(used).toEqual(expect.arrayContaining(['FLEETGATE_RUNS_ON', 'FLEETGATE_STATE_BRANCH']));
    for (const name of used) expect(section, name).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
    expect(flat).toMatch(/`FLEETGATE_STATE_BRANCH` \| `fleetgate-state`/);
  });

  it('the guide tells the reader to store every secret the workflows pass, and the one the spec reads', () => {
    const used = [...new Set([...text().matchAll(/\bsecrets\.([A-Z0-9_]+)/g)].map((m) => m[1]!))];
    const declared = Object.keys(
      (
        parse(readFileSync(join(ROOT, '.github/workflows/rollout.yml'), 'utf8')) as {
          on: { workflow_call: { secrets: Record<string, unknown> } };
        }
      ).on.workflow_call.secrets,
    );
    const step = section.slice(section.indexOf('### 5.'), section.indexOf('### 6.'));
    for (const name of new Set([...used, ...declared])) expect(step, name).toContain(`\`${name}\``);
    expect(step).toContain(`\`${spec().analysis.provider.prometheus.bearerTokenEnv}\``);
    expect(step).toMatch(/secrets: inherit/);
  });

  it('the guide creates the environments the spec and the workflow name, per plan', () => {
    const step = section.slice(section.indexOf('### 7.'), section.indexOf('### 8.'));
    const rollout = parse(readFileSync(join(repo, '.github/workflows/fleetgate-rollout.yml'), 'utf8')) as Workflow;
    const observe = String(Object.values(rollout.jobs).find((j) => j.uses)!.with!['observe-environment']);
    for (const env of [spec().gates.canary, spec().gates.promote, observe]) expect(step, env).toContain(`\`${env}\``);
    expect(step).toMatch(/required reviewers/);
    expect(step).toMatch(/wait timer/);
    expect(step.replace(/\s+/g, ' ')).toMatch(/Private repositories on Team.*GatePending.*`continue`/);
  });

  it('the guide registers the runners the spec names, and says where they belong', () => {
    const step = section.slice(section.indexOf('### 6.'), section.indexOf('### 7.'));
    const labels = spec()
      .tiers.flatMap((t) => t.runsOn ?? [])
      .filter((l) => l !== 'self-hosted');
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels) expect(step).toContain(`\`${l}\``);
    expect(step).toMatch(/Runner placement/);
  });

  it('the guide covers each plan and the allowed-actions policy', () => {
    expect(flat).toMatch(
      /\| \| public repository \(any plan\) \| private repository, Team \(or Free, Pro\) \| GitHub Enterprise Cloud \|/,
    );
    const step = section.slice(section.indexOf('### 1.'), section.indexOf('### 2.'));
    expect(step).toMatch(/Allow actions created by GitHub/);
    expect(step).toContain('`fleetgate/*`');
    // The actions the workflows use besides Fleetgate's are GitHub's own (covered by that box).
    const others = [...text().matchAll(/uses:\s*([\w.-]+)\/[\w.-]+(?:\/[^@\s]*)?@/g)]
      .map((m) => m[1]!)
      .filter((o) => o !== 'fleetgate');
    expect([...new Set(others)]).toEqual(['actions']);
    const names = readdirSync(join(repo, '.github/workflows'));
    expect(names).toHaveLength(workflows.length);
  });
});
