/**
 * `fleetgate github authorize`: whether a user may approve or decide (collaborator permission or team membership).
 */
import { Option, type Command } from 'commander';
import { createScmFromEnv, readActionsContext } from '../actions-env.js';
import { authorizeActor, parsePermission } from '../approvals.js';
import { NotAuthorizedError } from '../errors.js';
import { annotate, setOutputs } from '../runner-io.js';
import { EXIT } from './shared.js';

/** Adds `authorize` to the `github` command group. */
export function registerAuthorizeCommand(gh: Command): void {
  gh.command('authorize')
    .description('refuse unless the user has the permission (collaborator-permission API) or is in a listed team')
    .addOption(new Option('--permission <permission>', 'least repository permission').default('maintain'))
    .option('--team <org/team...>', 'teams whose members are accepted too (token needs org members: read)')
    .option('--user <login>', 'user to check (default: who triggered this run)')
    .action(async (flags: { permission: string; team?: string[]; user?: string }) => {
      const ctx = readActionsContext();
      const user = flags.user || ctx.triggeringActor || '';
      try {
        const auth = await authorizeActor(await createScmFromEnv(ctx), user, {
          permission: parsePermission(flags.permission),
          teams: flags.team,
        });
        process.stdout.write(
          `${auth.user} may decide (${auth.team ? `member of ${auth.team}` : `${auth.permission} permission`})\n`,
        );
        setOutputs({ user: auth.user, permission: auth.permission, team: auth.team ?? '' });
      } catch (error) {
        if (!(error instanceof NotAuthorizedError)) throw error;
        annotate('error', error.message, 'fleetgate: not authorized');
        process.stderr.write(`fleetgate: ${error.message}\n`);
        process.exitCode = EXIT.error;
      }
    });
}
