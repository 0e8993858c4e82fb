/**
 * Locates the headless Chromium (Debian package `chromium`) for the report's browser
 * test through `scripts/chromium.sh`: on a developer machine without it, returns
 * `undefined` after a LOUD message and the test skips; with `CI` set it installs the
 * package (CI runs as root) and a missing binary fails the run.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/chromium.sh');

/**
 * The Chromium binary, or `undefined` (after a loud message) when it is missing on a developer machine.
 * @throws Error in CI (`CI` set) when it is missing and cannot be installed.
 */
export function locateChromium(): string | undefined {
  const check = spawnSync('bash', [SCRIPT, '--check'], { encoding: 'utf8' });
  let path = check.status === 0 ? check.stdout.trim() : undefined;
  if (path === undefined && process.env.CI) {
    const install = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 900_000 });
    path = install.status === 0 ? install.stdout.trim() : undefined;
    if (path === undefined)
      throw new Error(`Chromium is required in CI and scripts/chromium.sh could not provide it:\n${install.stderr}`);
  }
  if (path === undefined)
    process.stderr.write(
      `\n${'!'.repeat(78)}\n!! SKIPPING the report's browser test: chromium is not installed.\n!! ${check.stderr.trim().split('\n').join('\n!! ')}\n${'!'.repeat(78)}\n\n`,
    );
  return path;
}
