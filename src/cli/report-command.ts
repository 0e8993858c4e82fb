/**
 * `fleetgate report <spec>`: writes the rollout's report, one self-contained HTML
 * page (see `src/report/html.ts`), from its state. Vega is loaded only here, so
 * the other commands do not parse it at start-up.
 */
import type { Command } from 'commander';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadRollout } from '../app/session.js';
import { addStateBackendOptions, readStateWithBackend } from '../github/backend.js';
import { statePathFor } from '../state/store.js';
import type { PlanHints } from '../report/model.js';

/** Where the report goes by default: `rollouts/.fleetgate/<name>.report.html` beside the spec (git-ignored with `.fleetgate/`). */
export function defaultReportPath(specPath: string): string {
  const base = basename(specPath).replace(/\.ya?ml$/i, '');
  return join(dirname(specPath), '.fleetgate', `${base}.report.html`);
}

/** Options of {@link writeReport}. */
export interface WriteReportOptions {
  out?: string;
  stateBackend?: string;
  stateBranch?: string;
  /** The report's time (ms); default now. */
  nowMs?: number;
}

/**
 * Reads the state of `specPath` and writes its report.
 * @returns the absolute path written, or `undefined` when the rollout has no state yet
 */
export async function writeReport(specPath: string, opts: WriteReportOptions = {}): Promise<string | undefined> {
  const state = await readStateWithBackend(statePathFor(specPath), opts);
  if (!state) return undefined;
  // The plan adds each wave's observation length and tier; the report stands without it
  // (an inventory that no longer loads must not keep anyone from reading what happened).
  let hints: PlanHints = {};
  try {
    const loaded = await loadRollout(specPath, { recorded: () => Promise.resolve(state) });
    hints = {
      observeMs: Object.fromEntries(loaded.plan.waves.map((w) => [w.id, w.observeMs])),
      tiers: Object.fromEntries(loaded.plan.waves.map((w) => [w.id, w.tier])),
    };
  } catch {
    hints = {};
  }
  const { renderReport } = await import('../report/html.js');
  const html = await renderReport(state, { hints, nowMs: opts.nowMs });
  const out = resolve(opts.out ?? defaultReportPath(specPath));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, html, 'utf8');
  return out;
}

/**
 * The job summary's line linking the uploaded report (`actions/upload-artifact`'s `artifact-url`).
 * @returns the Markdown line, or `undefined` for anything but an https address (never a broken link)
 */
export function reportLinkLine(url: string): string | undefined {
  if (!/^https:\/\/\S+$/.test(url)) return undefined;
  return `\n📊 [Rollout report](${url}): the timeline, every wave and a chart of every metric (one HTML file in a zip; it opens in any browser without network).\n`;
}

/** Registers `report` on the CLI. */
export function registerReportCommand(program: Command): void {
  addStateBackendOptions(
    program
      .command('report')
      .description('write the rollout report: one self-contained HTML page with its timeline, waves and metric charts')
      .argument('[spec]', 'rollout spec file')
      .option('-o, --out <file>', 'where to write it (default: .fleetgate/<name>.report.html beside the spec)')
      .option(
        '--link-summary <url>',
        'instead: add a link to the uploaded report to the job summary ($GITHUB_STEP_SUMMARY; used by the actions)',
      ),
  ).action(async (spec: string | undefined, flags: WriteReportOptions & { linkSummary?: string }) => {
    if (flags.linkSummary !== undefined) {
      const line = reportLinkLine(flags.linkSummary);
      if (line === undefined) {
        process.stderr.write(`not linking the report: ${JSON.stringify(flags.linkSummary)} is not an https address\n`);
        return;
      }
      const summary = process.env.GITHUB_STEP_SUMMARY;
      if (summary) await appendFile(summary, line, 'utf8');
      else process.stdout.write(line);
      return;
    }
    if (spec === undefined) {
      process.stderr.write("error: missing required argument 'spec'\n");
      process.exitCode = 2;
      return;
    }
    const out = await writeReport(spec, flags);
    if (out === undefined) {
      process.stderr.write(`no state for ${spec} yet: nothing has run, so there is nothing to report\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${out}\n`);
  });
}
