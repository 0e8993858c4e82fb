/**
 * The spec's `config` section: configuration rolled out with (or instead of) a version.
 * A spec carries a file next to it (`config.file`) or inline `config.values`; the content's
 * hash, its **revision**, is part of the desired state with the version, so changing only
 * the configuration is a rollout through the same tiers, canary, waves, analysis and gates.
 * `config.hotReload` says which changes a `reload` step applies without a restart (seed 000's
 * hot-reload table: cost weights, policies and telemetry mode are reloaded; a protocol version
 * needs a binary upgrade); any other change runs the full drain → upgrade → verify → undrain.
 *
 * Here: the written form (zod, so the JSON Schema and `validate` know every field), its
 * normalization, the revision (sha256 of the canonical content, shortened), which top-level
 * keys a change touches and whether it is hot-reloadable, and the rules the schema cannot
 * express. Reading `config.file` is `config-file.ts` (I/O). See docs/config-rollouts.md.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { e, explain } from './explain.js';
import { findPlaceholders } from './placeholders.js';
import type { PathSegment } from './locate.js';
import type { SpecProblem } from './problem.js';
import type { RolloutSpec, StepSpec } from './types.js';
import { closest } from './zod-issues.js';

/** Hex characters of the sha256 kept in a revision (48 bits: collisions are not a concern for one spec's history). */
export const CONFIG_REVISION_LENGTH = 12;
/** Largest configuration Fleetgate carries (its content is kept in the state so a rollback can restore it). */
export const MAX_CONFIG_BYTES = 64 * 1024;

/** How the content is read: `json` and `yaml` are maps of keys (hot reload per key); `text` is opaque. */
export type ConfigFormat = 'json' | 'yaml' | 'text';

/**
 * Which configuration changes a `reload` step may apply without a restart: `true` any,
 * `false` none (the full cycle always), or a list of top-level keys (a change touching only
 * those keys is reloaded; one touching any other key runs the full cycle).
 */
export type HotReload = boolean | string[];

/** The normalized `config` section. */
export interface ConfigSpec {
  /** Where it came from: a file (path relative to the spec file's folder, as written) or inline values. */
  source: { kind: 'file'; path: string } | { kind: 'values' };
  hotReload: HotReload;
  /**
   * The content as the targets get it (`{{config.content}}`, `{{config.path}}`): the file's text
   * as written, or the inline values as JSON. Absent until the file is read (`readSpecFile` does).
   */
  content?: string;
  format?: ConfigFormat;
  /** The parsed map of a `json` or `yaml` configuration (its top-level keys are what `hotReload` names). */
  data?: Record<string, unknown>;
  /** {@link configRevision} of the content. Absent until the file is read. */
  revision?: string;
}

/** A configuration as the state keeps it, by revision, for a rollback to restore. */
export interface StoredConfig {
  content: string;
  format: ConfigFormat;
  /** `file:<path>` or `values` (for people). */
  source?: string;
}

// ---------------------------------------------------------------------------
// Schema

const HOT_RELOAD_FORMS = 'true, false, or a list of top-level keys like [costWeights, telemetry]';

/** Zod schema of the written `config` section. */
export const ConfigSchema = z
  .strictObject(
    {
      file: z
        .string(e('must be a file path', 'a path relative to the spec file, like edge.config.yaml'))
        .min(1, e('must be a file path', 'a non-empty path relative to the spec file'))
        .optional()
        .describe(
          "Configuration file, relative to the spec file's folder: .json, .yaml or .yml is read as a map of keys (hot reload per key); any other file as opaque text. Its content hash (the revision) is part of the desired state.",
        ),
      values: z
        .record(z.string(), z.unknown(), e('must be a map of configuration values', 'a map like {telemetry: prod}'))
        .optional()
        .describe('Configuration written in the spec itself, as a map (the targets get it as JSON).'),
      hotReload: z
        .union(
          [
            z.boolean(e('must be true, false or a list of keys', HOT_RELOAD_FORMS)),
            z
              .array(
                z
                  .string(e('must be a key', 'a top-level key of the configuration'))
                  .min(1, e('must be a key', 'a key')),
                e('must be true, false or a list of keys', HOT_RELOAD_FORMS),
              )
              .min(1, e('must list at least one key', 'one or more keys, or false')),
          ],
          e('must be true, false or a list of keys', HOT_RELOAD_FORMS),
        )
        .optional()
        .describe(
          'Which configuration-only changes the reload step applies without drain and upgrade: true (any), false (none: the full cycle; default), or the top-level keys that are hot-reloadable (seed 000: cost weights, policies, telemetry mode); a change touching any other key runs the full cycle.',
        )
        .meta({ default: false }),
    },
    {
      error: (issue) => {
        if (issue.code === 'unrecognized_keys')
          return explain('unknown config setting', 'one of file, values, hotReload');
        if (issue.code === 'invalid_type')
          return explain('must be a map of config settings', 'a map with file or values, and hotReload');
        return undefined;
      },
    },
  )
  .superRefine((value, ctx) => {
    if ((value.file === undefined) === (value.values === undefined)) {
      if (ctx.issues.some((i) => i.code === 'unrecognized_keys')) return;
      ctx.addIssue({
        code: 'custom',
        ...(value.file !== undefined && { path: ['values'] }),
        message: explain(
          value.file === undefined
            ? 'needs the configuration: a file or values'
            : 'use one of file or values, not both',
          'exactly one of file (next to the spec) or values (inline)',
        ),
      });
    }
  })
  .meta({
    id: 'Config',
    description:
      'Configuration rolled out like a version (docs/config-rollouts.md): a file next to the spec or inline values, whose content hash is part of the desired state.',
    oneOf: [{ required: ['file'] }, { required: ['values'] }],
  });

export type WrittenConfig = z.input<typeof ConfigSchema>;

// ---------------------------------------------------------------------------
// Content, revision, keys

/** JSON with every map's keys sorted (recursively): the canonical form a revision hashes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * The revision of a configuration: the first {@link CONFIG_REVISION_LENGTH} hex characters of
 * the sha256 of its canonical content — of the map with sorted keys for `json` and `yaml` (so
 * comments, key order and formatting do not change it), of the text itself otherwise.
 */
export function configRevision(content: string, format: ConfigFormat, data?: Record<string, unknown>): string {
  const canonical = format === 'text' || data === undefined ? content : canonicalJson(data);
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, CONFIG_REVISION_LENGTH);
}

/** The format a configuration file is read as, from its name. */
export function formatOfFile(path: string): ConfigFormat {
  if (/\.json$/i.test(path)) return 'json';
  if (/\.ya?ml$/i.test(path)) return 'yaml';
  return 'text';
}

/** Inline values as the targets get them: pretty JSON with sorted keys, and their revision. */
export function valuesConfig(
  values: Record<string, unknown>,
): Required<Pick<ConfigSpec, 'content' | 'format' | 'data' | 'revision'>> {
  const data = sortKeys(values) as Record<string, unknown>;
  const content = `${JSON.stringify(data, null, 2)}\n`;
  return { content, format: 'json', data, revision: configRevision(content, 'json', data) };
}

/**
 * Top-level keys whose value differs between two maps (added and removed keys included),
 * sorted. Values are compared in canonical form.
 */
export function changedKeys(from: Record<string, unknown>, to: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(from), ...Object.keys(to)]);
  return [...keys]
    .filter((k) => {
      const a = Object.hasOwn(from, k) ? canonicalJson(from[k]) : undefined;
      const b = Object.hasOwn(to, k) ? canonicalJson(to[k]) : undefined;
      return a !== b;
    })
    .sort();
}

/** How a configuration-only change is applied to a target. */
export interface ConfigChangeMode {
  /** `reload`: the reload step, no drain, no upgrade; `full`: drain → upgrade → verify → undrain. */
  mode: 'reload' | 'full';
  /** The top-level keys the change touches (absent when the previous content is unknown or opaque). */
  keys?: string[];
  /** Why, in a few words (for `plan` and events). */
  why: string;
}

/**
 * Whether moving from one configuration to another is hot-reloadable under `hotReload`.
 * `from` undefined: the previous content is unknown (a revision Fleetgate never rolled out, or
 * none at all), so only `hotReload: true` reloads it; a key list cannot be judged and the full
 * cycle runs.
 */
export function configChangeMode(
  hotReload: HotReload,
  from: Pick<StoredConfig, 'content' | 'format'> | undefined,
  to: Pick<StoredConfig, 'content' | 'format'>,
): ConfigChangeMode {
  if (hotReload === true) return { mode: 'reload', why: 'hotReload: true' };
  if (hotReload === false) return { mode: 'full', why: 'not hot-reloadable (hotReload: false)' };
  const a = from && parseStructured(from);
  const b = parseStructured(to);
  if (!a || !b) {
    return {
      mode: 'full',
      why: from
        ? 'the configuration is not a map of keys'
        : 'the previous configuration is unknown: it is not recorded in the state',
    };
  }
  const keys = changedKeys(a, b);
  const cold = keys.filter((k) => !hotReload.includes(k));
  if (cold.length === 0)
    return { mode: 'reload', keys, why: `only hot-reloadable keys change: ${keys.join(', ') || 'none'}` };
  return { mode: 'full', keys, why: `${cold.join(', ')} ${cold.length === 1 ? 'is' : 'are'} not hot-reloadable` };
}

/** The map a stored `json` or `yaml` configuration holds; `undefined` for text or content that is not a map. */
export function parseStructured(config: Pick<StoredConfig, 'content' | 'format'>): Record<string, unknown> | undefined {
  if (config.format === 'text') return undefined;
  try {
    const value: unknown = config.format === 'json' ? JSON.parse(config.content) : parseYaml(config.content);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Normalize

/** The written `config` section → {@link ConfigSpec} (inline values get their content and revision here). */
export function normalizeConfig(config: WrittenConfig): ConfigSpec {
  const hotReload: HotReload = Array.isArray(config.hotReload)
    ? [...new Set(config.hotReload)]
    : (config.hotReload ?? false);
  if (config.values !== undefined) return { source: { kind: 'values' }, hotReload, ...valuesConfig(config.values) };
  return { source: { kind: 'file', path: config.file ?? '' }, hotReload };
}

// ---------------------------------------------------------------------------
// Rules

function usesConfig(text: string): boolean {
  return findPlaceholders(text).some((p) => p.name.startsWith('config.'));
}

/** What the rules read of a written step (structural: the schema's own type is built from this module). */
interface WrittenStep {
  run?: string[];
  ssh?: string[];
  env?: Record<string, unknown>;
  cwd?: string;
  http?: { url: string; headers?: Record<string, unknown>; body?: string };
}

/** Every templated string of a written step, with its path. */
function strings(step: WrittenStep, base: PathSegment[]): { path: PathSegment[]; text: string }[] {
  const out: { path: PathSegment[]; text: string }[] = [];
  step.run?.forEach((text, i) => out.push({ path: [...base, 'run', i], text }));
  step.ssh?.forEach((text, i) => out.push({ path: [...base, 'ssh', i], text }));
  for (const [key, value] of Object.entries(step.env ?? {}))
    if (typeof value === 'string') out.push({ path: [...base, 'env', key], text: value });
  if (step.cwd !== undefined) out.push({ path: [...base, 'cwd'], text: step.cwd });
  if (step.http !== undefined) {
    out.push({ path: [...base, 'http', 'url'], text: step.http.url });
    for (const [key, value] of Object.entries(step.http.headers ?? {}))
      if (typeof value === 'string') out.push({ path: [...base, 'http', 'headers', key], text: value });
    if (step.http.body !== undefined) out.push({ path: [...base, 'http', 'body'], text: step.http.body });
  }
  return out;
}

/** The written steps of the spec and of each tier, with their paths and names. */
function allSteps(written: WrittenSpecLike): { path: PathSegment[]; name: string; step: WrittenStep }[] {
  const out: { path: PathSegment[]; name: string; step: WrittenStep }[] = [];
  const add = (steps: Record<string, unknown> | undefined, base: PathSegment[]) => {
    for (const [name, step] of Object.entries(steps ?? {})) {
      if (step === undefined || step === null) continue;
      out.push({ path: [...base, name], name, step });
      const until = (step as { until?: WrittenStep }).until;
      if (until !== undefined) out.push({ path: [...base, name, 'until'], name: `${name}.until`, step: until });
    }
  };
  add(written.steps, ['steps']);
  written.tiers?.forEach((tier, i) => add(tier.steps, ['tiers', i, 'steps']));
  return out;
}

/** What the rules read of the written spec (structural, so `rules.ts` passes its own type). */
interface WrittenSpecLike {
  config?: WrittenConfig;
  steps?: Record<string, unknown>;
  tiers?: { name?: string; steps?: Record<string, unknown> }[];
}

/** A step the upgrade or reload runs and how it reaches the configuration (a run step gets it in its environment). */
function reachesConfig(step: StepSpec, written: WrittenStep): boolean {
  return step.kind === 'run' || strings(written, []).some((s) => usesConfig(s.text));
}

/**
 * The config rules the schema cannot express (all reported at once, with paths):
 *
 * - `config` needs a `configRevision` step in every tier (its own or the top-level one): the
 *   engine reads each target's revision before it acts, as it reads versions;
 * - `hotReload` (true or keys) needs a `reload` step in every tier;
 * - inline `values` with a `hotReload` list: every key is a key of the values (a typo would make
 *   every change a full cycle without a word); for a file, `config-file.ts` checks once it is read;
 * - without `config`: no `reload` or `configRevision` step, no `{{config.*}}` placeholder;
 * - with `config`: an `upgrade` or `reload` step that is not a `run` step (those get
 *   `FLEETGATE_CONFIG_*` in their environment) and names no `{{config.*}}` cannot hand the
 *   configuration to the target (warning).
 */
export function checkConfigRules(spec: RolloutSpec, written: WrittenSpecLike): SpecProblem[] {
  const out: SpecProblem[] = [];
  const steps = allSteps(written);
  const config = spec.config;
  if (config === undefined) {
    for (const at of steps) {
      if (at.name === 'reload' || at.name === 'configRevision') {
        out.push({
          path: at.path,
          message: `a ${at.name} step needs a config section: there is no configuration to ${at.name === 'reload' ? 'reload' : 'read'}`,
          expected: 'config: {file: ...} or {values: {...}} at the top level, or no such step',
          severity: 'error',
        });
      }
      for (const s of strings(at.step, at.path)) {
        const names = findPlaceholders(s.text)
          .filter((p) => p.name.startsWith('config.'))
          .map((p) => `{{${p.name}}}`);
        if (names.length === 0) continue;
        out.push({
          path: s.path,
          message: `${[...new Set(names)].join(', ')} has no value: the spec has no config section`,
          expected: 'config: {file: ...} or {values: {...}} at the top level',
          severity: 'error',
        });
      }
    }
    return out;
  }

  const lacking = (name: 'reload' | 'configRevision') =>
    spec.tiers.flatMap((tier, i) => ((tier.steps?.[name] ?? spec.steps[name]) === undefined ? [i] : []));
  const noRevision = lacking('configRevision');
  if (noRevision.length > 0) {
    const tiers = noRevision.map((i) => spec.tiers[i]!.name).join(', ');
    out.push({
      path: ['config'],
      message: `needs a configRevision step to read the revision each target runs (${written.tiers === undefined ? 'steps' : `tier ${tiers}`} has none)`,
      expected:
        'steps.configRevision: a step printing the revision, like {http: {url: "http://{{target.address}}/version", json: config}}',
      severity: 'error',
    });
  }
  if (config.hotReload !== false) {
    for (const i of lacking('reload')) {
      const tier = spec.tiers[i]!;
      out.push({
        path: written.config?.hotReload !== undefined ? ['config', 'hotReload'] : ['config'],
        message: `declares hot reload, but ${written.tiers === undefined ? 'there is no reload step' : `tier ${tier.name} has no reload step (its own or the top-level one)`}`,
        expected: `steps.reload${written.tiers === undefined ? '' : ` or tiers[${i}].steps.reload`}: the step that applies the configuration without a restart, or hotReload: false`,
        severity: 'error',
      });
    }
  }
  if (config.source.kind === 'values' && Array.isArray(config.hotReload) && config.data !== undefined)
    out.push(...checkHotReloadKeys(config.hotReload, Object.keys(config.data), 'the values'));

  for (const at of steps) {
    if (at.name !== 'upgrade' && at.name !== 'reload') continue;
    const normalized = normalizedAt(spec, at.path);
    if (normalized === undefined || reachesConfig(normalized, at.step)) continue;
    out.push({
      path: at.path,
      message: `does not pass the configuration to the target: name {{config.content}}, {{config.path}} or {{config.revision}} (${at.name === 'reload' ? 'a reload' : 'a full cycle'} would apply nothing new)`,
      expected:
        'a body or URL with {{config.*}}, or a run step (it gets FLEETGATE_CONFIG_PATH and FLEETGATE_CONFIG_REVISION)',
      severity: 'warning',
    });
  }
  return out;
}

function normalizedAt(spec: RolloutSpec, path: PathSegment[]): StepSpec | undefined {
  if (path[0] === 'steps') return spec.steps[path[1] as 'upgrade' | 'reload'];
  if (path[0] === 'tiers' && typeof path[1] === 'number')
    return spec.tiers[path[1]]?.steps?.[path[3] as 'upgrade' | 'reload'];
  return undefined;
}

/** `hotReload` keys that are not keys of the configuration: an error each, with a "did you mean". */
export function checkHotReloadKeys(hotReload: readonly string[], keys: readonly string[], what: string): SpecProblem[] {
  const out: SpecProblem[] = [];
  hotReload.forEach((key, i) => {
    if (keys.includes(key)) return;
    const guess = closest(key, keys);
    out.push({
      path: ['config', 'hotReload', i],
      message: `"${key}" is not a key of ${what}${guess === undefined ? '' : `; did you mean "${guess}"?`}`,
      expected: keys.length > 0 ? `one of ${keys.join(', ')}` : 'a top-level key of the configuration',
      severity: 'error',
    });
  });
  return out;
}

/** The placeholders' values for a configuration at one revision (`{{config.revision}}`, `{{config.path}}`, `{{config.content}}`). */
export interface ConfigVars {
  revision: string;
  /** Absolute path of a file holding the content (written by the engine before the step runs). */
  path: string;
  content: string;
}

/** Short form of a revision for messages: itself (already short), or `none` when absent. */
export function showRevision(revision: string | undefined): string {
  return revision ?? 'none';
}
