/**
 * Notifications (spec `notify`): an event sink that tells webhooks about chosen rollout events
 * — a gate waiting, a pause with its reason, a rollback, a completion — with links to the
 * GitHub run, the pull request and the state file's commits when on GitHub. Each delivery is a
 * POST through undici with retries and exponential back-off; one that still fails becomes a
 * `notify_warning` event and never fails the rollout. Webhook URLs are read from the
 * environment and registered as secrets, so they are masked in every output.
 *
 * The engine knows nothing of this: `openEngine` (src/app/session.ts) adds the sink beside the
 * CLI's and waits for the deliveries in `close()`.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { request } from 'undici';
import type { EventSink, RolloutEvent } from '../engine/events.js';
import type { NotifyEvent, NotifyWebhookSpec } from '../spec/types.js';
import { redactSecrets } from '../util/secrets.js';

/**
 * Which engine event is which notification event. A gate is "waiting" when the run stopped for
 * it (a pause with reason `GatePending`), not each time it is asked: `--yes` and `--approve`
 * answer at once. Every other pause is `paused`.
 */
function notificationEventOf(e: RolloutEvent): NotifyEvent | undefined {
  switch (e.event) {
    case 'rollout_paused':
      return e.reason === 'GatePending' ? 'gateWaiting' : 'paused';
    case 'rollout_rolled_back':
      return 'rolledBack';
    case 'rollout_completed':
      return 'completed';
    default:
      return undefined;
  }
}

/** Links put in every notification (absent ones are left out). */
export interface NotifyLinks {
  run?: string;
  pullRequest?: string;
  /** The commits of the state file (each wave's state commit is one of them). */
  stateCommits?: string;
}

/** The JSON webhook's payload (`kind: json`). */
export interface NotifyPayload {
  /** Notification event (`gateWaiting`, `paused`, `rolledBack`, `completed`). */
  event: NotifyEvent;
  rollout: string;
  /** ISO-8601 time of the engine event. */
  ts: string;
  /** One line for people. */
  summary: string;
  wave?: string;
  gate?: string;
  reason?: string;
  message?: string;
  version?: string;
  links: NotifyLinks;
  /** The engine event as emitted (src/engine/events.ts). */
  source: RolloutEvent;
}

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  webhooks: NotifyWebhookSpec[];
  env: NodeJS.ProcessEnv;
  /** Registers a secret (the webhook URLs): `registerSecret` of src/util/secrets.ts. */
  mask: (secret: string) => void;
  /** Where `notify_warning` events go (the CLI's sink). */
  warn: EventSink;
  links?: NotifyLinks;
  /** Attempts per delivery, the first included (default 4). */
  attempts?: number;
  /** Wait before the first retry, doubled for each next one (ms, default 500). */
  backoffMs?: number;
  /** Time allowed for one attempt (ms, default 10 000). */
  timeoutMs?: number;
}

export interface Notifier {
  /** Receives every engine event; sends the chosen ones (never throws, never waits). */
  sink: EventSink;
  /** Resolves when every delivery started so far succeeded or gave up (never rejects). */
  flush(): Promise<void>;
}

/** Whether an event is one people are told about: not a run that found nothing to do. */
function notable(event: RolloutEvent): boolean {
  return !(
    event.event === 'rollout_completed' &&
    typeof event.message === 'string' &&
    event.message.startsWith('already ')
  );
}

function summaryOf(kind: NotifyEvent, e: RolloutEvent): string {
  const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  const at = e.wave ? ` at ${e.wave}` : '';
  const version = text(e.version);
  switch (kind) {
    case 'gateWaiting':
      return `${e.rollout}: gate "${text(e.gate)}" is waiting for approval${at}`;
    case 'paused':
      return `${e.rollout}: paused${at} (${text(e.reason)}): ${text(e.message)}`;
    case 'rolledBack':
      return `${e.rollout}: rolled back${version ? ` to ${version}` : ''}`;
    case 'completed':
      return `${e.rollout}: completed${version ? ` at ${version}` : ''}`;
  }
}

/**
 * The payload of one notification (pure; secrets redacted from its text).
 * @returns undefined when `event` is not one of the four notification events
 */
export function notificationFor(event: RolloutEvent, links: NotifyLinks = {}): NotifyPayload | undefined {
  const kind = notificationEventOf(event);
  if (!kind || !notable(event)) return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? redactSecrets(v) : undefined);
  return {
    event: kind,
    rollout: event.rollout,
    ts: event.ts,
    summary: redactSecrets(summaryOf(kind, event)),
    ...(str(event.wave) && { wave: str(event.wave) }),
    ...(str(event.gate) && { gate: str(event.gate) }),
    ...(str(event.reason) && { reason: str(event.reason) }),
    ...(str(event.message) && { message: str(event.message) }),
    ...(str(event.version) && { version: str(event.version) }),
    links,
    source: JSON.parse(redactSecrets(JSON.stringify(event))) as RolloutEvent,
  };
}

/** The Slack incoming-webhook body: `{text}` in mrkdwn, links as `<url|label>`. */
export function slackBody(p: NotifyPayload): { text: string } {
  const links = [
    p.links.run && `<${p.links.run}|run>`,
    p.links.pullRequest && `<${p.links.pullRequest}|pull request>`,
    p.links.stateCommits && `<${p.links.stateCommits}|state commits>`,
  ].filter(Boolean);
  return { text: `*Fleetgate* ${p.summary}${links.length > 0 ? `\n${links.join(' · ')}` : ''}` };
}

/**
 * Links to the run, the pull request and the state file's commits, from the GitHub Actions
 * environment (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`, `GITHUB_RUN_ID`, `GITHUB_REF_NAME`,
 * `GITHUB_WORKSPACE`, the event payload at `GITHUB_EVENT_PATH`). Outside GitHub: none.
 * @param statePath - the state file (absolute or relative to the working directory)
 */
export function githubLinks(env: NodeJS.ProcessEnv, statePath: string): NotifyLinks {
  const server = env.GITHUB_SERVER_URL;
  const repo = env.GITHUB_REPOSITORY;
  if (!server || !repo) return {};
  const base = `${server}/${repo}`;
  const links: NotifyLinks = {};
  if (env.GITHUB_RUN_ID) links.run = `${base}/actions/runs/${env.GITHUB_RUN_ID}`;
  const pr = pullRequestNumber(env.GITHUB_EVENT_PATH);
  if (pr !== undefined) links.pullRequest = `${base}/pull/${pr}`;
  const ref = env.GITHUB_REF_NAME;
  if (ref) {
    const path = relative(resolve(env.GITHUB_WORKSPACE ?? '.'), resolve(statePath))
      .split('\\')
      .join('/');
    links.stateCommits = `${base}/commits/${ref}/${path}`;
  }
  return links;
}

/** The pull request of the event that started the workflow (a `pull_request` event, or a push's merged PR is unknown). */
function pullRequestNumber(eventPath: string | undefined): number | undefined {
  if (!eventPath) return undefined;
  try {
    const payload = JSON.parse(readFileSync(eventPath, 'utf8')) as {
      pull_request?: { number?: unknown };
      number?: unknown;
    };
    const n = payload.pull_request?.number;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * POSTs `body` as JSON to `url`, retrying a network error or a 5xx/429 answer with back-off.
 * @returns undefined when delivered, else what the last attempt said (secrets redacted)
 */
async function deliver(
  url: string,
  body: unknown,
  o: { attempts: number; backoffMs: number; timeoutMs: number },
): Promise<string | undefined> {
  let last = '';
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'fleetgate' },
        body: JSON.stringify(body),
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      });
      await res.body.text().catch(() => '');
      if (res.statusCode >= 200 && res.statusCode < 300) return undefined;
      last = `HTTP ${res.statusCode}`;
      if (res.statusCode < 500 && res.statusCode !== 429) break; // a 4xx does not get better
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (attempt < o.attempts) await sleep(o.backoffMs * 2 ** (attempt - 1));
  }
  return redactSecrets(`${last} after ${o.attempts} attempt(s)`);
}

/**
 * Creates the notification sink for the spec's webhooks. A webhook whose variable is unset or
 * empty is reported once as a `notify_warning` and skipped.
 */
export function createNotifier(o: NotifierOptions): Notifier {
  const opts = { attempts: o.attempts ?? 4, backoffMs: o.backoffMs ?? 500, timeoutMs: o.timeoutMs ?? 10_000 };
  const pending = new Set<Promise<void>>();
  const hooks: { spec: NotifyWebhookSpec; url?: string }[] = o.webhooks.map((spec) => {
    const url = o.env[spec.urlFrom];
    if (url) o.mask(url);
    return { spec, url: url || undefined };
  });
  let warnedUnset = false;
  const warn = (event: RolloutEvent, message: string, extra: Record<string, unknown>) => {
    try {
      o.warn({ ts: new Date().toISOString(), event: 'notify_warning', rollout: event.rollout, message, ...extra });
    } catch {
      // A broken output must not stop the rollout either.
    }
  };
  return {
    sink(event) {
      const payload = notificationFor(event, o.links);
      if (!payload) return;
      for (const h of hooks) {
        if (!h.spec.events.includes(payload.event)) continue;
        if (!h.url) {
          if (!warnedUnset)
            warn(event, `notify: ${h.spec.urlFrom} is not set; the ${h.spec.kind} webhook is skipped`, {
              urlFrom: h.spec.urlFrom,
            });
          warnedUnset = true;
          continue;
        }
        const body = h.spec.kind === 'slack' ? slackBody(payload) : payload;
        const job = deliver(h.url, body, opts).then((problem) => {
          if (problem)
            warn(
              event,
              `notify: the ${h.spec.kind} webhook (${h.spec.urlFrom}) was not told about ${payload.event}: ${problem}`,
              {
                urlFrom: h.spec.urlFrom,
                notification: payload.event,
              },
            );
        });
        pending.add(job);
        void job.finally(() => pending.delete(job));
      }
    },
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
