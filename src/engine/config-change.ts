/**
 * Config rollouts in the engine (docs/config-rollouts.md): the desired state is the pair
 * (version, configuration revision). Each target's revision is OBSERVED with its
 * `configRevision` step before the engine acts on it and after, as its version is; a target
 * on the right version but another revision gets the `reload` step (when the change is
 * hot-reloadable, `config.hotReload`) or the full drain → upgrade → verify → undrain. The
 * state keeps each target's revision and the content of the revisions a rollback may restore
 * (`state.configs`), so a rollback re-applies the previous configuration without git.
 *
 * The shared engine files call in here at a few points: the vars of a step, the probe of a
 * target, the start and end of a rollout, a rollback's choice of what to restore.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { configChangeMode, showRevision } from '../spec/config.js';
import type { ConfigVars, RolloutSpec, StoredConfig } from '../spec/types.js';
import type { RolloutState, TargetState } from '../state/types.js';
import type { EngineCore } from './core.js';
import type { TemplateVars } from './template.js';
import { prevailingVersion } from './version-policy.js';
import { pool } from './pool.js';

/** Recent history entries whose configurations the state keeps (besides those in use). */
export const CONFIG_HISTORY_KEPT = 5;

/** The configuration the spec asks for, with its content; `undefined` without a `config` section. */
export function desiredConfig(spec: RolloutSpec): (StoredConfig & { revision: string }) | undefined {
  const config = spec.config;
  if (!config) return undefined;
  if (config.revision === undefined || config.content === undefined || config.format === undefined)
    throw new Error(`the configuration of ${spec.name} was not read (a spec not loaded with readSpecFile)`);
  return {
    revision: config.revision,
    content: config.content,
    format: config.format,
    source: config.source.kind === 'file' ? `file:${config.source.path}` : 'values',
  };
}

/** The content of `revision`: the spec's when it is the desired one, else what the state kept. */
export function storedConfig(
  spec: RolloutSpec,
  state: Pick<RolloutState, 'configs'> | undefined,
  revision: string | undefined,
): StoredConfig | undefined {
  if (revision === undefined) return undefined;
  const wanted = desiredConfig(spec);
  if (wanted?.revision === revision) return wanted;
  return state?.configs?.[revision];
}

/** Files already written by this process (path → revision), so each is written once. */
const written = new Set<string>();

/**
 * The placeholder values of configuration `revision` (`{{config.*}}`, `FLEETGATE_CONFIG_*`): its
 * content is written to `.fleetgate/config/<rollout>-<revision>.<ext>` beside the spec, once, when
 * `{{config.path}}` is first read. `undefined` when the spec has no config or the revision's content is unknown.
 */
export function configVars(
  spec: RolloutSpec,
  state: Pick<RolloutState, 'configs'> | undefined,
  revision: string | undefined,
): ConfigVars | undefined {
  const stored = storedConfig(spec, state, revision);
  if (!stored || revision === undefined) return undefined;
  const ext =
    stored.format === 'json'
      ? '.json'
      : stored.format === 'yaml'
        ? '.yaml'
        : extname(stored.source?.replace(/^file:/, '') ?? '') || '.txt';
  const path = join(dirname(resolve(spec.file)), '.fleetgate', 'config', `${spec.name}-${revision}${ext}`);
  return {
    revision,
    content: stored.content,
    // Written when a step first asks for it (a read-only command that never does writes nothing).
    get path() {
      if (!written.has(path) || !existsSync(path)) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, stored.content, { mode: 0o644 });
        written.add(path);
      }
      return path;
    },
  };
}

/** What a target's `configRevision` step answered. */
export type ConfigReading = { ok: true; revision: string } | { ok: false; message: string };

/**
 * Reads the revision target `id` runs with its `configRevision` step (read-only). A target
 * that answers no revision (a configuration Fleetgate never rolled out) reads as not ok.
 */
export async function readConfigRevision(c: EngineCore, id: string, vars: TemplateVars): Promise<ConfigReading> {
  const step = c.stepsFor(id).configRevision;
  if (!step) return { ok: false, message: 'no configRevision step' };
  const opts = { extractVersion: true, signal: c.d.signal };
  // An answer without a revision (no configuration yet) is an answer: not retried like a failure.
  let r = await c.d.runner.run({ ...step, retries: 0 }, vars, opts);
  const answeredNone = (m: string) => /no version in (?:output|response)/.test(m);
  if (!r.ok && !answeredNone(r.message) && step.retries > 0 && !r.stopped && !c.aborted) {
    await c.d.clock.sleep(step.intervalMs, c.d.signal);
    r = await c.d.runner.run({ ...step, retries: step.retries - 1 }, vars, opts);
  }
  if (r.ok && r.version !== undefined) return { ok: true, revision: r.version };
  return { ok: false, message: r.message.replace(/no version in/, 'no configuration revision in') };
}

/**
 * Reads and records the revision a target runs (`config`; `configFrom` the first time in this
 * rollout). Without a `config` section: nothing, `undefined`.
 */
export async function observeConfig(
  c: EngineCore,
  id: string,
  ts: TargetState,
  vars: TemplateVars,
): Promise<string | undefined> {
  if (!c.spec.config) return undefined;
  const r = await readConfigRevision(c, id, vars);
  ts.config = r.ok ? r.revision : undefined;
  if (ts.configFrom === undefined && r.ok) ts.configFrom = r.revision;
  return ts.config;
}

/** How a target gets from what it reports to (version, revision). */
export interface TargetMove {
  /** False when it runs both already: only verified (and undrained). */
  change: boolean;
  /** True when only the configuration changes and the change is hot-reloadable: the reload step. */
  reload: boolean;
  /** For events: why it is reloaded or fully cycled. */
  why?: string;
}

/**
 * What moving a target needs. `versionMatches`: it reports the version it is moved to;
 * `observed`: the revision it reports (undefined: none or unreadable); `wanted`: the revision
 * it is moved to (undefined: the configuration is not managed, or not restorable).
 */
export function targetMove(
  c: Pick<EngineCore, 'spec' | 'state'>,
  versionMatches: boolean,
  observed: string | undefined,
  wanted: string | undefined,
): TargetMove {
  const config = c.spec.config;
  if (!versionMatches) return { change: true, reload: false };
  if (!config || wanted === undefined || observed === wanted) return { change: false, reload: false };
  const to = storedConfig(c.spec, c.state, wanted);
  if (!to) return { change: true, reload: false, why: `configuration ${wanted} is not recorded` };
  const decided = configChangeMode(config.hotReload, storedConfig(c.spec, c.state, observed), to);
  return {
    change: true,
    reload: decided.mode === 'reload',
    why: `configuration ${showRevision(observed)} → ${wanted}: ${decided.mode === 'reload' ? 'hot reload' : 'full cycle'} (${decided.why})`,
  };
}

/**
 * `1.0.0 → 1.1.0`, with the configuration when it changes: `1.1.0, config a1b2 → c3d4` (config
 * only) or `1.0.0 → 1.1.0, config a1b2 → c3d4`.
 */
export function describeMove(s: Pick<RolloutState, 'fromVersion' | 'toVersion' | 'fromConfig' | 'toConfig'>): string {
  const versions = `${s.fromVersion ?? '?'} → ${s.toVersion ?? '?'}`;
  if (s.toConfig === undefined || s.toConfig === s.fromConfig) return versions;
  const config = `config ${showRevision(s.fromConfig)} → ${s.toConfig}`;
  return s.fromVersion === s.toVersion ? `${s.toVersion ?? '?'}, ${config}` : `${versions}, ${config}`;
}

/** Whether the state's desired revision is the spec's (a spec without config never differs). */
export function sameConfig(spec: RolloutSpec, revision: string | undefined): boolean {
  return spec.config === undefined || spec.config.revision === revision;
}

/** The revision a rollout in the state is moving to, for messages: ` (config abc123)` or ''. */
export function configLabel(revision: string | undefined): string {
  return revision === undefined ? '' : ` (config ${revision})`;
}

/**
 * Records the start of a rollout with a config: the revision most targets ran before, the
 * one it moves to, each target's, and the content of the desired revision (bounded store).
 * Without a `config` section the state keeps no configuration fields.
 */
export function beginConfigRollout(c: EngineCore, reported: Map<string, { config?: string }>): void {
  const s = c.state;
  const wanted = desiredConfig(c.spec);
  if (!wanted) {
    s.fromConfig = undefined;
    s.toConfig = undefined;
    return;
  }
  const revisions = [...reported.values()].flatMap((p) => (p.config === undefined ? [] : [p.config]));
  s.fromConfig = prevailingVersion(revisions);
  s.toConfig = wanted.revision;
  s.rolledBackFromConfig = s.rolledBackFrom === undefined ? undefined : s.rolledBackFromConfig;
  for (const [id, p] of reported) {
    const t = s.targets[id];
    if (!t) continue;
    if (p.config !== undefined) {
      t.config = p.config;
      t.configFrom = p.config;
    }
  }
  keepConfig(s, wanted);
}

/** Keeps `config`'s content in the state and drops the revisions nothing refers to any more. */
export function keepConfig(s: RolloutState, config: StoredConfig & { revision: string }): void {
  const { revision, ...stored } = config;
  (s.configs ??= {})[revision] = stored;
  pruneConfigs(s);
}

/**
 * Drops kept configurations no one may restore: those not the rollout's (from, to), the last
 * known good one, a target's (`config`, `configFrom`, `configTo`) or one of the
 * {@link CONFIG_HISTORY_KEPT} most recent history entries'.
 */
export function pruneConfigs(s: RolloutState): void {
  if (!s.configs) return;
  const keep = new Set<string | undefined>([s.fromConfig, s.toConfig, s.lastKnownGoodConfig, s.rolledBackFromConfig]);
  for (const t of Object.values(s.targets)) {
    keep.add(t.config);
    keep.add(t.configFrom);
    keep.add(t.configTo);
  }
  for (const h of s.history.slice(0, CONFIG_HISTORY_KEPT)) {
    keep.add(h.fromConfig);
    keep.add(h.toConfig);
  }
  for (const revision of Object.keys(s.configs)) if (!keep.has(revision)) delete s.configs[revision];
  if (Object.keys(s.configs).length === 0) s.configs = undefined;
}

/**
 * The revision a rollback returns target `ts` to: the one it is already being moved to, the
 * one a `fleetgate rollback` restores for all, the one it ran before this rollout, or the one
 * most ran before. `undefined` when none is recorded or its content is unknown (the target's
 * configuration is then left as it is).
 */
export function rollbackConfigFor(c: Pick<EngineCore, 'spec' | 'state'>, ts: TargetState): string | undefined {
  if (!c.spec.config) return undefined;
  const s = c.state;
  // A `fleetgate rollback` decided each target's revision when it started (`configTo`, or one for all).
  const revision = s.isRollback ? (ts.configTo ?? s.toConfig) : (ts.configTo ?? ts.configFrom ?? s.fromConfig);
  return storedConfig(c.spec, s, revision) ? revision : undefined;
}

/**
 * The revision the fleet ran with `version` when it was last healthy on it: the last known good
 * one for the last known good version, else the newest history entry that completed on it.
 */
export function configOfVersion(s: RolloutState, version: string | undefined): string | undefined {
  if (version === undefined) return undefined;
  if (version === s.lastKnownGood && s.lastKnownGoodConfig !== undefined) return s.lastKnownGoodConfig;
  return s.history.find((h) => h.to === version && (h.phase === 'Healthy' || h.phase === 'RolledBack'))?.toConfig;
}

/**
 * `fleetgate rollback --to <revision>`: a configuration revision the state kept, restored at the
 * version the fleet runs; `undefined` when `to` is not one.
 */
export function configRollbackTarget(
  s: RolloutState,
  to: string | undefined,
): { version: string | undefined; config: string } | undefined {
  if (to === undefined || !s.configs || !Object.hasOwn(s.configs, to)) return undefined;
  return { version: s.phase === 'Healthy' ? s.toVersion : (s.lastKnownGood ?? s.toVersion), config: to };
}

/** Every target's revision (read-only, concurrent; a target that does not answer one is absent). Empty without config. */
export async function readConfigRevisions(c: EngineCore, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!c.spec.config) return out;
  await pool(
    [...ids],
    c.d.probeConcurrency ?? 16,
    () => c.aborted,
    async (id) => {
      if (!c.hasTarget(id)) return;
      const r = await readConfigRevision(c, id, c.vars(c.target(id), c.spec.version));
      if (r.ok) out.set(id, r.revision);
    },
  );
  return out;
}

/** ` (config abc123)` when every one of `revisions` is the same, ` (configs a: 2, b: 1)` otherwise. */
export function summarizeConfigs(revisions: readonly (string | undefined)[]): string {
  const counts = new Map<string, number>();
  for (const r of revisions) counts.set(r ?? 'unknown', (counts.get(r ?? 'unknown') ?? 0) + 1);
  if (counts.size === 1) return ` (config ${[...counts.keys()][0]!})`;
  return ` (configs ${[...counts].map(([r, n]) => `${r}: ${n}`).join(', ')})`;
}

/** Revisions the state kept, newest use first (for messages listing what a rollback may restore). */
export function knownConfigs(s: RolloutState): string[] {
  return Object.keys(s.configs ?? {});
}
