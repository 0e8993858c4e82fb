/**
 * Blue-green pools (`strategy.type: blueGreen`, seed 004: "create new node pool with new version,
 * shift traffic, then decommission old pool"). The tier is one wave, `<tier>/pool`:
 *
 * 1. every slot gets a new target on the version (`provision`, then observed: `verify` polled and
 *    `version` read), while the old pool keeps serving (src/engine/replace.ts, mode `pool`);
 * 2. the wave's observation window and analysis run on the new pool (its slots stand for the new
 *    targets from then on: src/engine/replace-slots.ts);
 * 3. on a pass, the tier's `switch` step moves traffic to the new pool (once; recorded in `pools`);
 * 4. the old pool is kept for `keepOldPool`: until then a rollback switches back and retires the
 *    new pool; a run after it retires the old pool (`retire`, then seen gone) and ends Healthy.
 *    Until then the run ends `Progressing` (`OldPoolKept`, exit 6) with the time to come back.
 */
import { recordReplacement } from '../plan/replace.js';
import type { PlannedWave } from '../plan/types.js';
import type { PoolRecord } from '../state/types.js';
import type { EngineCore, RunResult } from './core.js';
import { Reasons } from './reasons.js';

/** Longest a check that a retired target is gone may take (ms). */
const GONE_CHECK_TIMEOUT_MS = 5_000;

/** The slots of a blue-green tier's pool wave and the targets in each pool. */
function pools(c: EngineCore, slots: readonly string[]): { old: string[]; new: string[] } {
  const s = c.state;
  return {
    old: slots.map((id) => s.targets[id]?.replace?.old ?? id),
    new: slots.map((id) => s.targets[id]?.replace?.new ?? id),
  };
}

/** Runs the tier's `switch` step towards `to` (from `from`); its failure as a sentence, or undefined. */
async function runSwitch(
  c: EngineCore,
  tier: string,
  to: string[],
  from: string[],
  version: string,
): Promise<string | undefined> {
  const step = c.stepsFor(c.plan.tiers.find((t) => t.name === tier)?.targets[0] ?? to[0]!).switch;
  if (!step) return `tier ${tier} has no switch step`;
  const address = (id: string) => c.ownTarget(id)?.address ?? '';
  const vars = {
    ...c.vars({ id: `switch:${tier}`, address: '', labels: {} }, version),
    pool: {
      tier,
      ids: to.join(','),
      addresses: to.map(address).join(','),
      previousIds: from.join(','),
      previousAddresses: from.map(address).join(','),
    },
  };
  const r = await c.d.runner.run(step, vars, { signal: c.d.signal });
  c.emit('target_step', { target: `switch:${tier}`, step: 'switch', ok: r.ok, durationMs: r.durationMs });
  return r.ok ? undefined : `switch of tier ${tier} to ${to.join(', ')} failed: ${r.message}`;
}

/**
 * After the pool wave's observation passed: switches the tier's traffic to the new pool, once
 * (recorded before and after in `pools`), and starts the old pool's keep time.
 * @returns why the switch failed (the caller pauses), or undefined
 */
export async function switchToNewPool(c: EngineCore, wave: PlannedWave): Promise<string | undefined> {
  const s = c.state;
  const tier = wave.tier;
  if (c.tierSpec(tier)?.strategy.type !== 'blueGreen') return undefined;
  const record = ((s.pools ??= {})[tier] ??= {
    version: s.toVersion ?? c.spec.version,
    ...pools(c, wave.targets),
  });
  if (record.switchedAt !== undefined) return undefined;
  await c.persist();
  const why = await runSwitch(c, tier, record.new, record.old, record.version);
  if (why) return why;
  record.switchedAt = c.now();
  record.keepUntil = new Date(c.nowMs() + (c.tierSpec(tier).strategy.keepOldPoolMs ?? 0)).toISOString();
  c.emit('pool_switched', {
    wave: wave.id,
    tier,
    version: record.version,
    pool: record.new,
    keepUntil: record.keepUntil,
  });
  await c.persistAndCommit(
    `fleetgate: ${c.spec.name} ${tier} switched to ${record.version} (old pool kept until ${record.keepUntil})`,
  );
  return undefined;
}

/**
 * Before a rollout finishes: retires every old pool whose keep time is over (each old target's
 * `retire`, then its version step must no longer answer), and records the inventory's replacements.
 * @returns a `Progressing` result (`OldPoolKept`) while an old pool is still kept, or one that
 *   failed to retire (paused); undefined when none is left
 */
export async function retireOldPools(c: EngineCore): Promise<RunResult | undefined> {
  const s = c.state;
  for (const [tier, record] of Object.entries(s.pools ?? {})) {
    if (record.switchedAt === undefined || record.retiredAt !== undefined || record.switchedBackAt !== undefined)
      continue;
    if (Date.parse(record.keepUntil ?? record.switchedAt) > c.nowMs()) {
      const message = `tier ${tier} runs ${record.version} on its new pool; the old pool (${record.old.join(', ')}) is kept until ${record.keepUntil} so a rollback is a switch back: run again after it to retire the old pool`;
      c.setCondition(Reasons.OldPoolKept, message);
      await c.persistAndCommit(`fleetgate: ${c.spec.name} ${tier} old pool kept until ${record.keepUntil}`);
      return { outcome: 'Progressing', state: s, reason: Reasons.OldPoolKept, message };
    }
    const failed = await retirePool(c, tier, record);
    if (failed.length > 0) {
      s.phase = 'Paused';
      const message = `the old pool of tier ${tier} was not retired: ${failed.join('; ')}; traffic is on the new pool. Retire them by hand and run again, or roll back (switches back while they are there)`;
      c.setCondition(Reasons.RetireFailed, message);
      await c.persistAndCommit(`fleetgate: ${c.spec.name} paused: ${tier} old pool not retired`);
      return { outcome: 'Paused', state: s, reason: Reasons.RetireFailed, message };
    }
    record.retiredAt = c.now();
    await c.persistAndCommit(`fleetgate: ${c.spec.name} ${tier} old pool retired`);
  }
  return undefined;
}

async function retirePool(c: EngineCore, tier: string, record: PoolRecord): Promise<string[]> {
  const s = c.state;
  const failed: string[] = [];
  for (let i = 0; i < record.old.length; i++) {
    const oldId = record.old[i]!;
    const newId = record.new[i]!;
    if (oldId === newId || s.targets[oldId]?.retired) continue;
    const old = c.ownTarget(oldId);
    const steps = c.stepsFor(oldId);
    if (!old || !steps.retire) continue;
    const vars = c.vars(old, record.version);
    const r = await c.d.runner.run(steps.retire, vars, { signal: c.d.signal });
    c.emit('target_step', { target: oldId, step: 'retire', ok: r.ok, durationMs: r.durationMs });
    if (!r.ok) {
      failed.push(`retire of ${oldId} failed: ${r.message}`);
      continue;
    }
    const gone = await c.d.runner.run(
      { ...steps.version, retries: 0, timeoutMs: Math.min(steps.version.timeoutMs, GONE_CHECK_TIMEOUT_MS) },
      vars,
      { extractVersion: true, signal: c.d.signal },
    );
    if (gone.ok) {
      failed.push(`${oldId} still answers at ${old.address} after its retire step passed`);
      continue;
    }
    const entry = (s.targets[oldId] ??= { phase: 'Succeeded' });
    entry.retired = true;
    entry.replacedBy = newId;
    entry.replace = undefined;
    const fresh = c.ownTarget(newId);
    if (fresh) recordReplacement((s.replacements ??= {}), oldId, fresh, c.now());
    c.emit('target_retired', { target: oldId, replacedBy: newId, tier });
    await c.persist();
  }
  return failed;
}

/**
 * A rollback of a blue-green tier: switches traffic back to the old pool (once, while it is kept).
 * @returns why it cannot (the old pool was retired, or the switch failed), or undefined
 */
export function switchBackToOldPool(c: EngineCore, tier: string): Promise<string | undefined> {
  // The slots of a tier roll back concurrently: one switch back for all of them.
  const running = switchingBack.get(c) ?? switchingBack.set(c, new Map()).get(c)!;
  let p = running.get(tier);
  if (!p) {
    p = switchBack(c, tier);
    running.set(tier, p);
  }
  return p;
}

/** Switches back under way, per run and tier. */
const switchingBack = new WeakMap<EngineCore, Map<string, Promise<string | undefined>>>();

async function switchBack(c: EngineCore, tier: string): Promise<string | undefined> {
  const record = c.state.pools?.[tier];
  if (!record || record.switchedAt === undefined || record.switchedBackAt !== undefined) return undefined;
  if (record.retiredAt !== undefined)
    return `the old pool of tier ${tier} was retired at ${record.retiredAt} (keepOldPool): there is nothing to switch back to; the targets on ${record.version} stay in service — roll forward with a fixed version`;
  const why = await runSwitch(c, tier, record.old, record.new, c.state.fromVersion ?? record.version);
  if (why) return why;
  record.switchedBackAt = c.now();
  c.emit('pool_switched', { tier, pool: record.old, back: true });
  await c.persist();
  return undefined;
}
