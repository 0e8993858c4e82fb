/**
 * Prometheus metrics of one simulated agent, rendered in the text exposition
 * format 0.0.4. Memory is fixed: one counter per status code seen (a handful)
 * and one histogram.
 */

/** Content type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Upper bounds (seconds) of `http_request_duration_seconds` buckets; `+Inf` is implied. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Escapes a label value per the exposition format (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `{${parts.join(',')}}`;
}

/** What `render` labels the series with and reports besides the request counters. */
export interface MetricsIdentity {
  id: string;
  version: string;
  /** Value of `fleet_agent_upgrades_total`. */
  upgrades: number;
}

/**
 * Request counters and latency histogram of one agent for its current version.
 * A simulated restart onto a new version calls `reset()`, as a real process
 * restart would: counters start again from zero under the new `version` label.
 */
export class AgentMetrics {
  private readonly byCode = new Map<number, number>();
  private readonly bucketCounts = new Float64Array(DURATION_BUCKETS_SECONDS.length + 1);
  private sumSeconds = 0;
  private count = 0;

  /** Records one served request with its HTTP status and duration (seconds). */
  record(status: number, seconds: number): void {
    this.byCode.set(status, (this.byCode.get(status) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS_SECONDS.length && seconds > (DURATION_BUCKETS_SECONDS[i] as number)) i++;
    this.bucketCounts[i] = (this.bucketCounts[i] as number) + 1;
    this.sumSeconds += seconds;
    this.count++;
  }

  /** Requests recorded since the last reset, by status code. */
  requestsByCode(): ReadonlyMap<number, number> {
    return this.byCode;
  }

  /** Forgets every recorded request (a restart). */
  reset(): void {
    this.byCode.clear();
    this.bucketCounts.fill(0);
    this.sumSeconds = 0;
    this.count = 0;
  }

  /** Renders every series in the text exposition format, ending with a newline. */
  render(identity: MetricsIdentity): string {
    const base = { id: identity.id, version: identity.version };
    const out: string[] = [
      '# HELP fleet_agent_build_info Version the agent runs (always 1).',
      '# TYPE fleet_agent_build_info gauge',
      `fleet_agent_build_info${labels(base)} 1`,
      '# HELP http_requests_total Application requests served (/work and synthetic traffic), by status code.',
      '# TYPE http_requests_total counter',
    ];
    // Always expose 200 and 500 so a ratio query has both series from the first scrape.
    const codes = new Set<number>([200, 500, ...this.byCode.keys()]);
    for (const code of [...codes].sort((a, b) => a - b)) {
      out.push(`http_requests_total${labels({ ...base, code: String(code) })} ${this.byCode.get(code) ?? 0}`);
    }
    out.push(
      '# HELP http_request_duration_seconds Latency of application requests.',
      '# TYPE http_request_duration_seconds histogram',
    );
    let cumulative = 0;
    DURATION_BUCKETS_SECONDS.forEach((le, i) => {
      cumulative += this.bucketCounts[i] as number;
      out.push(`http_request_duration_seconds_bucket${labels({ ...base, le: String(le) })} ${cumulative}`);
    });
    out.push(
      `http_request_duration_seconds_bucket${labels({ ...base, le: '+Inf' })} ${this.count}`,
      `http_request_duration_seconds_sum${labels(base)} ${this.sumSeconds}`,
      `http_request_duration_seconds_count${labels(base)} ${this.count}`,
      '# HELP fleet_agent_upgrades_total Upgrade requests that changed the version.',
      '# TYPE fleet_agent_upgrades_total counter',
      `fleet_agent_upgrades_total${labels({ id: identity.id })} ${identity.upgrades}`,
    );
    return `${out.join('\n')}\n`;
  }
}
