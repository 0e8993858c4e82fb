/**
 * The rollout spec the end-to-end tests, the fault tests and the benchmarks roll
 * out over the local fleet's HTTP agents (drain → upgrade → healthz → undrain).
 * Each caller sets its own timings; a field left out is left out of the spec
 * (the spec's default applies).
 */

type StepName = 'version' | 'drain' | 'upgrade' | 'verify' | 'undrain';

export interface FleetSpecOptions {
  /** Rollout name (default `svc`). */
  name?: string;
  version: string;
  /** A size, a list of target ids, or `{spreadBy: label}` (written as JSON, which YAML reads). */
  canary?: number | string | readonly string[] | { spreadBy: string };
  /** A size, or the waves as lists of target ids. */
  waves?: number | string | readonly (readonly string[])[];
  maxUnavailable?: number | string;
  observe?: string;
  observeInterval?: string;
  maxConsecutiveFailures?: number;
  failureTolerance?: string;
  /** Per-step timeouts (durations); a step without one gets the spec default. */
  timeouts?: Partial<Record<StepName, string>>;
  /** Retries of the version, drain and undrain steps, 50 ms apart (none by default). */
  retries?: number;
  /** Health-check polling interval of the verify step. */
  verifyInterval?: string;
  /** YAML appended as is (analysis, gates, hooks). */
  extra?: string;
}

export function fleetSpecText(o: FleetSpecOptions): string {
  const field = (key: string, value: unknown) =>
    value === undefined ? '' : `\n      ${key}: ${JSON.stringify(value)}`;
  const breaker =
    o.maxConsecutiveFailures === undefined
      ? ''
      : `\n      circuitBreaker: { maxConsecutiveFailures: ${o.maxConsecutiveFailures} }`;
  const step = (name: StepName, http: string, retried: boolean, interval?: string) =>
    [
      `  ${name}:`,
      `    http: ${http}`,
      ...(o.timeouts?.[name] ? [`    timeout: ${o.timeouts[name]}`] : []),
      ...(retried && o.retries !== undefined ? [`    retries: ${o.retries}`, '    interval: 50ms'] : []),
      ...(interval ? [`    interval: ${interval}`] : []),
    ].join('\n');
  return `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: ${o.name ?? 'svc'}
component: fleet-agent
version: ${o.version}
inventory:
  file: ../inventory.yaml
tiers:
  - name: all
    strategy:${field('canary', o.canary)}${field('waves', o.waves)}${field('maxUnavailable', o.maxUnavailable)}${field('observe', o.observe)}${field('observeInterval', o.observeInterval)}${breaker}${field('failureTolerance', o.failureTolerance)}
steps:
${step('version', "{ url: 'http://{{target.address}}/version', json: version }", true)}
${step('drain', "{ method: POST, url: 'http://{{target.address}}/drain' }", true)}
${step('upgrade', "{ method: POST, url: 'http://{{target.address}}/upgrade?version={{version}}', expect: [200, 202] }", false)}
${step('verify', "{ url: 'http://{{target.address}}/healthz', expect: 200 }", false, o.verifyInterval)}
${step('undrain', "{ method: POST, url: 'http://{{target.address}}/undrain' }", true)}
${o.extra ?? ''}`;
}
