/**
 * `fleetgate github preflight`: read-only preflight: targets, version policy and skew, the gates' environments, where the state is committed.
 */
import type { Command } from 'commander';
import { loadRollout, type LoadedRollout } from '../../app/session.js';
import { createScmFromEnv, readActionsContext, type ActionsContext } from '../actions-env.js';
import {
  addStateBackendOptions,
  readStateWithBackend,
  resolveStateTarget,
  usesGitHubBackend,
  type StateBackendFlags,
} from '../backend.js';
import { auditEnvironments, type GateAudit } from '../environments.js';
import { PLAN_COMMENT_MARKER, code, renderPlanComment } from '../markdown.js';
import type { RolloutScm } from '../scm.js';
import { annotate, setOutputs, writeSummary } from '../runner-io.js';
import { EXIT, preflightOf, maxObserveMs } from './shared.js';

/** Explains where the state will be committed and whether branch protection stands in the way. */
async function explainStateLocation(
  scm: RolloutScm,
  loaded: LoadedRollout,
  flags: StateBackendFlags,
  ctx: ActionsContext,
): Promise<{ severity: 'notice' | 'warning'; message: string }> {
  if (!usesGitHubBackend(flags)) {
    return {
      severity: 'notice',
      message: `state: ${loaded.statePath} on this runner, committed with git (local backend)`,
    };
  }
  const target = await resolveStateTarget(loaded.statePath, flags, ctx);
  const branch = await scm.getBranch(target.branch);
  if (target.createFrom) {
    return {
      severity: 'notice',
      message: `state: ${target.path} on the dedicated branch ${target.branch} (${branch ? 'exists' : `will be created from ${target.createFrom}`}), committed through the contents API; the default branch stays untouched.`,
    };
  }
  if (branch?.protected) {
    return {
      severity: 'warning',
      message: `state: ${target.path} on ${target.branch}, which is protected: state commits made with GITHUB_TOKEN are refused unless its rules let github-actions push. Set \`state-branch\` (e.g. fleetgate-state) to keep state on a dedicated branch created from ${target.branch}.`,
    };
  }
  return {
    severity: 'notice',
    message: `state: ${target.path} on ${target.branch} (not protected), committed through the contents API after every wave.`,
  };
}

/** Adds `preflight` to the `github` command group. */
export function registerPreflightCommand(gh: Command): void {
  addStateBackendOptions(
    gh
      .command('preflight')
      .description('read-only: targets answer, version policy and skew, gate environments, where state is committed')
      .argument('<spec>', 'rollout spec file')
      .option('--no-probe', 'do not probe the targets')
      .option('--no-audit', 'do not read the environments')
      .option('--observe-environment <env>', 'environment whose wait timer holds observation windows', '')
      .option('--fallback-permission <permission>', 'permission a fallback approval needs', 'maintain'),
  ).action(
    async (
      spec: string,
      flags: StateBackendFlags & {
        probe: boolean;
        audit: boolean;
        observeEnvironment: string;
        fallbackPermission: string;
      },
    ) => {
      const ctx = readActionsContext();
      const loaded = await loadRollout(spec);
      const report = flags.probe ? await preflightOf(loaded, flags) : undefined;
      const needScm = flags.audit || usesGitHubBackend(flags);
      const scm = needScm ? await createScmFromEnv(ctx) : undefined;
      let audit: GateAudit[] = [];
      if (flags.audit && scm) {
        audit = await auditEnvironments(scm, loaded.spec.gates, {
          observeEnvironment: flags.observeEnvironment || undefined,
          maxObserveMs: maxObserveMs(loaded),
          fallbackPermission: flags.fallbackPermission,
        });
      }
      const location = scm
        ? await explainStateLocation(scm, loaded, flags, ctx)
        : { severity: 'notice' as const, message: `state: ${loaded.statePath} (local backend)` };
      for (const a of audit) annotate(a.severity, a.message, `fleetgate: gate ${a.gate}`);
      annotate(location.severity, location.message, 'fleetgate: state');
      if (report && !report.policy.ok) annotate('error', report.policy.message, 'fleetgate: version policy');
      for (const u of report?.unreachable.slice(0, 20) ?? [])
        annotate('error', `${u.id} did not answer: ${u.message}`, 'fleetgate: preflight');
      const state = await readStateWithBackend(loaded.statePath, flags);
      const section = renderPlanComment([
        {
          specPath: spec,
          plan: loaded.plan,
          gates: loaded.spec.gates,
          state,
          preflight: report ?? { skipped: '--no-probe' },
          audit,
        },
      ]).replace(PLAN_COMMENT_MARKER, '');
      const gateLines = audit.map((a) => `- ${a.severity === 'warning' ? '⚠️' : '✅'} ${a.message}`);
      writeSummary(
        [
          `## Fleetgate preflight: ${code(loaded.spec.name)} — ${report ? (report.ok ? '✅ ready' : '❌ not ready') : 'targets not probed'}`,
          '',
          ...(gateLines.length > 0 ? ['### Gates', '', ...gateLines, ''] : []),
          '### State',
          '',
          `- ${location.severity === 'warning' ? '⚠️' : 'ℹ️'} ${location.message}`,
          '',
          section,
        ].join('\n'),
      );
      setOutputs({
        ok: report ? report.ok : true,
        'gates-protected': audit.filter((a) => a.gate !== 'observe').every((a) => a.verdict === 'protected'),
        audit,
        'state-location': location.message,
        versions: report?.versions ?? {},
        // Read from the environment itself (its wait_timer rule), not assumed from its name: the
        // reusable workflow dispatches a run to wait on it only when this is true.
        'observe-covers': audit.some((a) => a.gate === 'observe' && a.covers),
      });
      if (report && !report.ok) process.stderr.write(`preflight: ${loaded.spec.name} is not ready\n`);
      process.exitCode = report && !report.ok ? EXIT.error : EXIT.ok;
    },
  );
}
