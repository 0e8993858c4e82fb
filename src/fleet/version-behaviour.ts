/**
 * How a local fleet agent behaves on a given version string. Pure: the tag
 * after the first `-` or `+` of the version (its semver prerelease/build part)
 * decides, so a rollout test picks a behaviour just by naming the version it
 * upgrades to, e.g. `1.2.0-broken` or `1.3.0-errors5`.
 */

/** Behaviour of an agent running one version. */
export interface VersionBehaviour {
  /** After a restart onto this version the agent never turns healthy (`broken`). */
  broken: boolean;
  /** Every other health/readiness probe fails (`flaky`). */
  flaky: boolean;
  /** Multiplier applied to the base 5xx rate (`errors` = 2, `errorsN` = N; otherwise 1). */
  errorMultiplier: number;
  /** Multiplier applied to latency (`slow` = 2, `slowN` = N; otherwise 1). */
  latencyMultiplier: number;
}

/** Longest version string an agent accepts. */
export const MAX_VERSION_LENGTH = 128;

const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z._+-]*$/;

/**
 * Whether `version` is acceptable to an agent: 1–128 characters, starting with a
 * letter or digit, then letters, digits, `.`, `_`, `+` or `-`. Semver is not
 * required (date versions such as `2024.06.1` work too).
 */
export function isValidAgentVersion(version: string): boolean {
  return version.length <= MAX_VERSION_LENGTH && VERSION_RE.test(version);
}

/** The prerelease/build tag of a version: everything after the first `-` or `+` (empty when absent). */
export function versionTag(version: string): string {
  const i = version.search(/[-+]/);
  return i < 0 ? '' : version.slice(i + 1);
}

function multiplier(tag: string, word: string): number {
  const m = new RegExp(`${word}(\\d+)?`).exec(tag);
  if (!m) return 1;
  if (m[1] === undefined) return 2;
  const n = Number(m[1]);
  // `errors0` / `slow0` would mean "no errors" / "no latency": keep it at least 1× so the tag never improves on base.
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

/**
 * Decides an agent's behaviour from its version string (see `docs/local-fleet.md`).
 * Tags combine: `1.4.0-slow3.errors5` is both 3× slower and 5× more error-prone.
 */
export function parseVersionBehaviour(version: string): VersionBehaviour {
  const tag = versionTag(version).toLowerCase();
  return {
    broken: tag.includes('broken'),
    flaky: tag.includes('flaky'),
    errorMultiplier: multiplier(tag, 'errors'),
    latencyMultiplier: multiplier(tag, 'slow'),
  };
}
