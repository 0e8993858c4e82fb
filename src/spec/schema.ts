/**
 * The zod schema of the WRITTEN rollout spec: what a person types in
 * `rollouts/<name>.yaml`. Objects are strict (an unknown key is an error, so
 * typos never pass silently). No defaults are filled in here: `normalizeSpec`
 * turns a `WrittenRolloutSpec` into the `RolloutSpec` the program uses.
 *
 * Every check here is one JSON Schema can express (types, ranges, regex
 * patterns, exactly-one-of), so `schema/rollout.schema.json`, generated from
 * this file, accepts and rejects the same shapes in editors. Rules that relate
 * one part of the spec to another (unique names, tiers versus targets,
 * version ordering) live in `rules.ts`.
 *
 * Messages are packed with `explain(message, expected)`; the issue mapper in
 * `zod-issues.ts` turns them into located `Issue`s.
 */
import semver from 'semver';
import { z } from 'zod';
import { ALERTS_SETTINGS_SCHEMA, PROVIDER_SETTINGS_SCHEMAS } from '../analysis/providers/settings.js';
import {
  DEFAULT_CANARY,
  DEFAULT_CONFIDENCE,
  DEFAULT_DETECT,
  DEFAULT_DISCOVER_TIMEOUT,
  DEFAULT_EXPECTED_TARGET_DURATION,
  DEFAULT_FAILURE_LIMIT,
  DEFAULT_FAILURE_TOLERANCE,
  DEFAULT_HTTP_EXPECT,
  DEFAULT_HTTP_METHOD,
  DEFAULT_INCONCLUSIVE_LIMIT,
  DEFAULT_LEADER_LABEL,
  DEFAULT_MARGINAL_SCORE,
  DEFAULT_MAX_CONSECUTIVE_FAILURES,
  DEFAULT_MAX_UNAVAILABLE,
  DEFAULT_MAX_SURGE,
  DEFAULT_KEEP_OLD_POOL,
  DEFAULT_MAX_WAIT,
  DEFAULT_METRIC_COUNT,
  DEFAULT_METRIC_INTERVAL,
  DEFAULT_MIN_SAMPLES,
  DEFAULT_MIN_WINDOW,
  DEFAULT_NO_DATA,
  DEFAULT_OBSERVE,
  DEFAULT_OBSERVE_INTERVAL,
  DEFAULT_PASS_SCORE,
  DEFAULT_ROLLBACK_WAVES,
  DEFAULT_SEVERITY,
  DEFAULT_SSH_CONNECT_TIMEOUT,
  DEFAULT_SSH_HOST,
  DEFAULT_SSH_PORT,
  DEFAULT_TIER_NAME,
  DEFAULT_WAVES,
  STEP_DEFAULTS,
  type StepDefaultsName,
} from './defaults.js';
import { DURATION_EXPECTED, DURATION_PATTERN, POSITIVE_DURATION_PATTERN } from './duration.js';
import { e, explain } from './explain.js';
import {
  describePlaceholders,
  findUnknownPlaceholders,
  templatePattern,
  type TemplateContext,
} from './placeholders.js';
import { INCREASE_PATTERN, PERCENT_OR_ZERO_PATTERN, PERCENT_PATTERN } from './size.js';
import { THRESHOLD_PATTERN } from './threshold.js';
import { SloSchema } from './slo.js';
import { ScheduleSchema } from './schedule.js';
import { NotifySchema } from './notify.js';
import { ConfigSchema } from './config.js';
import { WrittenSelectorSchema } from './selector.js';
import {
  CanarySpreadSchema,
  CanaryTargetsSchema,
  sizeOrChoice,
  sizeOrList,
  WaveListsSchema,
} from './explicit-targets.js';
import { SPEC_API_VERSION, SPEC_KIND } from './types.js';

/** Metric provider types the analysis knows (registry keys, one provider per file in `src/analysis/providers/`). */
export const KNOWN_PROVIDER_TYPES = ['prometheus', 'scrape', 'http'] as const;
export type KnownProviderType = (typeof KNOWN_PROVIDER_TYPES)[number];

/** Semantic version, strict form (no leading `v`): semver.org's regular expression, without named groups. */
export const SEMVER_PATTERN = String.raw`^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$`;

/** Rollout and tier names: a DNS label (lowercase letters, digits, dashes; 1-63 characters; no dash at either end). */
export const NAME_PATTERN = String.raw`^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$`;

const ENV_NAME_PATTERN = String.raw`^[A-Za-z_][A-Za-z0-9_]*$`;
const HEADER_NAME_PATTERN = String.raw`^[!#$%&'*+.^_` + '`' + String.raw`|~0-9A-Za-z-]+$`;
const JSON_PATH_PATTERN = String.raw`^[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*$`;
const METRIC_NAME_PATTERN = String.raw`^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9])?$`;
const NO_SPACE_PATTERN = String.raw`^\S+$`;
const TRIMMED_PATTERN = String.raw`^\S(?:.{0,253}\S)?$`;

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * A strict object: unknown keys are reported one by one with the fields the
 * object knows (and a "did you mean" when one is close).
 */
function strict<S extends z.core.$ZodLooseShape>(shape: S, expected?: string) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return explain('unknown field', `one of ${known}`);
      if (issue.code === 'invalid_type' && expected !== undefined) return explain('must be a map of fields', expected);
      return undefined;
    },
  });
}

/**
 * True when the object being refined already has an unknown-key issue of its
 * own: a "needs one of …" message would then only repeat it (a typo such as
 * `target:` for `targets:` is reported once, as the unknown key).
 */
function hasOwnUnknownKeys(ctx: { issues: readonly z.core.$ZodRawIssue[] }): boolean {
  return ctx.issues.some(
    (issue) => issue.code === 'unrecognized_keys' && (issue.path === undefined || issue.path.length === 0),
  );
}

function regex(pattern: string): RegExp {
  return new RegExp(pattern);
}

// ---------------------------------------------------------------------------
// Scalars

const SEMVER_RE = new RegExp(SEMVER_PATTERN);

const Semver = (() => {
  const expected = 'a semantic version like "1.26.0" or "2.0.0-rc.1"';
  const bad = 'must be a semantic version major.minor.patch, like "1.2.3"';
  return z
    .string(e(bad, expected))
    .regex(regex(SEMVER_PATTERN), {
      error: (issue) => {
        const input = typeof issue.input === 'string' ? issue.input : '';
        const clean = semver.valid(input);
        if (clean !== null && /^[vV=]/.test(input.trim())) {
          return explain(`must be a semantic version without a prefix: write "${clean}"`, expected);
        }
        return explain(bad, expected);
      },
    })
    .refine((v) => !SEMVER_RE.test(v) || semver.valid(v) !== null, e(bad, expected))
    .meta({
      id: 'Semver',
      description: 'A semantic version (semver.org), without a leading "v": "1.26.0", "2.0.0-rc.1".',
    });
})();

const Name = z
  .string(e('must be a name', 'lowercase letters, digits and dashes'))
  .regex(
    regex(NAME_PATTERN),
    e('must be a DNS-label-like name', 'lowercase letters, digits and dashes, 1-63 characters, no dash at either end'),
  );

function durationSchema(positive: boolean) {
  const message = positive ? 'must be a duration above zero' : 'must be a duration';
  const err = e(message, DURATION_EXPECTED);
  const num = positive ? z.number(err).positive(err) : z.number(err).min(0, err);
  return z.union([z.string(err).regex(regex(positive ? POSITIVE_DURATION_PATTERN : DURATION_PATTERN), err), num], err);
}

const Duration = durationSchema(false).meta({
  id: 'Duration',
  description:
    'A duration: "300ms", "30s", "15m", "1h30m", "1d" (units ms, s, m, h, d), or a number of SECONDS. Zero allowed.',
});

const PositiveDuration = durationSchema(true).meta({
  id: 'PositiveDuration',
  description: 'A duration above zero: "300ms", "30s", "15m", "1h30m" (units ms, s, m, h, d), or a number of SECONDS.',
});

function withDefault<T extends z.ZodType>(schema: T, description: string, def: unknown) {
  return schema.optional().describe(description).meta({ default: def });
}

function countSchema(min: number, message: string) {
  const expected = `a whole number ≥ ${min}`;
  return z.number(e(message, expected)).int(e(message, expected)).min(min, e(message, expected));
}

function sizeSchema(id: string, min: 0 | 1, description: string) {
  const forms = `count ≥ ${min}, "N%" or "auto"`;
  const err = e('must be a count or a percent like "20%"', forms);
  const percentError = (issue: { input?: unknown }) =>
    typeof issue.input === 'string' && /^\s*[-+]?[\d.]+\s*%\s*$/.test(issue.input)
      ? explain('must be a percent above 0 and at most 100', forms)
      : err.error;
  return z
    .union(
      [
        z.number(err).int(err).min(min, err),
        z.string(err).regex(regex(PERCENT_PATTERN), { error: percentError }),
        z.literal('auto', err),
      ],
      err,
    )
    .meta({ id, description });
}

const CanarySize = sizeSchema(
  'CanarySize',
  0,
  'Canary size: a count (0 = no canary), a percent of the tier like "2%" (at least one target), or "auto" (1 under 50 targets, 2 up to 500, 5 above: seed 000).',
);
const WaveSize = sizeSchema(
  'WaveSize',
  1,
  'Targets per wave: a count ≥ 1, a percent of the tier like "20%", or "auto" (5 under 50 targets, 25 up to 500, 50 above: seed 000).',
);
const UnavailableSize = sizeSchema(
  'UnavailableSize',
  1,
  'Most targets out of service at once: a count ≥ 1, a percent of the tier like "10%" (at least 1), or "auto" (a whole wave at once; in a quorum tier floor((n-1)/2)).',
);

const AvailableSize = z
  .union(
    [
      z.number(e('must be a count or a percent like "80%"', 'count ≥ 0 or "N%"')).int().min(0),
      z.string(e('must be a count or a percent like "80%"', 'count ≥ 0 or "N%"')).regex(regex(PERCENT_PATTERN)),
    ],
    e('must be a count or a percent like "80%"', 'count ≥ 0 or "N%"'),
  )
  .meta({
    id: 'AvailableSize',
    description:
      'Members of the tier that must stay in service: a count ≥ 0 or a percent of the tier like "80%" (rounded up), like a Kubernetes PodDisruptionBudget.',
  });

const LabelValue = z.union(
  [z.string(), z.number(), z.boolean()],
  e('must be a label value', 'a string (numbers and true/false are read as text)'),
);

const Labels = z
  .record(z.string().min(1, e('label keys must not be empty', 'a non-empty key')), LabelValue)
  .meta({ id: 'Labels', description: 'Labels as key: value pairs. Numbers and booleans are read as text ("true").' });

function templated(context: TemplateContext) {
  const allowed = describePlaceholders(context);
  return z.string(e('must be text', 'a string')).regex(regex(templatePattern(context)), {
    error: (issue) => {
      const input = typeof issue.input === 'string' ? issue.input : '';
      const unknown = findUnknownPlaceholders(input, context);
      const first = unknown[0];
      if (first === undefined) return explain('has a malformed template placeholder', `placeholders among ${allowed}`);
      if (context === 'hook' && /^target(s)?\./.test(first.name)) {
        return explain(
          `{{${first.name}}} has no value in a hook: hooks run once per rollout, not per target`,
          `placeholders among ${allowed}`,
        );
      }
      const names = [...new Set(unknown.map((p) => `{{${p.name}}}`))].join(', ');
      return explain(`unknown template placeholder ${names}`, `placeholders among ${allowed}`);
    },
  });
}

function templatedScalar(context: TemplateContext) {
  return z.union(
    [templated(context), z.number(), z.boolean()],
    e('must be text', 'a string (numbers and true/false are read as text)'),
  );
}

const Argv = (context: TemplateContext) =>
  z
    .array(templated(context), e('must be a list of arguments', 'a list of strings like [systemctl, restart, nginx]'))
    .min(1, e('must name a command', 'at least one argument, the program'));

// ---------------------------------------------------------------------------
// Inventory

const Target = strict({
  id: z
    .string(e('must be a target id', 'a string'))
    .regex(regex(NO_SPACE_PATTERN), e('must be a target id without spaces', 'a non-empty string without spaces'))
    .describe('Unique id of the target within the inventory; used in state and events.'),
  address: z
    .string(e('must be an address', 'a host, host:port or URL authority'))
    .regex(regex(NO_SPACE_PATTERN), e('must be an address without spaces', 'a host, host:port or URL authority'))
    .describe('Where steps reach the target: "10.0.0.5:8080", "edge-1.example.net". {{target.address}} in steps.'),
  labels: Labels.optional().describe('Labels that tier selectors match. {{target.labels.<key>}} in steps.'),
}).meta({ id: 'Target' });

/**
 * One target as every inventory writes it — inline in a spec, in an inventory file, in a
 * discovery command's output — so all three are checked the same way (src/inventory/validate.ts).
 */
export const TargetSchema = Target;

const Inventory = strict(
  {
    targets: z
      .array(Target, e('must be a list of targets', 'a list of {id, address, labels}'))
      .min(1, e('must list at least one target', 'one or more targets'))
      .optional()
      .describe('Inline targets.'),
    file: z
      .string(e('must be a file path', 'a path relative to the spec file'))
      .min(1, e('must be a file path', 'a path relative to the spec file'))
      .optional()
      .describe('YAML or JSON file (relative to the spec file) holding a list of targets or {targets: [...]}.'),
    discover: strict({
      run: z
        .array(
          z.string(e('must be text', 'a string')),
          e('must be a list of arguments', 'a list of strings like [./list-hosts, --json]'),
        )
        .min(1, e('must name a command', 'at least one argument, the program'))
        .describe(
          'argv command (no shell, not templated) whose stdout is JSON: a list of targets or {targets: [...]}.',
        ),
      timeout: withDefault(
        PositiveDuration,
        `Time allowed for the command (default ${DEFAULT_DISCOVER_TIMEOUT}).`,
        DEFAULT_DISCOVER_TIMEOUT,
      ),
    })
      .optional()
      .describe('Discovery command printing the targets as JSON.'),
  },
  'one of {targets: [...]}, {file: path} or {discover: {run: [...]}}',
)
  .superRefine((value, ctx) => {
    const present = (['targets', 'file', 'discover'] as const).filter((k) => value[k] !== undefined);
    if (present.length === 0) {
      if (hasOwnUnknownKeys(ctx)) return;
      ctx.addIssue({
        code: 'custom',
        message: explain('needs a source of targets', 'exactly one of targets, file or discover'),
      });
    } else if (present.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [present[1]!],
        message: explain(
          `use one source of targets, not both ${present[0]} and ${present[1]}`,
          'exactly one of targets, file or discover',
        ),
      });
    }
  })
  .meta({
    id: 'Inventory',
    description: 'Where the targets come from: exactly one of targets, file or discover.',
    oneOf: [{ required: ['targets'] }, { required: ['file'] }, { required: ['discover'] }],
  });

// ---------------------------------------------------------------------------
// Tiers and strategy

const StrategyType = z
  .enum(
    ['inPlace', 'replace', 'blueGreen'],
    e('must be a strategy type', 'inPlace, replace or blueGreen (docs/replace-and-blue-green.md)'),
  )
  .meta({ id: 'StrategyType' });

const SurgeSize = z
  .union(
    [
      z.number(e('must be a count or a percent like "25%"', 'count ≥ 0 or "N%"')).int().min(0),
      z.string(e('must be a count or a percent like "25%"', 'count ≥ 0 or "N%"')).regex(regex(PERCENT_PATTERN)),
    ],
    e('must be a count or a percent like "25%"', 'count ≥ 0 or "N%"'),
  )
  .meta({
    id: 'SurgeSize',
    description:
      'Extra targets above the tier size at once: a count ≥ 0 or a percent of the tier like "25%" (rounded up), as a Kubernetes Deployment\'s maxSurge.',
  });

/** A strategy's maxUnavailable: 0 is allowed here (with `type: replace` and a maxSurge ≥ 1; a rule says so). */
const StrategyUnavailableSize = sizeSchema(
  'StrategyUnavailableSize',
  0,
  'Most targets out of service at once: a count (0 only for type replace with maxSurge ≥ 1), a percent of the tier like "10%" (at least 1), or "auto" (a whole wave at once; in a quorum tier floor((n-1)/2)).',
);

const Strategy = strict({
  type: withDefault(
    StrategyType,
    'How targets get the new version: inPlace (drain, upgrade, verify, undrain), replace (provision a new target, verify it, put it in service, then drain and retire the old one), blueGreen (a whole new pool, verified and analysed, traffic switched by steps.switch, the old pool kept for keepOldPool). Default inPlace. See docs/replace-and-blue-green.md.',
    'inPlace',
  ),
  maxSurge: withDefault(
    SurgeSize,
    `type replace: most targets above the tier's size at once (new ones provisioned before the old ones leave), as a Kubernetes Deployment's maxSurge; 0 = each old target leaves service first (within maxUnavailable). Default "${DEFAULT_MAX_SURGE}", rounded up.`,
    DEFAULT_MAX_SURGE,
  ),
  keepOldPool: withDefault(
    Duration,
    `type blueGreen: how long the old pool is kept after the traffic switch, so a rollback is a switch back; then it is retired (default ${DEFAULT_KEEP_OLD_POOL}; number = seconds).`,
    DEFAULT_KEEP_OLD_POOL,
  ),
  canary: withDefault(
    sizeOrChoice(CanarySize, CanaryTargetsSchema, CanarySpreadSchema),
    'Canary: a size (default "auto": seed 000 table; 0 = no canary), a list of target ids ([edge-3, edge-7], upgraded first in that order), or {spreadBy: zone} (one target per value of the label). See docs/planning.md.',
    DEFAULT_CANARY,
  ),
  waves: withDefault(
    sizeOrList(WaveSize, WaveListsSchema),
    'Waves: targets per wave (default "auto": seed 000 table; "20%" is seed 001\'s default), or the waves themselves as a list of lists of target ids ([[edge-1, edge-2], [edge-3]]). See docs/planning.md.',
    DEFAULT_WAVES,
  ),
  maxUnavailable: withDefault(
    StrategyUnavailableSize,
    `Most targets of the tier out of service at once; also the concurrency within a wave (default ${DEFAULT_MAX_UNAVAILABLE}; 0 only for type replace with maxSurge ≥ 1).`,
    DEFAULT_MAX_UNAVAILABLE,
  ),
  minAvailable: AvailableSize.optional().describe(
    'Alternative to maxUnavailable: members of the tier that must stay in service (budget = n − minAvailable). Every member out for any reason counts, also those down before the rollout.',
  ),
  observe: withDefault(
    Duration,
    `Observation window after the canary and after each wave (default ${DEFAULT_OBSERVE}, seed 000; number = seconds).`,
    DEFAULT_OBSERVE,
  ),
  observeInterval: withDefault(
    PositiveDuration,
    `How often health is re-checked during the observation window (default ${DEFAULT_OBSERVE_INTERVAL}).`,
    DEFAULT_OBSERVE_INTERVAL,
  ),
  circuitBreaker: strict({
    maxConsecutiveFailures: withDefault(
      countSchema(1, 'must be a whole number of failures ≥ 1'),
      `Failed targets in a row that trip the breaker and pause the rollout (default ${DEFAULT_MAX_CONSECUTIVE_FAILURES}, seed 001).`,
      DEFAULT_MAX_CONSECUTIVE_FAILURES,
    ),
  })
    .optional()
    .describe('Circuit breaker on consecutive failed targets.'),
  failureTolerance: withDefault(
    z
      .string(e('must be a percent like "10%"', '"N%" with 0 ≤ N ≤ 100'))
      .regex(regex(PERCENT_OR_ZERO_PATTERN), e('must be a percent like "10%"', '"N%" with 0 ≤ N ≤ 100')),
    `Percent of a wave's targets that may fail without failing the wave (default "${DEFAULT_FAILURE_TOLERANCE}").`,
    DEFAULT_FAILURE_TOLERANCE,
  ),
  quorum: withDefault(
    z.boolean(e('must be true or false', 'true or false')),
    'Quorum tier: never more than floor((n-1)/2) members down at once, the leader last (default false, seed 000).',
    false,
  ),
  leaderLabel: withDefault(
    z.string(e('must be a label key', 'a string')).min(1, e('must be a label key', 'a non-empty string')),
    `Label key whose value "true" marks the quorum leader (default "${DEFAULT_LEADER_LABEL}").`,
    DEFAULT_LEADER_LABEL,
  ),
  expectedTargetDuration: withDefault(
    PositiveDuration,
    `Planning estimate of one target's drain-to-undrain time, for the plan's duration (default ${DEFAULT_EXPECTED_TARGET_DURATION}).`,
    DEFAULT_EXPECTED_TARGET_DURATION,
  ),
  shards: z
    .number(e('must be a whole number of legs from 1 to 64', 'a whole number from 1 to 64'))
    .int(e('must be a whole number of legs from 1 to 64', 'a whole number from 1 to 64'))
    .min(1, e('must be a whole number of legs from 1 to 64', 'a whole number from 1 to 64'))
    .max(64, e('must be a whole number of legs from 1 to 64', 'a whole number from 1 to 64'))
    .optional()
    .describe(
      "Big waves across runners (GitHub workflow): each wave of this tier after the canary runs as this many matrix legs, each moving its slice of the wave's targets within its share of the tier's budget, then one verdict job (docs/github.md). Absent or 1: one job per wave. Not for quorum tiers.",
    ),
}).meta({ id: 'Strategy', description: 'How a tier is rolled: canary, waves, limits, observation window, breaker.' });

// ---------------------------------------------------------------------------
// Steps

const StatusCode = z
  .number(e('must be an HTTP status code', 'a whole number from 100 to 599'))
  .int(e('must be an HTTP status code', 'a whole number from 100 to 599'))
  .min(100, e('must be an HTTP status code', 'a whole number from 100 to 599'))
  .max(599, e('must be an HTTP status code', 'a whole number from 100 to 599'));

const JsonPath = z
  .string(e('must be a dotted path', 'a field path like "version" or "build.version"'))
  .regex(regex(JSON_PATH_PATTERN), e('must be a dotted path', 'a field path like "version" or "build.version"'));

function httpSchema(context: TemplateContext) {
  return strict({
    method: withDefault(
      z.enum(HTTP_METHODS, e('must be an HTTP method', HTTP_METHODS.join(', '))),
      `HTTP method (default ${DEFAULT_HTTP_METHOD}).`,
      DEFAULT_HTTP_METHOD,
    ),
    url: templated(context)
      .regex(/^https?:\/\//, e('must be an http:// or https:// URL', 'a URL like "http://{{target.address}}/healthz"'))
      .describe('URL; templated values other than the address are percent-encoded.'),
    headers: z
      .record(
        z.string().regex(regex(HEADER_NAME_PATTERN), e('must be an HTTP header name', 'letters, digits and -')),
        templatedScalar(context),
      )
      .optional()
      .describe('Request headers (templated).'),
    body: templated(context).optional().describe('Request body (templated text).'),
    expect: withDefault(
      z.union(
        [
          StatusCode,
          z
            .array(StatusCode, e('must be a list of status codes', 'status codes'))
            .min(1, e('must list a status code', 'one or more status codes')),
        ],
        e('must be a status code or a list of them', 'a status code like 200 or a list like [200, 204]'),
      ),
      'Accepted status code(s) (default: any of 200-206).',
      [...DEFAULT_HTTP_EXPECT],
    ),
    json: JsonPath.optional().describe('For the version step: dotted path of the JSON field holding the version.'),
  });
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no extra fields
function stepSchema<Extra extends z.core.$ZodLooseShape = {}>(id: string, context: TemplateContext, extra?: Extra) {
  return strict(
    {
      ...(extra as Extra),
      run: Argv(context).optional().describe('argv command, run without a shell; templated.'),
      env: z
        .record(
          z
            .string()
            .regex(
              regex(ENV_NAME_PATTERN),
              e('must be an environment variable name', 'letters, digits and _, not starting with a digit'),
            ),
          templatedScalar(context),
        )
        .optional()
        .describe('Extra environment variables for a run step (templated).'),
      cwd: templated(context).optional().describe('Working directory of a run step, relative to the spec file.'),
      json: JsonPath.optional().describe(
        'Version step: dotted path of the JSON field in stdout holding the version (default: the trimmed stdout).',
      ),
      http: httpSchema(context).optional().describe('HTTP request.'),
      ssh: Argv(context)
        .optional()
        .describe(
          'argv command run on the target over SSH (connection settings: the top-level ssh section); each element reaches the remote program as one argument, quoted by Fleetgate; templated.',
        ),
      timeout: PositiveDuration.optional().describe(
        'Time allowed for one attempt; for verify, the whole polling budget. Number = seconds.',
      ),
      retries: countSchema(0, 'must be a whole number of retries ≥ 0')
        .optional()
        .describe('Extra attempts after a failure.'),
      interval: PositiveDuration.optional().describe(
        'Delay between attempts; for verify, the polling interval. Number = seconds.',
      ),
    },
    'a step: {run: [program, args...]}, {ssh: [program, args...]} or {http: {url: ...}}',
  )
    .superRefine((parsed, ctx) => {
      const value = parsed as Partial<Record<'run' | 'http' | 'ssh' | 'env' | 'cwd' | 'json', unknown>>;
      const kinds = (['run', 'http', 'ssh'] as const).filter((k) => value[k] !== undefined);
      if (kinds.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: [kinds[1]!],
          message: explain(
            'a step is one of a local command, an HTTP request or an SSH command, not several',
            'exactly one of run, http or ssh',
          ),
        });
      } else if (kinds.length === 0) {
        if (hasOwnUnknownKeys(ctx)) return;
        ctx.addIssue({
          code: 'custom',
          message: explain(
            'needs run (a command), http (a request) or ssh (a command on the target)',
            'exactly one of run, http or ssh',
          ),
        });
      } else if (value.ssh !== undefined) {
        if (context === 'hook') {
          ctx.addIssue({
            code: 'custom',
            path: ['ssh'],
            message: explain(
              'a hook runs once per rollout, not on a target, so it cannot be an ssh step',
              'run or http in hooks',
            ),
          });
        }
        for (const key of ['env', 'cwd'] as const) {
          if (value[key] === undefined) continue;
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: explain(
              `applies to run steps only (${key === 'env' ? 'put VAR=value before the program: [env, VAR=value, program, ...]' : 'use [sh, -c, ...] or cd in a script on the target'})`,
              'ssh with json, timeout, retries, interval',
            ),
          });
        }
      } else if (value.http !== undefined) {
        for (const key of ['env', 'cwd', 'json'] as const) {
          if (value[key] === undefined) continue;
          const hint =
            key === 'json'
              ? 'put json under http'
              : key === 'env'
                ? 'use http.headers'
                : 'cwd applies to commands only';
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: explain(
              `applies to run steps only (${hint})`,
              'run with env, cwd, json; or http with its own fields',
            ),
          });
        }
      }
    })
    .meta({
      id,
      description:
        context === 'hook'
          ? 'A hook: an argv command (run) or an HTTP request (http); runs once per rollout, so no {{target.*}}.'
          : context === 'transfer'
            ? 'A leadership transfer: a step on the leader ({{target.*}}) that may also name the member leadership moves to ({{transferee.*}}).'
            : 'A step on one target: an argv command (run), an HTTP request (http) or an argv command on the target over SSH (ssh), templated with {{target.*}} and {{version}}.',
      oneOf: [
        { required: ['run'] },
        { required: ['http'], not: { anyOf: [{ required: ['env'] }, { required: ['cwd'] }, { required: ['json'] }] } },
        ...(context === 'hook'
          ? []
          : [{ required: ['ssh'], not: { anyOf: [{ required: ['env'] }, { required: ['cwd'] }] } }]),
      ],
    });
}

const Step = stepSchema('Step', 'step');

const EnvName = z
  .string(e('must be an environment variable name', 'a string'))
  .regex(
    regex(ENV_NAME_PATTERN),
    e('must be an environment variable name', 'letters, digits and _, not starting with a digit'),
  );

const FilePath = z.string(e('must be a file path', 'a string')).min(1, e('must be a file path', 'a non-empty path'));

const SshIdentity = strict(
  {
    env: EnvName.optional().describe(
      'Environment variable holding the private key itself (e.g. a GitHub secret); written to a 0600 file for the run, masked, removed after.',
    ),
    file: FilePath.optional().describe(
      "Private key file, relative to the spec file's folder (or absolute, or ~/...); copied to a 0600 file for the run.",
    ),
  },
  '{env: VARIABLE} or {file: path}',
)
  .superRefine((value, ctx) => {
    if ((value.env === undefined) === (value.file === undefined)) {
      if (hasOwnUnknownKeys(ctx)) return;
      ctx.addIssue({
        code: 'custom',
        message: explain('needs exactly one of env or file', '{env: SSH_PRIVATE_KEY} or {file: keys/deploy}'),
      });
    }
  })
  .meta({ id: 'SshIdentity', description: 'Where the private key comes from: an environment variable or a file.' });

const SshKnownHosts = strict(
  {
    file: z
      .union(
        [FilePath, z.array(FilePath).min(1, e('must list a file', 'one or more paths'))],
        e('must be a file path or a list of them', 'a path like known_hosts or a list of paths'),
      )
      .optional()
      .describe("known_hosts file(s), relative to the spec file's folder (or absolute, or ~/...)."),
    hosts: z
      .array(
        z
          .string(e('must be a known_hosts line', 'a string'))
          .regex(/^\S+ \S+ \S+/, e('must be a known_hosts line', '"host ssh-ed25519 AAAA..."')),
        e('must be a list of known_hosts lines', 'a list of "host keytype key" lines'),
      )
      .optional()
      .describe('known_hosts lines: "host ssh-ed25519 AAAA...", "[host]:2222 ssh-ed25519 AAAA...".'),
    label: z
      .string(e('must be a label key', 'a string'))
      .min(1, e('must be a label key', 'a non-empty string'))
      .optional()
      .describe(
        'Label key whose value on each target is its host key ("ssh-ed25519 AAAA..."): host keys pinned in the inventory.',
      ),
  },
  '{file: known_hosts}, {hosts: [lines]} or {label: ssh-host-key}',
)
  .superRefine((value, ctx) => {
    if (value.file === undefined && value.hosts === undefined && value.label === undefined) {
      if (hasOwnUnknownKeys(ctx)) return;
      ctx.addIssue({
        code: 'custom',
        message: explain('needs file, hosts or label', 'one or more of file, hosts, label'),
      });
    }
  })
  .meta({ id: 'SshKnownHosts', description: 'Host keys ssh steps accept; any other key fails the step.' });

const Ssh = strict({
  host: templated('step').optional().describe(`Host to connect to (default "${DEFAULT_SSH_HOST}"); templated.`),
  port: z
    .union(
      [
        z
          .number(e('must be a port', 'a whole number from 1 to 65535'))
          .int(e('must be a port', 'a whole number from 1 to 65535'))
          .min(1, e('must be a port', 'a whole number from 1 to 65535'))
          .max(65535, e('must be a port', 'a whole number from 1 to 65535')),
        templated('step').regex(
          /\{\{|^[0-9]{1,5}$/,
          e('must be a port', 'a number or a template like "{{target.labels.ssh-port}}"'),
        ),
      ],
      e('must be a port', 'a number or a template like "{{target.labels.ssh-port}}"'),
    )
    .optional()
    .describe(`Port (default ${DEFAULT_SSH_PORT}); a number or a template such as "{{target.labels.ssh-port}}".`),
  user: templated('step').optional().describe("Remote user; templated (default: the ssh client's own)."),
  identity: SshIdentity.optional(),
  knownHosts: SshKnownHosts.optional().describe("Host keys to accept (default: the ssh client's ~/.ssh/known_hosts)."),
  strictHostKeyChecking: withDefault(
    z.boolean(e('must be true or false', 'true or false')),
    'true (default): a host whose key is not pinned fails; false: a new host key is accepted on first use (accept-new), a changed one still fails.',
    true,
  ),
  connectTimeout: withDefault(
    PositiveDuration,
    `Time allowed to open a target's connection (default ${DEFAULT_SSH_CONNECT_TIMEOUT}). Number = seconds.`,
    DEFAULT_SSH_CONNECT_TIMEOUT,
  ),
}).meta({
  id: 'Ssh',
  description:
    'How ssh steps connect: one multiplexed OpenSSH connection per target per run, BatchMode, strict host key checking.',
});
const HookStep = stepSchema('HookStep', 'hook');
/** `steps.transferLeadership`: a step that may also name the member leadership moves to (`{{transferee.*}}`). */
const TransferStep = stepSchema('TransferStep', 'transfer');
/** `steps.switch`: a blue-green tier's traffic switch, once per tier (`{{pool.*}}`, `{{previous.*}}`, no `target.*`). */
const SwitchStep = stepSchema('SwitchStep', 'switch');
/**
 * A drain or undrain step: a step with `until` and `grace`, what says it has taken effect
 * (the load balancer's view, in-flight requests), so the next step starts only then.
 */
const SettlingStep = stepSchema('SettlingStep', 'step', {
  until: Step.optional().describe(
    'Check polled every interval (its own) until it passes within its timeout, after the step: for drain, before the upgrade starts (e.g. the load balancer reports 0 sessions); for undrain, before the next target may go down (e.g. the load balancer reports it UP). A check that does not pass fails the target (left out of service). Defaults as verify.',
  ),
  grace: Duration.optional().describe(
    'Minimum wait after the step (and before until is polled), for drains with no signal to poll. Number = seconds.',
  ),
});

function stepDescription(name: StepDefaultsName, what: string): string {
  const d = STEP_DEFAULTS[name];
  return `${what} Defaults: timeout ${d.timeout}, retries ${d.retries}, interval ${d.interval}.`;
}

const Steps = strict({
  version: Step.optional().describe(
    stepDescription('version', 'Reads the version a target runs (stdout, or the json field). Required per tier.'),
  ),
  drain: SettlingStep.optional().describe(
    stepDescription(
      'drain',
      'Takes the target out of service before the upgrade; until (polled) or grace says when it is out.',
    ),
  ),
  upgrade: Step.optional().describe(
    stepDescription('upgrade', 'Upgrades the target to {{version}}. Required per tier.'),
  ),
  verify: Step.optional().describe(
    stepDescription('verify', 'Health check, polled every interval until it passes within timeout. Required per tier.'),
  ),
  undrain: SettlingStep.optional().describe(
    stepDescription('undrain', 'Puts the target back in service; until (polled) says when it is back.'),
  ),
  leader: Step.optional().describe(
    stepDescription(
      'leader',
      "Quorum tier: prints the current leader's target id (trimmed stdout, the HTTP body, or the json field). Asked of the tier's members in turn ({{target.*}} is the member asked; the first answer wins) before each of the tier's waves, so the leader found then goes last; an id outside the tier pauses the rollout (LeaderUnknown).",
    ),
  ),
  transferLeadership: TransferStep.optional().describe(
    stepDescription(
      'transferLeadership',
      'Quorum tier: run before the leader ({{target.*}}) is drained, to move leadership to a member already on the new version ({{transferee.id}}, {{transferee.address}}, {{transferee.labels.<key>}}). With a leader step, the leader is read again every interval until another member leads, within timeout; otherwise the rollout pauses (LeadershipNotTransferred) with the leader untouched.',
    ),
  ),
  caughtUp: Step.optional().describe(
    stepDescription(
      'caughtUp',
      "Polled every interval for at most timeout after a member is back (after undrain), before the next member may go down: e.g. its Raft applied index within a bound of the leader's. Not passing fails the target (NotCaughtUp), left out of service.",
    ),
  ),
  provision: Step.optional().describe(
    stepDescription(
      'provision',
      'type replace or blueGreen: creates a new target to take the place of {{target.*}}, running {{version}}, and prints it as JSON {"id": ..., "address": ..., "labels": {...}} on stdout (or as the HTTP body); labels default to the old target\'s. The new target is then observed (version and verify) before it is used. Required for those tiers.',
    ),
  ),
  inService: Step.optional().describe(
    stepDescription(
      'inService',
      'type replace: puts the new target ({{target.*}}) in service once its version and health were observed (e.g. adds it to a load balancer). Optional.',
    ),
  ),
  retire: Step.optional().describe(
    stepDescription(
      'retire',
      'type replace or blueGreen: removes the old target ({{target.*}}) after its drain (stops and deletes it). Required for those tiers.',
    ),
  ),
  switch: SwitchStep.optional().describe(
    stepDescription(
      'switch',
      "type blueGreen: moves the tier's traffic to the pool on {{version}} ({{pool.ids}}, {{pool.addresses}}: comma-separated; {{previous.ids}}, {{previous.addresses}}: the pool it leaves; {{tier}}); run once for the switch, and again to switch back on rollback. Required for blueGreen tiers.",
    ),
  ),
  configRevision: Step.optional().describe(
    stepDescription(
      'configRevision',
      'With config: reads the configuration revision a target runs (trimmed stdout, the HTTP body, or the json field), before Fleetgate acts on it and after, as version does. Required per tier with config.',
    ),
  ),
  reload: Step.optional().describe(
    stepDescription(
      'reload',
      'With config.hotReload: applies a configuration-only change without drain, upgrade or restart ({{config.revision}}, {{config.path}}, {{config.content}}); then verify and configRevision. Required per tier when hotReload is declared.',
    ),
  ),
}).meta({
  id: 'Steps',
  description:
    'Per-target steps, run in order drain, upgrade, verify, undrain. A tier uses the top-level steps with its own steps over them; every tier needs version, upgrade and verify from one or the other.',
});

const Hooks = strict({
  before: HookStep.optional().describe(
    stepDescription('hook', 'Runs once before the first target is touched (backup, migrations).'),
  ),
  after: HookStep.optional().describe(stepDescription('hook', 'Runs once after the last wave is healthy.')),
});

const TierHooks = strict({
  before: HookStep.optional().describe(
    stepDescription(
      'hook',
      "Runs once before the tier's first target is touched (e.g. stop a scheduler's leader election).",
    ),
  ),
  after: HookStep.optional().describe(stepDescription('hook', "Runs once after the tier's last wave is healthy.")),
}).meta({ id: 'TierHooks' });

const RunnerLabel = z
  .string(e('must be a runner label', 'a label like self-hosted or eu-fleet'))
  .regex(
    /^[^\s,$]([^,$]*[^\s,$])?$/,
    e('must be a runner label', 'one label, without commas, $ or spaces at either end'),
  );

const RunsOn = z
  .union(
    [RunnerLabel, z.array(RunnerLabel).min(1, e('must list at least one label', 'one or more runner labels'))],
    e('must be a runner label or a list of labels', 'a label, or a list like [self-hosted, eu-fleet]'),
  )
  .meta({
    id: 'RunsOn',
    description:
      "Runner labels for this tier's jobs on GitHub Actions (a runner needs every label): the tier's waves, and its canary and promotion, run on a runner that can reach its network. Omitted = the workflow's runs-on.",
  });

const Tier = strict({
  name: Name.describe('Tier name, unique in the spec (DNS-label-like).'),
  select: WrittenSelectorSchema.optional().describe(
    'Label selector (Kubernetes semantics): a target is in the tier when every entry holds — key: value is equality; key: {in: [a, b]}, {notIn: [a, b]}, {exists: true|false} are set-based. Omitted = every target.',
  ),
  strategy: Strategy.optional(),
  steps: Steps.optional().describe(
    "This tier's own steps, over the top-level steps (one procedure per component: seed 000).",
  ),
  hooks: TierHooks.optional(),
  runsOn: RunsOn.optional(),
}).meta({ id: 'Tier' });

// ---------------------------------------------------------------------------
// Analysis

const NoData = z.enum(
  ['pause', 'fail', 'pass', 'wait'],
  e('must be pause, fail, pass or wait', 'pause, fail, pass or wait'),
);

/** Confidence of the sequential tests: a percent from 50% to below 100%. */
const CONFIDENCE_PATTERN = String.raw`^[5-9]\d(?:\.\d+)?%$`;
/** A regression size as a multiple of the baseline: `2x`, `1.5x`. */
const DETECT_PATTERN = String.raw`^\d+(?:\.\d+)?x$`;
const Provider = z
  .strictObject(
    {
      // Each provider declares its settings beside its client (src/analysis/providers/<type>-settings.ts).
      prometheus: PROVIDER_SETTINGS_SCHEMAS.prometheus.optional().describe('Settings of the prometheus provider.'),
      scrape: PROVIDER_SETTINGS_SCHEMAS.scrape.optional().describe('Settings of the scrape provider.'),
      http: PROVIDER_SETTINGS_SCHEMAS.http.optional().describe('Settings of the http provider.'),
    } satisfies Record<KnownProviderType, z.ZodType>,
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? explain('unknown metric provider type', `one of ${KNOWN_PROVIDER_TYPES.join(', ')}`)
          : undefined,
    },
  )
  .superRefine((value, ctx) => {
    const types = KNOWN_PROVIDER_TYPES.filter((t) => value[t] !== undefined);
    if (types.length === 0) {
      if (hasOwnUnknownKeys(ctx)) return;
      ctx.addIssue({
        code: 'custom',
        message: explain(
          'needs a provider type',
          `one key among ${KNOWN_PROVIDER_TYPES.join(', ')}, like {prometheus: {address: "..."}}`,
        ),
      });
    } else if (types.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [types[1]!],
        message: explain(`use one provider, not both ${types[0]} and ${types[1]}`, 'exactly one provider type'),
      });
    }
  })
  .meta({
    id: 'Provider',
    description: `Metric provider: one key naming its type (${KNOWN_PROVIDER_TYPES.join(', ')}) whose value holds its settings.`,
    minProperties: 1,
    maxProperties: 1,
  });

const Metric = strict({
  name: z
    .string(e('must be a metric name', 'a string'))
    .regex(
      regex(METRIC_NAME_PATTERN),
      e('must be a metric name', 'letters, digits, "-", "_" and ".", up to 128 characters'),
    )
    .describe('Metric name, unique in the analysis.'),
  query: templated('query')
    .min(1, e('must not be empty', 'a query'))
    .describe('Provider query; {{targets}}, {{targets.regex}}, {{baseline}} and {{window}} are filled in.'),
  threshold: z
    .string(e('must be a threshold like "< 0.01"', 'an operator (< <= > >= == !=) and a number, quoted'))
    .regex(
      regex(THRESHOLD_PATTERN),
      e('must be a threshold like "< 0.01"', 'an operator (< <= > >= == !=) and a number'),
    )
    .optional()
    .describe('Absolute threshold the value must satisfy: "< 0.01", "<= 30", ">= 0.99". Quote it in YAML.'),
  baseline: strict({
    cohort: z
      .enum(
        ['stable', 'before'],
        e(
          'must be stable or before',
          'stable (targets still on the old version) or before (the same targets before the upgrade)',
        ),
      )
      .describe(
        'stable: same query over targets still on the old version; before: the same targets before the upgrade.',
      ),
  })
    .optional()
    .describe('What relative comparisons compare against.'),
  maxIncrease: z
    .string(e('must be a percent like "10%"', '"N%" with N ≥ 0 ("0%" = no increase)'))
    .regex(regex(INCREASE_PATTERN), e('must be a percent like "10%"', '"N%" with N ≥ 0 ("0%" = no increase)'))
    .optional()
    .describe('Most allowed increase over the baseline, percent ("10%"; "0%" = no increase at all). Needs baseline.'),
  ignoreIncreaseBelow: z
    .number(e('must be a number', "a number ≥ 0 in the metric's own unit (0.001 for an error ratio)"))
    .min(0, e('must not be negative', "a number ≥ 0 in the metric's own unit"))
    .optional()
    .describe(
      "An increase over the baseline smaller than this (in the metric's own unit) never fails maxIncrease, whatever its percent: over a baseline of 0, one error is +Inf%. Needs maxIncrease.",
    ),
  statistical: strict({
    passScore: withDefault(
      z
        .number(e('must be a score', 'a number from 0 to 100'))
        .min(0, e('must be a score', 'a number from 0 to 100'))
        .max(100, e('must be a score', 'a number from 0 to 100')),
      `Score (percent) at or above which the metric passes (default ${DEFAULT_PASS_SCORE}).`,
      DEFAULT_PASS_SCORE,
    ),
    marginalScore: withDefault(
      z
        .number(e('must be a score', 'a number from 0 to 100'))
        .min(0, e('must be a score', 'a number from 0 to 100'))
        .max(100, e('must be a score', 'a number from 0 to 100')),
      `Score (percent) at or above which the metric is inconclusive instead of failed (default ${DEFAULT_MARGINAL_SCORE}).`,
      DEFAULT_MARGINAL_SCORE,
    ),
  })
    .optional()
    .describe('Statistical comparison (Mann-Whitney U) of canary versus baseline. Needs baseline.'),
  severity: withDefault(
    z.enum(
      ['warning', 'critical'],
      e('must be warning or critical', 'warning (pause) or critical (stop and roll back)'),
    ),
    `What a failure does: warning pauses for a decision, critical stops and rolls back (default ${DEFAULT_SEVERITY}, seed 000).`,
    DEFAULT_SEVERITY,
  ),
  noData: NoData.optional().describe('What no data means for this metric (default: analysis.noData).'),
  confidence: withDefault(
    z
      .string(e('must be a percent like "99%"', 'a percent from 50% to below 100%, quoted'))
      .regex(regex(CONFIDENCE_PATTERN), e('must be a percent like "99%"', 'a percent from 50% to below 100%')),
    `Confidence of the sequential maxIncrease test on event counts: a good canary fails, and a regression of detect size passes, each at most 100% − confidence of the time, however often the window is looked at (default ${DEFAULT_CONFIDENCE}).`,
    DEFAULT_CONFIDENCE,
  ),
  detect: withDefault(
    z
      .string(e('must be a multiple like "2x"', 'a number above 1 followed by x, like "2x"'))
      .regex(regex(DETECT_PATTERN), e('must be a multiple like "2x"', 'a number above 1 followed by x, like "2x"')),
    `Smallest regression (a multiple of the baseline rate) a pass must rule out: maxIncrease and statistical pass only once enough events were seen to have caught it (default ${DEFAULT_DETECT}, or twice 1 + maxIncrease when that is 2 or more). Above 1 + maxIncrease.`,
    DEFAULT_DETECT,
  ),
  minSamples: withDefault(
    countSchema(1, 'must be a whole number of events ≥ 1'),
    `Fewest events before any verdict: requests (the ratio's denominator) of the canary, and of its baseline, summed over the window; or samples for per-target values. Below it the metric waits, then applies noData (default ${DEFAULT_MIN_SAMPLES}).`,
    DEFAULT_MIN_SAMPLES,
  ),
  maxWait: withDefault(
    PositiveDuration,
    `With noData: wait, the most time past the observation window the metric waits for data (or minSamples) before it is inconclusive (default ${DEFAULT_MAX_WAIT}).`,
    DEFAULT_MAX_WAIT,
  ),
  interval: withDefault(
    PositiveDuration,
    `Time between measurements (default ${DEFAULT_METRIC_INTERVAL}).`,
    DEFAULT_METRIC_INTERVAL,
  ),
  count: withDefault(
    countSchema(1, 'must be a whole number of measurements ≥ 1'),
    `Measurements per analysis (default ${DEFAULT_METRIC_COUNT}).`,
    DEFAULT_METRIC_COUNT,
  ),
  failureLimit: withDefault(
    countSchema(0, 'must be a whole number ≥ 0'),
    `Failed measurements tolerated before the metric fails (default ${DEFAULT_FAILURE_LIMIT}).`,
    DEFAULT_FAILURE_LIMIT,
  ),
  inconclusiveLimit: withDefault(
    countSchema(0, 'must be a whole number ≥ 0'),
    `Inconclusive measurements tolerated before the metric is inconclusive (default ${DEFAULT_INCONCLUSIVE_LIMIT}).`,
    DEFAULT_INCONCLUSIVE_LIMIT,
  ),
})
  .superRefine((value, ctx) => {
    if (
      value.threshold === undefined &&
      value.maxIncrease === undefined &&
      value.statistical === undefined &&
      !hasOwnUnknownKeys(ctx)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: explain('needs a pass condition', 'threshold, maxIncrease or statistical'),
      });
    }
    if (value.ignoreIncreaseBelow !== undefined && value.maxIncrease === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ignoreIncreaseBelow'],
        message: explain('applies to maxIncrease, which is not set', 'maxIncrease: "N%" beside it'),
      });
    }
    if (value.detect !== undefined && new RegExp(DETECT_PATTERN).test(value.detect)) {
      const detect = Number.parseFloat(value.detect);
      const limit =
        value.maxIncrease !== undefined && /^\d+(?:\.\d+)?%$/.test(value.maxIncrease)
          ? 1 + Number.parseFloat(value.maxIncrease) / 100
          : 1;
      if (!(detect > limit)) {
        ctx.addIssue({
          code: 'custom',
          path: ['detect'],
          message: explain(
            value.maxIncrease !== undefined
              ? `must be above 1 + maxIncrease (${limit}x)`
              : 'must be above 1x (no change)',
            `a multiple above ${limit}, like "${limit < 2 ? 2 : 2 * limit}x"`,
          ),
        });
      }
    }
    for (const key of ['maxIncrease', 'statistical'] as const) {
      if (value[key] !== undefined && value.baseline === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: explain(
            'compares against a baseline, but none is set',
            'baseline: {cohort: stable} or {cohort: before}',
          ),
        });
      }
    }
  })
  .meta({
    id: 'Metric',
    anyOf: [{ required: ['threshold'] }, { required: ['maxIncrease'] }, { required: ['statistical'] }],
    dependentRequired: { maxIncrease: ['baseline'], statistical: ['baseline'], ignoreIncreaseBelow: ['maxIncrease'] },
  });

const Analysis = strict({
  provider: Provider,
  noData: withDefault(
    NoData,
    `What a metric with no data (or fewer events than minSamples) means: pause (inconclusive, wait for a decision), fail, pass, or wait (keep measuring past the window until the data come or maxWait passes, then inconclusive) (default ${DEFAULT_NO_DATA}).`,
    DEFAULT_NO_DATA,
  ),
  minWindow: withDefault(
    Duration,
    `Least observation window before the analysis may end it early because every metric is conclusive (a failed critical metric ends it at once); the tier's observe is the most (default ${DEFAULT_MIN_WINDOW}).`,
    DEFAULT_MIN_WINDOW,
  ),
  stopEarly: withDefault(
    z.boolean(e('must be true or false', 'true or false')),
    "End the observation window as soon as every metric is decided (the tier's observe is then the most it lasts); false keeps every window at its full observe (default true).",
    true,
  ),
  metrics: z
    .array(Metric, e('must be a list of metrics', 'a list of {name, query, ...}'))
    .min(1, e('must list at least one metric', 'one or more metrics')),
}).meta({ id: 'Analysis', description: 'Metric analysis run after the canary and after each wave.' });

// ---------------------------------------------------------------------------
// Gates, version policy, rollback

const EnvironmentName = z
  .string(e('must be a GitHub environment name', 'a string'))
  .regex(
    regex(TRIMMED_PATTERN),
    e('must be a GitHub environment name', 'a name up to 255 characters, no spaces at either end'),
  );

const Gates = strict({
  canary: EnvironmentName.optional().describe('GitHub environment that approves starting the canary.'),
  promote: EnvironmentName.optional().describe(
    'GitHub environment that approves promotion from the canary to the waves.',
  ),
}).meta({
  id: 'Gates',
  description: 'Approval gates: GitHub environment names (answered on the command line outside Actions).',
});

const VersionPolicy = strict({
  allowDowngrade: withDefault(
    z.boolean(e('must be true or false', 'true or false')),
    'Allow moving to a lower version outside a rollback (default false).',
    false,
  ),
  maxSkew: countSchema(0, 'must be a whole number ≥ 0')
    .optional()
    .describe('Most minor versions one rollout may move (same major). Omitted = no limit.'),
  stepThrough: z
    .array(Semver, e('must be a list of versions', 'a list like ["1.25.0"]'))
    .optional()
    .describe('Versions a rollout must pass through, ascending, all below version (default none).'),
  allowMixedVersions: withDefault(
    z.boolean(e('must be true or false', 'true or false')),
    'Start a rollout over a tier whose members report more than two distinct versions (default false: mixed operation is N and N-1, seed 000).',
    false,
  ),
}).meta({ id: 'VersionPolicy' });

const Rollback = strict({
  waves: withDefault(
    sizeSchema(
      'RollbackSize',
      1,
      'Targets per rollback wave: a count ≥ 1, a percent like "50%" of the targets going back, or "auto".',
    ),
    `Targets per rollback wave (rollback/1, rollback/2, …; default "${DEFAULT_ROLLBACK_WAVES}").`,
    DEFAULT_ROLLBACK_WAVES,
  ),
  maxUnavailable: UnavailableSize.optional().describe(
    "Most targets of a rollback wave out of service at once (default: the wave's size).",
  ),
}).meta({ id: 'Rollback' });

// ---------------------------------------------------------------------------
// The spec

/**
 * Zod schema of a written spec (`rollouts/<name>.yaml`). Accepts exactly what
 * `schema/rollout.schema.json` accepts (that file is generated from it).
 */
export const WrittenRolloutSpecSchema = strict({
  apiVersion: z
    .literal(SPEC_API_VERSION, e(`must be "${SPEC_API_VERSION}"`, `"${SPEC_API_VERSION}"`))
    .describe('Spec format version.'),
  kind: z.literal(SPEC_KIND, e(`must be "${SPEC_KIND}"`, `"${SPEC_KIND}"`)),
  name: Name.describe('Rollout name (DNS-label-like); names the state file and the concurrency group.'),
  component: z
    .string(e('must be a component name', 'a string'))
    .min(1, e('must not be empty', 'a component name'))
    .describe('What is upgraded ({{component}} in steps).'),
  version: Semver.describe(
    'Desired version; a pull request that changes it proposes an upgrade ({{version}} in steps).',
  ),
  inventory: Inventory,
  tiers: z
    .array(Tier, e('must be a list of tiers', 'a list of {name, select, strategy}'))
    .min(1, e('must list at least one tier', 'one or more tiers, or leave tiers out'))
    .optional()
    .describe(
      `Tiers in dependency order, leaf to core; a tier finishes before the next starts. Omitted = one tier "${DEFAULT_TIER_NAME}" with every target.`,
    ),
  steps: Steps.optional().describe('Steps of every tier that does not write its own.'),
  hooks: Hooks.optional().describe('Commands or requests run once per rollout.'),
  ssh: Ssh.optional().describe('Connection settings of ssh steps (docs/ssh.md).'),
  analysis: Analysis.optional(),
  alerts: ALERTS_SETTINGS_SCHEMA.optional(),
  slo: SloSchema.optional(),
  schedule: ScheduleSchema.optional(),
  notify: NotifySchema.optional(),
  config: ConfigSchema.optional(),
  gates: Gates.optional(),
  versionPolicy: VersionPolicy.optional().describe('Downgrade, skew and step-through rules (seeds 000, 003).'),
  rollback: Rollback.optional().describe('How a rollback is split into waves.'),
  exclude: z
    .array(
      z.string(e('must be a target id', 'a string')).min(1, e('must be a target id', 'a non-empty string')),
      e('must be a list of target ids', 'a list like ["edge-7"]'),
    )
    .optional()
    .describe(
      "Targets left out of the rollout explicitly (e.g. a broken box being repaired): never touched, recorded in the state, still counted against their tier's budget when observed down.",
    ),
}).meta({
  title: 'Fleetgate rollout spec',
  description:
    'A Fleetgate rollout spec (rollouts/<name>.yaml): what to upgrade, to which version, in which order and how safely.',
});

/** A spec as written (before defaults). */
export type WrittenRolloutSpec = z.input<typeof WrittenRolloutSpecSchema>;
/** A step as written. */
export type WrittenStep = z.input<typeof Step>;
/** A strategy as written. */
export type WrittenStrategy = z.input<typeof Strategy>;
/** A metric as written. */
export type WrittenMetric = z.input<typeof Metric>;
