/**
 * The spec's `alerts` section as written (zod, as the rest of the spec): where
 * Alertmanager is, which firing alerts stop a wave, what they do, and the
 * silences for planned work. `src/spec/schema.ts` takes it from here, so the
 * JSON Schema and `fleetgate validate` know every field; the matcher syntax
 * itself is checked by `checkAlertsRules` in `src/spec/alerts.ts` (located at
 * the field, the message naming the character). See `docs/providers/alertmanager.md`.
 */
import { z } from 'zod';
import {
  ALERTMANAGER_DEFAULTS,
  DEFAULT_ALERT_ACTION,
  DEFAULT_SILENCE_DURATION,
  DEFAULT_SILENCE_MATCHERS,
} from '../../spec/alerts.js';
import { explain } from '../../spec/explain.js';
import { describePlaceholders, findUnknownPlaceholders, templatePattern } from '../../spec/placeholders.js';
import { e, envName, headers, positiveDuration, retrySettings, settings } from './settings-support.js';

const PLACEHOLDERS = describePlaceholders('step');

const matcherText = (what: string) =>
  z
    .string(e(`must be ${what}`, 'Alertmanager matchers like \'severity="critical", service="edge"\''))
    .min(1, e(`must be ${what}`, 'at least one matcher'))
    .regex(new RegExp(templatePattern('step')), {
      error: (issue) => {
        const input = typeof issue.input === 'string' ? issue.input : '';
        const names = [...new Set(findUnknownPlaceholders(input, 'step').map((p) => `{{${p.name}}}`))].join(', ');
        return explain(
          names === '' ? 'has a malformed template placeholder' : `unknown template placeholder ${names}`,
          `placeholders among ${PLACEHOLDERS}`,
        );
      },
    });

export const AlertmanagerSettingsSchema = settings('alertmanager', {
  url: z
    .string(e('must be the Alertmanager URL', 'an http(s) URL like "http://127.0.0.1:9093" or "${ALERTMANAGER_URL}"'))
    .min(1, e('must be the Alertmanager URL', 'an http(s) URL like "http://127.0.0.1:9093" or "${ALERTMANAGER_URL}"'))
    .describe(
      'Base URL of Alertmanager (its v2 API is under /api/v2), e.g. "http://127.0.0.1:9093"; ${VAR} is read from the environment.',
    ),
  bearerTokenEnv: envName()
    .optional()
    .describe('Name of the environment variable holding a bearer token (never printed).'),
  headers: headers().optional().describe('Extra request headers (values may use ${VAR}; masked).'),
  ...retrySettings(ALERTMANAGER_DEFAULTS),
}).meta({ id: 'AlertmanagerSettings', description: 'Where Alertmanager is and how to reach it.' });

const Silence = z
  .union(
    [
      z.literal(true, e('must be true or a map of silence settings', 'true, or {duration, comment, matchers}')),
      settings('silence', {
        duration: positiveDuration()
          .optional()
          .describe(
            `Most time a silence lasts (default ${DEFAULT_SILENCE_DURATION}); it is expired as soon as the target is back, so this only bounds a run that stopped. Number = seconds.`,
          )
          .meta({ default: DEFAULT_SILENCE_DURATION }),
        comment: z
          .string(e('must be text', 'a string'))
          .optional()
          .describe('Words added to the comment of each silence (which always names the rollout, wave and target).'),
        matchers: matcherText('matchers naming the target')
          .optional()
          .describe(
            `Matchers that name the target in its silence, added to select's (default '${DEFAULT_SILENCE_MATCHERS}'); templated per target.`,
          )
          .meta({ default: DEFAULT_SILENCE_MATCHERS }),
      }),
    ],
    e('must be true or a map of silence settings', 'true, or {duration, comment, matchers}'),
  )
  .meta({
    id: 'AlertSilence',
    description:
      "A silence of each target's alerts while it is drained and upgraded, expired when it is back (created by fleetgate, named after the rollout, wave and target).",
  });

export const AlertsSchema = settings('alerts', {
  alertmanager: AlertmanagerSettingsSchema,
  select: matcherText('Alertmanager matchers').describe(
    'Firing alerts that stop a wave, in Alertmanager matcher syntax: \'severity="critical", service="edge"\'. Values may use {{target.*}} (e.g. instance="{{target.address}}"): an alert then counts when it matches for any target of the rollout touched so far or of the wave.',
  ),
  action: z
    .enum(['fail', 'pause'], e('must be fail or pause', 'fail (roll back like a failed critical metric) or pause'))
    .optional()
    .describe(
      `What a matching firing alert does, before a wave starts or at the end of its observation window: fail (the wave fails and the touched targets are rolled back, like a critical metric) or pause (reason AlertFiring) (default ${DEFAULT_ALERT_ACTION}). Alertmanager unreachable always pauses.`,
    )
    .meta({ default: DEFAULT_ALERT_ACTION }),
  silence: Silence.optional(),
}).meta({
  id: 'Alerts',
  description:
    'Alerts as a gate (Prometheus Alertmanager): a firing alert matching select fails or pauses the wave; optional silences for planned work (docs/providers/alertmanager.md).',
});

/** The `alerts` section as written. */
export type WrittenAlerts = z.input<typeof AlertsSchema>;
