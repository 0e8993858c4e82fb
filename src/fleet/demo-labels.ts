/**
 * Labels of the embedded demo fleet, shared by `npm run demo` and `fleetgate fleet`
 * so `rollouts/demo.yaml` selects the same tiers on both: the last 3 agents form a
 * quorum tier (`role: control`, the last one `leader: "true"`), the others are
 * `role: edge` spread over zones z1–z3. Fleets under 4 agents are all edge.
 */
export function demoFleetLabels(index: number, count: number): Record<string, string> {
  const quorum = count >= 4 ? 3 : 0;
  if (index < count - quorum) return { role: 'edge', zone: `z${(index % 3) + 1}` };
  return { role: 'control', leader: index === count - 1 ? 'true' : 'false' };
}
