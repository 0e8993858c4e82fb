/** `fleetgate fleet`: runs an embedded local fleet in the foreground for trying Fleetgate by hand. */
import { demoFleetLabels } from '../fleet/demo-labels.js';
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
