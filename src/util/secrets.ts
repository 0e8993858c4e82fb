/**
 * Secret values registered at run time (metric provider tokens, GitHub tokens)
 * and a redactor applied to everything Fleetgate writes: terminal output,
 * events, the state file. In GitHub Actions the values are also passed to
 * `core.setSecret` by the GitHub layer, which masks them in the runner's log.
 */
const secrets = new Set<string>();

/** Registers a secret; values shorter than 4 characters are ignored (they would mask ordinary text). */
export function registerSecret(value: string): void {
  if (value.length >= 4) secrets.add(value);
}

/** Replaces every registered secret in `text` with `***`. */
export function redactSecrets(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}
