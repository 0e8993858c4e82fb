/**
 * Named secrets for the fleet and the metric backends, passed to the reusable workflow as one
 * secret (issue 12, item 1).
 *
 * A reusable workflow cannot know which secrets a repository's specs read (`bearerTokenEnv:
 * PROM_TOKEN`, `${AGENT_ADMIN_TOKEN}` in a header, `ssh.identity.env: SSH_PRIVATE_KEY`), a
 * caller's `env:` does not reach it, and composite actions have no `secrets` context. So the
 * workflow maps a few common names and one bundle, `FLEETGATE_SECRETS`, into its fleet-touching
 * steps through `env:`; the bundle is a JSON object of names to values, and the CLI exports each
 * name into its own environment (so command steps and providers see it as a plain variable).
 *
 * GitHub masks a secret only where the whole value appears; a value inside a JSON secret is not
 * masked on its own ("don't use structured data as a secret", GitHub's secure-use guide). So each
 * value is masked here, line by line, before any step runs, and registered for Fleetgate's own
 * redaction (events, state, summaries). The bundle variable is then removed from the
 * environment: child processes get the names, not the bundle. Nothing is written to disk.
 */
import { ConfigurationError } from '../errors.js';
import { registerSecret } from '../util/secrets.js';

/** The environment variable holding the bundle. */
export const SECRET_BUNDLE_ENV = 'FLEETGATE_SECRETS';

/** A name the bundle may set: an ordinary environment variable name. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Names that would change how the runner, the shell, Node.js or Fleetgate itself behave; a
 * bundle setting them is refused rather than obeyed.
 */
const RESERVED =
  /^(?:PATH|HOME|SHELL|ENV|BASH_ENV|IFS|PS4|TMPDIR|NODE_.*|NPM_.*|LD_.*|DYLD_.*|GITHUB_.*|RUNNER_.*|ACTIONS_.*|INPUT_.*|FLEETGATE_.*)$/i;

/** What {@link expandSecretBundle} did (names only, never values). */
export interface SecretBundleResult {
  /** Names exported into the environment. */
  exported: string[];
  /** Names already set (non-empty) by the step's own `env:`, left as they were. */
  kept: string[];
}

/**
 * The strings a masker must register for `value`: the value itself and each of its lines
 * (GitHub matches masks within one log line, so a multi-line key needs every line). Pieces
 * shorter than 4 characters are left out: they would mask ordinary text.
 */
export function maskPieces(value: string): string[] {
  const pieces = new Set<string>();
  if (!value.includes('\n') && value.length >= 4) pieces.add(value);
  for (const line of value.split(/\r?\n/)) {
    const t = line.trim();
    if (t.length >= 4) pieces.add(t);
  }
  return [...pieces];
}

/**
 * Parses `env.FLEETGATE_SECRETS` (a JSON object, name → string value) and exports each name into
 * `env` unless the step already set it to a non-empty value. Every value is passed to `mask`
 * (through {@link maskPieces}) before it is exported; the bundle variable is deleted afterwards.
 * Does nothing when the variable is unset or empty (a caller that passes no bundle).
 * @param mask - registers one string for masking (in Actions: `::add-mask::`, and Fleetgate's redaction)
 * @throws ConfigurationError when the bundle is not a JSON object of strings or names a reserved
 *   or malformed variable; the message names the problem, never a value
 */
export function expandSecretBundle(env: NodeJS.ProcessEnv, mask: (piece: string) => void): SecretBundleResult {
  const raw = env[SECRET_BUNDLE_ENV];
  const result: SecretBundleResult = { exported: [], kept: [] };
  if (raw === undefined || raw.trim() === '') {
    delete env[SECRET_BUNDLE_ENV];
    return result;
  }
  // Masked whole before parsing, so not even a parse error can echo it.
  for (const piece of maskPieces(raw)) mask(piece);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(
      `${SECRET_BUNDLE_ENV} is not valid JSON: it must be an object of names to values, like {"PROM_TOKEN": "…"} (its content is not shown)`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigurationError(`${SECRET_BUNDLE_ENV} must be a JSON object of names to string values`);
  const entries = Object.entries(parsed as Record<string, unknown>);
  const problems: string[] = [];
  for (const [name, value] of entries) {
    if (!NAME.test(name)) problems.push(`${JSON.stringify(name)} is not an environment variable name`);
    else if (RESERVED.test(name))
      problems.push(`${name} is reserved (it would change how the runner or Fleetgate runs)`);
    else if (typeof value !== 'string') problems.push(`${name}: the value must be a string`);
  }
  if (problems.length > 0)
    throw new ConfigurationError(`${SECRET_BUNDLE_ENV}: ${problems.join('; ')}. Nothing was exported.`);
  for (const [name, value] of entries as [string, string][]) {
    for (const piece of maskPieces(value)) mask(piece);
    if (env[name]) {
      result.kept.push(name);
      continue;
    }
    env[name] = value;
    result.exported.push(name);
  }
  delete env[SECRET_BUNDLE_ENV];
  return result;
}

/**
 * The mask {@link expandSecretBundle} uses in the CLI: Fleetgate's own redaction, and in an
 * Actions step also the runner's log masking (`::add-mask::`, escaped like `@actions/core`).
 */
export function createRunnerMask(
  env: NodeJS.ProcessEnv = process.env,
  write: (line: string) => void = (line) => process.stdout.write(line),
): (piece: string) => void {
  return (piece) => {
    registerSecret(piece);
    if (env.GITHUB_ACTIONS === 'true')
      write(`::add-mask::${piece.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`);
  };
}
