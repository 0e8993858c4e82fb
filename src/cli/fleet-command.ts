/**
 * `fleetgate fleet`: runs an embedded local fleet in the foreground for trying Fleetgate by hand;
 * `fleetgate fleet provision|retire`: starts or stops one agent on request (the steps of a
 * `replace` or `blueGreen` tier on the local fleet, see docs/replace-and-blue-green.md).
 */
import type { Command } from 'commander';
import { demoFleetLabels } from '../fleet/demo-labels.js';
import { provisionLocalAgent, retireLocalAgent } from '../fleet/provision.js';
import { startLocalFleet } from '../fleet/local-fleet.js';

export async function runLocalFleetCommand(opts: {
  count: number;
  version: string;
  inventory: string;
  idPrefix: string;
}): Promise<void> {
  const fleet = await startLocalFleet({
    count: opts.count,
    version: opts.version,
    idPrefix: opts.idPrefix,
    labels: (i) => demoFleetLabels(i, opts.count),
  });
  await fleet.writeInventory(opts.inventory);
  process.stdout.write(
    `${fleet.targets.length} agents on ${opts.version} listening on 127.0.0.1; inventory written to ${opts.inventory}. Ctrl-C stops them.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await fleet.stop();
}

/** `--label k=v`, repeated. */
function collectLabel(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new Error(`--label must be key=value (got ${JSON.stringify(value)})`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/**
 * `fleet provision`: one agent on a free loopback port, detached; prints `{"id", "address", "pid",
 * "version", "labels"?}` on stdout (what a `provision` step must print). `fleet retire`: stops it.
 */
export function registerFleetLauncherCommands(fleet: Command): void {
  fleet
    .command('provision')
    .description('start one agent on a free loopback port (detached) and print {"id","address"} as JSON')
    .requiredOption('--dir <dir>', "folder of the launcher's records (one <id>.json per agent)")
    .requiredOption('--version <version>', 'version the agent runs')
    .option('--id <id>', 'its id (default: the next generation of --replaces: web-1 → web-1.g2)')
    .option('--replaces <id>', 'id of the target it replaces')
    .option(
      '--label <key=value>',
      'a label to print with it (repeat; default: the caller keeps the old labels)',
      collectLabel,
      {},
    )
    .option('--traffic-rps <n>', 'synthetic requests per second')
    .action(
      async (flags: {
        dir: string;
        version: string;
        id?: string;
        replaces?: string;
        label: Record<string, string>;
        trafficRps?: string;
      }) => {
        const agent = await provisionLocalAgent({
          dir: flags.dir,
          version: flags.version,
          id: flags.id,
          replaces: flags.replaces,
          labels: flags.label,
          trafficRps: flags.trafficRps === undefined ? undefined : Number(flags.trafficRps),
        });
        process.stdout.write(`${JSON.stringify(agent)}\n`);
      },
    );
  fleet
    .command('retire')
    .description(
      'stop an agent started by fleet provision (SIGTERM, then SIGKILL after 2 s); nothing to stop is not an error',
    )
    .requiredOption('--dir <dir>', "folder of the launcher's records")
    .requiredOption('--id <id>', 'id of the agent')
    .action(async (flags: { dir: string; id: string }) => {
      const stopped = await retireLocalAgent(flags.dir, flags.id);
      process.stdout.write(`${JSON.stringify({ id: flags.id, retired: true, stopped })}\n`);
    });
}
