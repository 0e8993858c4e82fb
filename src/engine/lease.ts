/**
 * The run lease kept in the state itself, for state backends that several machines share
 * (GitHub: two runners share no lock file). Before a run touches any target it writes
 * `lease` into the state and makes that write visible with a compare-and-swap commit; a
 * second run (a dispatched rollback while a wave runs, a re-run of an older job) reads
 * the lease and stops before touching anything. The lease is renewed every third of its
 * length while the run lives and removed when it ends; a holder that vanished without
 * removing it (a lost runner) holds others off only until `expiresAt`.
 *
 * The local backend keeps runs apart with its lock file (`src/state/lock.ts`), the same
 * lease semantics on one file system. Pure functions here; the engine does the I/O.
 */
import { hostname } from 'node:os';
import type { StateLease } from '../state/types.js';

/** Length of a lease (ms): 15 minutes, renewed every 5 while its run lives. */
export const LEASE_TTL_MS = 15 * 60_000;

/** Who asks for the lease. */
export interface LeaseClaimant {
  /** For people (`github:alice run 123 attempt 1 job canary`). */
  holder: string;
  /** Equal keys are the same job (a re-run of it may take its own lease over); see {@link StateLease.key}. */
  key: string;
  host?: string;
  pid?: number;
}

/** The lease settings the engine gets from its composition root. */
export interface LeaseOptions extends LeaseClaimant {
  /** Lease length (ms); default {@link LEASE_TTL_MS}. */
  ttlMs?: number;
}

/** Whether a claimant may take the lease, and why. */
export type LeaseJudgement =
  { free: true; takeOver?: string } | { free: false; holder: string; expiresAt: string; message: string };

/**
 * Who runs this, as a lease claimant. In GitHub Actions the key is the repository, run id
 * and job id (`GITHUB_REPOSITORY`, `GITHUB_RUN_ID`, `GITHUB_JOB`): GitHub runs one attempt
 * of a job at a time, so a re-run of the same job may take over the lease its failed
 * attempt left. Elsewhere the key names this host and process.
 */
export function leaseClaimant(actor: string, env: NodeJS.ProcessEnv = process.env): LeaseClaimant {
  if (env.GITHUB_RUN_ID) {
    const job = env.GITHUB_JOB ?? 'job';
    return {
      holder: `${actor} run ${env.GITHUB_RUN_ID} attempt ${env.GITHUB_RUN_ATTEMPT ?? '1'} job ${job}`,
      key: `github:${env.GITHUB_REPOSITORY ?? 'repository'}:${env.GITHUB_RUN_ID}:${job}`,
    };
  }
  const host = hostname();
  return {
    holder: `${actor} on ${host} (pid ${process.pid})`,
    key: `local:${host}:${process.pid}`,
    host,
    pid: process.pid,
  };
}

/**
 * Judges an existing lease against a claimant.
 * Free when there is none, when it is the claimant's own job (same key), when it expired,
 * or when its holder was a process on this host that is gone.
 * @param nowMs - now (ms since the epoch)
 * @param alive - whether a process of this host lives (`processAlive`)
 */
export function judgeLease(
  existing: StateLease | undefined,
  me: LeaseClaimant,
  nowMs: number,
  alive: (pid: number) => boolean,
  host: string = hostname(),
): LeaseJudgement {
  if (!existing) return { free: true };
  if (existing.key === me.key) return { free: true };
  const expires = Date.parse(existing.expiresAt);
  if (!(expires > nowMs))
    return { free: true, takeOver: `the lease of ${existing.holder} expired at ${existing.expiresAt}` };
  if (existing.host !== undefined && existing.host === host && existing.pid !== undefined && !alive(existing.pid))
    return { free: true, takeOver: `${existing.holder} is gone (no process ${existing.pid} on ${host})` };
  return {
    free: false,
    holder: existing.holder,
    expiresAt: existing.expiresAt,
    message: `another run holds this rollout: ${existing.holder}, since ${existing.acquiredAt}, lease until ${existing.expiresAt}. Nothing was touched. Wait for it to finish (or, if it was lost, until its lease expires), then run again`,
  };
}

/** A fresh lease for `me` from `nowMs` (ms) for `ttlMs` (ms). */
export function newLease(me: LeaseClaimant, nowMs: number, ttlMs: number = LEASE_TTL_MS): StateLease {
  return {
    holder: me.holder,
    key: me.key,
    acquiredAt: new Date(nowMs).toISOString(),
    expiresAt: new Date(nowMs + ttlMs).toISOString(),
    ...(me.host !== undefined && { host: me.host }),
    ...(me.pid !== undefined && { pid: me.pid }),
  };
}

/** True while `lease` holds anyone off at `nowMs` (ms). */
export function leaseLive(lease: StateLease | undefined, nowMs: number): boolean {
  return lease !== undefined && Date.parse(lease.expiresAt) > nowMs;
}
