/**
 * Who may approve or decide, and how approvals reach the state.
 *
 * - `authorizeActor`: the fallback approval (and every `workflow_dispatch`
 *   decision) is accepted only from a user with at least the required repository
 *   permission (collaborator-permission API) or an active member of a listed team.
 * - `findEnvironmentApproval`: who approved an environment gate in this run
 *   (`GET …/actions/runs/{run_id}/approvals`), to record them in the state.
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

/** The newest approval of `environment` among a run's reviews, if any. */
export function pickEnvironmentApproval(reviews: readonly RunApproval[], environment: string): RunApproval | undefined {
  const matching = reviews.filter((r) => r.state === 'approved' && r.environments.includes(environment));
  return matching.at(-1);
}

/** Who approved `environment` in run `runId`, or `undefined` (no reviewers, or an admin bypassed them). */
export async function findEnvironmentApproval(
  scm: RolloutScm,
  runId: number,
  environment: string,
): Promise<RunApproval | undefined> {
  return pickEnvironmentApproval(await scm.listRunApprovals(runId), environment);
}
