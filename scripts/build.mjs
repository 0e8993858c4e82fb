// Bundles the CLI, the local fleet agent and the demo into dist/ with esbuild.
// Runs on `npm ci` (prepare) so `npx fleetgate` works straight after set-up.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const entries = {
  cli: 'src/cli/bin.ts',
  agent: 'src/fleet/agent-main.ts',
  demo: 'src/demo/main.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Shared code and lazily imported modules (the GitHub layer: Octokit, @actions/core)
  // go to chunk files, so a local `fleetgate run` does not parse them at start-up. They
  // stay in dist/ itself: bundled code finds dist/agent.js next to its own module.
  splitting: true,
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  // CommonJS dependencies bundled into ESM still call require() for built-ins.
  banner: {
    js: "import { createRequire as __fgCreateRequire } from 'node:module'; const require = __fgCreateRequire(import.meta.url);",
  },
});
chmodSync('dist/cli.js', 0o755);
