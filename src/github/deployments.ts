/**
 * One GitHub deployment per rollout and environment, in the repository's Deployments
 * view: created by the first job of a rollout, found again by every later job (its
 * payload names the rollout and when it started) and given a status per wave —
 * `in_progress` while waves run or wait, `success` when the rollout is `Healthy` (or a
 * `fleetgate rollback` restored the fleet), `failure` when it degraded, `inactive`
 * when it was rolled back.
 */
import type { RolloutState } from '../state/types.js';
import type { DeploymentState, RolloutScm } from './scm.js';

/** The outcome words of a stage's job (`RunOutcome` plus `Error`). */
export type JobOutcome = 'Healthy' | 'Paused' | 'RolledBack' | 'Degraded' | 'Progressing' | 'Error';

const JOB_OUTCOMES: readonly string[] = ['Healthy', 'Paused', 'RolledBack', 'Degraded', 'Progressing', 'Error'];

/** Narrows an outcome read from a result file or an exit code. */
export function isJobOutcome(value: string): value is JobOutcome {
  return JOB_OUTCOMES.includes(value);
}

/** What one job reports. */
export interface DeploymentReport {
  rollout: string;
  environment: string;
  /** The commit the job runs (`GITHUB_SHA`). */
  sha: string;
  outcome: JobOutcome;
  /** The workflow stage whose job reports (`wave`, `analyze`, `decide`, `rollback`), for the status text. */
  stage: string;
  /** The state after the job (identifies the rollout: its `startedAt`). */
  state: RolloutState | undefined;
  reason?: string;
  /** Link to the workflow run (`log_url`). */
  runUrl?: string;
}

/** The deployment's `task`: one per rollout spec, so listing it is one cheap query. */
export function deploymentTask(rollout: string): string {
  return `deploy:${rollout}`;
}

/** Which rollout instance a deployment is for: the rollout's name and its start. */
export function rolloutInstance(rollout: string, state: RolloutState | undefined): string {
  return `${rollout}@${state?.startedAt ?? 'not-started'}`;
}

/** The status a job's outcome gives the rollout's deployment. */
export function deploymentState(outcome: JobOutcome, state: RolloutState | undefined): DeploymentState {
  switch (outcome) {
    case 'Healthy':
      return 'success';
    case 'Progressing':
    case 'Paused':
      return 'in_progress';
    case 'RolledBack':
      // A `fleetgate rollback` that restored the fleet succeeded; a rollout that was rolled back is no longer live.
      return state?.isRollback ? 'success' : 'inactive';
    case 'Degraded':
    case 'Error':
      return 'failure';
  }
}

/**
 * Finds the rollout's deployment in `environment` (created by an earlier job of the same
 * rollout) or creates it, then adds this job's status.
 * @returns the deployment id and whether it was created now
 * @throws GitHubApiError (the caller reports it as a warning: a deployment never fails a rollout)
 */
export async function recordDeployment(
  scm: RolloutScm,
  report: DeploymentReport,
): Promise<{ id: number; created: boolean; state: DeploymentState }> {
  const task = deploymentTask(report.rollout);
  const instance = rolloutInstance(report.rollout, report.state);
  const existing = (await scm.listDeployments(report.environment, task)).find(
    (d) => d.payload.fleetgateRollout === instance,
  );
  const version = report.state?.toVersion ?? '';
  const id =
    existing?.id ??
    (
      await scm.createDeployment({
        ref: report.sha,
        environment: report.environment,
        task,
        description: `${report.rollout} ${report.state?.isRollback ? 'rollback to' : 'rollout of'} ${version}`.trim(),
        payload: { fleetgateRollout: instance, rollout: report.rollout, version },
        productionEnvironment: true,
      })
    ).id;
  const state = deploymentState(report.outcome, report.state);
  const where = report.state?.currentWave ? ` at ${report.state.currentWave}` : '';
  await scm.createDeploymentStatus(id, {
    state,
    description: `${report.stage}: ${report.outcome}${report.reason ? ` (${report.reason})` : ''}${where}`,
    logUrl: report.runUrl,
  });
  return { id, created: existing === undefined, state };
}
