/**
 * What a rollout does to the configuration (docs/config-rollouts.md), for `plan`: from the
 * revision the state says the fleet runs to the spec's, and whether targets on the right
 * version get the `reload` step (hot reload) or the full cycle. Pure: the state's record, not
 * the targets (the engine reads each target's revision before it acts, and decides per target).
 */
import { configChangeMode, type ConfigChangeMode } from '../spec/config.js';
import type { RolloutSpec } from '../spec/types.js';
import type { RolloutState } from '../state/types.js';

export interface ConfigPlan {
  /** The spec's revision. */
  revision: string;
  /** The revision the state says the fleet runs (absent: no rollout recorded one). */
  from?: string;
  /**
   * `unchanged`: the state records this revision already; `config-only`: the version stays and
   * the configuration changes; `with-version`: both change (the full cycle); `unknown`: no
   * revision recorded yet (each target's is read when it is reached).
   */
  change: 'unchanged' | 'config-only' | 'with-version' | 'unknown';
  /** How targets on the spec's version but another revision are moved. */
  mode: ConfigChangeMode['mode'];
  /** Top-level keys the change touches, when both contents are known maps. */
  keys?: string[];
  /** The plan's line. */
  text: string;
}

/** The state's record of what the fleet runs: the finished rollout's, else the last known good. */
function recorded(state: RolloutState | undefined): { version?: string; config?: string } {
  if (!state) return {};
  if (state.phase === 'Healthy' || (state.phase === 'RolledBack' && state.isRollback))
    return { version: state.toVersion, config: state.toConfig };
  return { version: state.lastKnownGood, config: state.lastKnownGoodConfig };
}

/** The configuration part of a plan; `undefined` for a spec without `config`. */
export function planConfig(spec: RolloutSpec, state: RolloutState | undefined): ConfigPlan | undefined {
  const config = spec.config;
  if (config?.revision === undefined || config.content === undefined || config.format === undefined) return undefined;
  const to = { content: config.content, format: config.format };
  const was = recorded(state);
  const fromContent = was.config === undefined ? undefined : state?.configs?.[was.config];
  const decided = configChangeMode(config.hotReload, was.config === config.revision ? to : fromContent, to);
  const how =
    decided.mode === 'reload'
      ? 'hot reload (the reload step: no drain, no upgrade)'
      : 'full cycle (drain, upgrade, verify, undrain)';
  const keys = decided.keys && decided.keys.length > 0 ? `; keys changed: ${decided.keys.join(', ')}` : '';
  const base = { revision: config.revision, ...(was.config !== undefined && { from: was.config }) };
  if (was.config === undefined) {
    return {
      ...base,
      change: 'unknown',
      mode: decided.mode,
      text: `configuration ${config.revision}: no revision recorded yet; each target's is read before it is touched, and one on ${spec.version} with another revision gets a ${how}: ${decided.why}`,
    };
  }
  if (was.version !== undefined && was.version !== spec.version) {
    return {
      ...base,
      change: was.config === config.revision ? 'unchanged' : 'with-version',
      mode: 'full',
      ...(decided.keys && { keys: decided.keys }),
      text:
        was.config === config.revision
          ? `configuration ${config.revision} unchanged (applied with the version)`
          : `configuration ${was.config} → ${config.revision} with the version ${was.version} → ${spec.version}: full cycle${keys}`,
    };
  }
  if (was.config === config.revision)
    return { ...base, change: 'unchanged', mode: decided.mode, text: `configuration ${config.revision} unchanged` };
  return {
    ...base,
    change: 'config-only',
    mode: decided.mode,
    ...(decided.keys && { keys: decided.keys }),
    text: `configuration only: ${was.config} → ${config.revision}, ${how}${keys}${decided.mode === 'full' ? ` (${decided.why})` : ''}`,
  };
}
