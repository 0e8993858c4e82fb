/**
 * The spec's `notify` section: webhooks told about chosen rollout events (a generic JSON
 * webhook, or a Slack-compatible incoming webhook). The URL is never written in the spec: it is
 * read from the environment variable `urlFrom` names (a Slack URL carries its token) and masked.
 * Here: the written form (zod, so the JSON Schema and `validate` know every field) and its
 * normalization. Delivery is `src/notify/webhook.ts`. See docs/schedule-and-notifications.md.
 */
import { z } from 'zod';
import { e, explain } from './explain.js';

/** Events a webhook may be told about, as written in `notify[].events`. */
export const NOTIFY_EVENTS = ['gateWaiting', 'paused', 'rolledBack', 'completed'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Webhook kinds: `json` posts Fleetgate's payload; `slack` posts `{text}` with mrkdwn links. */
export const NOTIFY_KINDS = ['json', 'slack'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

const Webhook = z
  .strictObject(
    {
      kind: z
        .enum(NOTIFY_KINDS, e('must be a webhook kind', NOTIFY_KINDS.join(' or ')))
        .describe('json: Fleetgate\'s own payload; slack: a Slack-compatible incoming webhook ({"text": ...}).'),
      urlFrom: z
        .string(e('must name an environment variable', 'a name like SLACK_WEBHOOK_URL'))
        // A custom issue, so the value is not echoed: a URL written here is a secret in the spec.
        .refine(
          (v) => new RegExp(ENV_NAME_PATTERN).test(v),
          e(
            'must name the environment variable holding the URL (the value is not shown: it may be a secret)',
            'a name like SLACK_WEBHOOK_URL',
          ),
        )
        // The JSON Schema keeps the pattern, for editors.
        .meta({ pattern: ENV_NAME_PATTERN })
        .describe('Environment variable holding the webhook URL (a secret: masked in every output).'),
      events: z
        .array(
          z.enum(NOTIFY_EVENTS, e('must be a notification event', NOTIFY_EVENTS.join(', '))),
          e('must be a list of events', `a list like [${NOTIFY_EVENTS.join(', ')}]`),
        )
        .min(1, e('must list at least one event', NOTIFY_EVENTS.join(', ')))
        .optional()
        .describe(`Events to send (default all: ${NOTIFY_EVENTS.join(', ')}).`),
    },
    {
      error: (issue) => {
        if (issue.code === 'unrecognized_keys')
          return explain('unknown webhook setting', 'one of kind, urlFrom, events');
        if (issue.code === 'invalid_type') return explain('must be a webhook', 'a map with kind, urlFrom, events');
        return undefined;
      },
    },
  )
  .meta({ id: 'NotifyWebhook' });

/** Zod schema of the written `notify` section. */
export const NotifySchema = z
  .array(Webhook, e('must be a list of webhooks', 'a list of {kind, urlFrom, events}'))
  .describe(
    'Webhooks told about gate waits, pauses, rollbacks and completions; a failing webhook never fails the rollout.',
  );

export type WrittenNotify = z.input<typeof NotifySchema>;

/** A webhook, normalized. */
export interface NotifyWebhookSpec {
  kind: NotifyKind;
  /** Environment variable holding the URL. */
  urlFrom: string;
  events: NotifyEvent[];
}

/** Fills in the default events (all of them). */
export function normalizeNotify(written: WrittenNotify): NotifyWebhookSpec[] {
  return written.map((w) => ({ kind: w.kind, urlFrom: w.urlFrom, events: [...(w.events ?? NOTIFY_EVENTS)] }));
}
