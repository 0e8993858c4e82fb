/**
 * Environment audit: a spec's gates are GitHub environment names, and an
 * environment without required reviewers (not configured, or not available for
 * private repositories on the Free, Pro and Team plans) lets its job through
 * without anyone approving. Preflight reads each one and says what follows.
 */
import { formatDurationMs } from '../plan/describe.js';
import type { GatesSpec } from '../spec/types.js';
import { GitHubApiError } from './errors.js';
import type { EnvironmentInfo, RolloutScm } from './scm.js';

/** Which gate an environment stands for. `observe`: the environment whose wait timer holds observation windows. */
export type GateKind = 'canary' | 'promote' | 'observe';

/** The audit of one environment. */
export interface GateAudit {
  gate: GateKind;
  environment: string;
  /** `protected`: required reviewers; `timer`: wait timer only; `open`: neither; `missing`; `unknown`: could not read. */
  verdict: 'protected' | 'timer' | 'open' | 'missing' | 'unknown';
  reviewers: string[];
  waitTimerMinutes: number;
  severity: 'notice' | 'warning';
  message: string;
  /**
   * `observe` only: the environment's wait timer covers the longest observation window, so a run
   * may dispatch the next run to wait on it. False otherwise, and always for the other gates.
   */
  covers: boolean;
}

/**
 * What to configure so that `name`'s wait timer holds windows of `observeMs`, and what happens
 * until then (no run dispatches the next one to find the window still open).
 */
export function observeTimerAdvice(name: string, observeMs: number): string {
  const needed = Math.max(1, Math.ceil(observeMs / 60_000));
  return `Until then no run dispatches the next one to wait on it (each would find the window open and dispatch again): the rollout goes on when the caller's schedule runs after the window (${formatDurationMs(observeMs)}), or by hand. To let runs continue themselves: Settings → Environments → \`${name}\` → Wait timer, at least ${needed} minute${needed === 1 ? '' : 's'} (wait timers exist in public repositories and, on private or internal ones, only with GitHub Enterprise), or pass \`observe-environment: ''\` and rely on the schedule.`;
}

/**
 * Assesses one environment (pure).
 * @param info - what the API returned; `undefined` when it does not exist; an Error when it could not be read
 * @param observeMs - for the `observe` gate: the longest observation window (ms) its wait timer must cover
 */
export function assessEnvironment(
  gate: GateKind,
  name: string,
  info: EnvironmentInfo | undefined | Error,
  opts: { observeMs?: number; fallbackPermission?: string } = {},
): GateAudit {
  const fallback = `Fleetgate pauses at this gate instead and waits for a fallback approval: the decide workflow with \`continue\`, accepted only from a user with \`${opts.fallbackPermission ?? 'maintain'}\` permission.`;
  const base = { gate, environment: name, reviewers: [] as string[], waitTimerMinutes: 0, covers: false };
  if (info instanceof Error) {
    return {
      ...base,
      verdict: 'unknown',
      severity: 'warning',
      message: `environment \`${name}\` (${gate} gate) could not be read (${info.message}); grant the job \`actions: read\`. Until then Fleetgate cannot tell whether the gate has reviewers.`,
    };
  }
  if (!info) {
    return {
      ...base,
      verdict: 'missing',
      severity: 'warning',
      message:
        gate === 'observe'
          ? `environment \`${name}\` (observation wait) does not exist (GitHub answers 404): the first job naming it creates it with no wait timer, so an analysis job would find the window still open and stop. ${observeTimerAdvice(name, opts.observeMs ?? 0)}`
          : `environment \`${name}\` (${gate} gate) does not exist: the first job naming it creates it WITHOUT protection rules, so nobody would be asked to approve. Create it under Settings → Environments with required reviewers. ${fallback}`,
    };
  }
  const reviewers = info.reviewers.map((r) => (r.type === 'Team' ? `team ${r.name}` : r.name));
  const withRules = { ...base, reviewers, waitTimerMinutes: info.waitTimerMinutes };
  if (gate === 'observe') {
    const needed = Math.ceil((opts.observeMs ?? 0) / 60_000);
    if (info.waitTimerMinutes >= needed && info.waitTimerMinutes > 0) {
      return {
        ...withRules,
        verdict: 'timer',
        severity: 'notice',
        covers: true,
        message: `environment \`${name}\` waits ${info.waitTimerMinutes} min before each analysis job (covers the longest observation window, ${formatDurationMs(opts.observeMs ?? 0)}); the wait holds no runner and is not billed.`,
      };
    }
    return {
      ...withRules,
      verdict: info.waitTimerMinutes > 0 ? 'timer' : 'open',
      severity: 'warning',
      message: `environment \`${name}\` ${info.waitTimerMinutes > 0 ? `has a wait timer of ${info.waitTimerMinutes} min, shorter than` : 'has no wait timer (none configured, or none available: private repositories on Free, Pro and Team have none), so it does not hold'} the longest observation window (${formatDurationMs(opts.observeMs ?? 0)}): analysis jobs will find windows still open and stop. ${observeTimerAdvice(name, opts.observeMs ?? 0)}`,
    };
  }
  if (info.reviewers.length > 0) {
    return {
      ...withRules,
      verdict: 'protected',
      severity: 'notice',
      message: `environment \`${name}\` (${gate} gate) requires approval by ${reviewers.join(', ')}${info.preventSelfReview ? ' (not by whoever started the run)' : ''}${info.waitTimerMinutes > 0 ? `, then waits ${info.waitTimerMinutes} min` : ''}.`,
    };
  }
  if (info.waitTimerMinutes > 0) {
    return {
      ...withRules,
      verdict: 'timer',
      severity: 'warning',
      message: `environment \`${name}\` (${gate} gate) only has a wait timer (${info.waitTimerMinutes} min): it delays, but nobody approves. ${fallback}`,
    };
  }
  return {
    ...withRules,
    verdict: 'open',
    severity: 'warning',
    message: `environment \`${name}\` (${gate} gate) has no required reviewers or wait timer (not configured, or not available for private repositories on this plan): its job would run without waiting. ${fallback}`,
  };
}

/** The gates a spec names, plus the observation environment when one is configured. */
export function gateEnvironments(
  gates: GatesSpec,
  observeEnvironment?: string,
): { gate: GateKind; environment: string }[] {
  const out: { gate: GateKind; environment: string }[] = [];
  if (gates.canary) out.push({ gate: 'canary', environment: gates.canary });
  if (gates.promote) out.push({ gate: 'promote', environment: gates.promote });
  if (observeEnvironment) out.push({ gate: 'observe', environment: observeEnvironment });
  return out;
}

/**
 * Reads each environment (`GET /repos/{owner}/{repo}/environments/{name}`, `actions: read`) and assesses it.
 * Never throws for one unreadable environment: that one is `unknown`.
 */
export async function auditEnvironments(
  scm: RolloutScm,
  gates: GatesSpec,
  opts: { observeEnvironment?: string; maxObserveMs?: number; fallbackPermission?: string } = {},
): Promise<GateAudit[]> {
  const out: GateAudit[] = [];
  for (const { gate, environment } of gateEnvironments(gates, opts.observeEnvironment)) {
    let info: EnvironmentInfo | undefined | Error;
    try {
      info = await scm.getEnvironment(environment);
    } catch (error) {
      if (!(error instanceof GitHubApiError)) throw error;
      info = error;
    }
    out.push(
      assessEnvironment(gate, environment, info, {
        observeMs: opts.maxObserveMs,
        fallbackPermission: opts.fallbackPermission,
      }),
    );
  }
  return out;
}
