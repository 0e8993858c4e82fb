/**
 * What `fleetgate --help` says about `fleetgate github …`. Lives apart from
 * `commands.ts` so the CLI can list the command group without loading it (and
 * Octokit and `@actions/core` with it) for local commands.
 */
export const GITHUB_COMMAND_DESCRIPTION =
  'GitHub Actions steps: plan outputs and PR comment, preflight audit, gates, summaries, dispatch';
