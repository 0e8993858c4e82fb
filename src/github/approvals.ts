/**
 * Who may approve or decide, and how approvals reach the state.
 *
 * - `authorizeActor`: the fallback approval (and every `workflow_dispatch`
 *   decision) is accepted only from a user with at least the required repository
 *   permission (collaborator-permission API) or an active member of a listed team.
 * - `findRunApproval`: who approved an environment gate in this run
 *   (`GET …/actions/runs/{run_id}/approvals`). A gate counts as approved only
 *   when that list shows an approval of its environment (issue 12, item 6): an
 *   environment that merely *has* reviewers proves nothing (an administrator can
 *   bypass them, and on some plans they are not available), so without one the
 *   rollout pauses with `GatePending`. The list covers every attempt of the run
 *   (it is scoped by `run_id`, with no attempt and no time), so an approval
 *   already recorded in the state for this run is not counted again: a re-run
 *   whose gate was bypassed does not reuse the first attempt's approval.
 */
import { NotAuthorizedError } from './errors.js';
import { PERMISSION_LEVELS, type PermissionLevel, type RolloutScm, type RunApproval } from './scm.js';

/** True when `actual` is at least `required` (`read` < `triage` < `write` < `maintain` < `admin`). */
export function permissionAtLeast(actual: PermissionLevel, required: PermissionLevel): boolean {
  return PERMISSION_LEVELS.indexOf(actual) >= PERMISSION_LEVELS.indexOf(required);
}

/** Parses a permission name. @throws NotAuthorizedError naming the valid ones */
export function parsePermission(value: string): PermissionLevel {
  if ((PERMISSION_LEVELS as readonly string[]).includes(value) && value !== 'none') return value as PermissionLevel;
  throw new NotAuthorizedError(
    `unknown permission "${value}": use one of ${PERMISSION_LEVELS.filter((p) => p !== 'none').join(', ')}`,
  );
}

/** How an actor was authorized. */
export interface Authorization {
  user: string;
  permission: PermissionLevel;
  /** `org/team` when a team membership authorized the user. */
  team?: string;
}

/**
 * Checks that `user` may approve or decide.
 * @param teams - `org/team-slug` entries; membership needs a token with org `members: read` (not `GITHUB_TOKEN`)
 * @throws NotAuthorizedError saying what was required and what the user has
 */
export async function authorizeActor(
  scm: RolloutScm,
  user: string,
  opts: { permission: PermissionLevel; teams?: string[] },
): Promise<Authorization> {
  if (!user || /\[bot\]$/.test(user)) {
    throw new NotAuthorizedError(
      `approvals and decisions must come from a person; "${user || 'nobody'}" is not one (a workflow cannot approve its own gate)`,
    );
  }
  const permission = await scm.getPermission(user);
  if (permissionAtLeast(permission, opts.permission)) return { user, permission };
  for (const entry of opts.teams ?? []) {
    const [org, team] = entry.split('/');
    if (org && team && (await scm.isTeamMember(org, team, user))) return { user, permission, team: entry };
  }
  const teams = opts.teams && opts.teams.length > 0 ? ` or membership of ${opts.teams.join(', ')}` : '';
  throw new NotAuthorizedError(
    `${user} has ${permission} permission on ${scm.repository.owner}/${scm.repository.repo}; this needs ${opts.permission}${teams}. Nothing was recorded.`,
  );
}

/**
 * The newest approval of `environment` among a run's reviews that is not yet recorded, if any.
 * @param alreadyRecorded - approvals of `environment` from this run the state already holds (earlier attempts)
 */
export function pickEnvironmentApproval(
  reviews: readonly RunApproval[],
  environment: string,
  alreadyRecorded = 0,
): RunApproval | undefined {
  const matching = reviews.filter((r) => r.state === 'approved' && r.environments.includes(environment));
  return matching.length > alreadyRecorded ? matching.at(-1) : undefined;
}

/** What {@link countRecordedRunApprovals} reads of a state approval (written by the `summary` command). */
export interface RecordedApproval {
  gate: string;
  via?: unknown;
  run?: unknown;
}

/**
 * How many approvals of `environment` taken from run `runUrl`'s reviews the state already
 * records (`via: environment <name>`, `run: <url>`).
 */
export function countRecordedRunApprovals(
  approvals: readonly RecordedApproval[],
  environment: string,
  runUrl: string | undefined,
): number {
  if (!runUrl) return 0;
  return approvals.filter((a) => a.gate === environment && a.via === `environment ${environment}` && a.run === runUrl)
    .length;
}

/**
 * Who approved `environment` in run `runId` and is not yet recorded, or `undefined`: nobody did
 * (no reviewers, rules not available on the plan, or an administrator bypassed them).
 * @throws GitHubApiError when the approvals cannot be read (`actions: read`)
 */
export async function findEnvironmentApproval(
  scm: RolloutScm,
  runId: number,
  environment: string,
  alreadyRecorded = 0,
): Promise<RunApproval | undefined> {
  return pickEnvironmentApproval(await scm.listRunApprovals(runId), environment, alreadyRecorded);
}
