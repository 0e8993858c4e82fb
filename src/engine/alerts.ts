/**
 * Alerts as a gate and silences for planned work (spec `alerts`, Prometheus
 * Alertmanager): the engine's side. Before a wave starts and at the end of its
 * observation window the gate asks Alertmanager for active, unsilenced,
 * uninhibited alerts matching the selector (rendered for the targets it
 * covers); a match fails or pauses the wave, no answer pauses (never a pass).
 * While a target is drained and upgraded, a silence covers its alerts; it is
 * expired when the target is back, and a run that stopped leaves its id in the
 * state for the next run to expire (see docs/providers/alertmanager.md).
 *
 * What is decided is pure (`assessAlerts`, {@link decideOnAlerts}); this file
 * does the requests and records the evidence in the state.
 */
import { alertKey, assessAlerts } from '../analysis/alerts/assess.js';
import type { AlertmanagerClient } from '../analysis/alerts/client.js';
import type { AlertsCheck } from '../analysis/alerts/types.js';
import { ConfigurationError } from '../errors.js';
import type { PlannedWave } from '../plan/types.js';
import {
  dependsOnTarget,
  formatMatcher,
  isTargetPlaceholder,
  parseMatchers,
  renderMatchers,
  toSilenceMatcher,
  uniqueMatchers,
  type Matcher,
} from '../spec/matchers.js';
import { findPlaceholders } from '../spec/placeholders.js';
import type { AlertsSpec, Target } from '../spec/types.js';
import type { WaveState } from '../state/types.js';
import type { EngineCore } from './core.js';
import { Messages, Reasons } from './reasons.js';
import { renderTemplate } from './template.js';
import type { Transition } from './transitions.js';

/** What the engine is given to reach Alertmanager (made from the spec by the composition root). */
export interface AlertsDeps {
  client: AlertmanagerClient;
}

/** What the alert gate may call for: a pause or a rollback. */
export type AlertTransition = Extract<Transition, { kind: 'pause' | 'rollback' }>;

/** Who Fleetgate's silences are created by (Alertmanager's `createdBy`). */
export const SILENCE_CREATED_BY = 'fleetgate';

/** Most accepted alerts a wave remembers. */
const MAX_ACCEPTED = 100;

/** Longest an expiry after the run was stopped may take (ms): the process is on its way out. */
const EXPIRE_ON_STOP_TIMEOUT_MS = 5_000;

/** The mark in a silence's comment that says which rollout made it (found again after a crash). */
export function silenceMarker(rollout: string): string {
  return `[fleetgate rollout=${rollout}]`;
}

/**
 * What a check of the alert gate means for the rollout (pure).
 * `pass` → nothing; no answer → pause `AlertmanagerUnreachable` (not asked, because the selector
 * cannot be rendered for a target: `AlertGateNotAsked`); a firing alert → with
 * `action: fail` and targets already touched, roll back (`AlertFiring`, like a failed critical
 * metric), else pause `AlertFiring`.
 *
 * @param touched - whether this rollout changed any target yet (nothing to roll back otherwise)
 */
export function decideOnAlerts(check: AlertsCheck, touched: boolean): AlertTransition | undefined {
  if (check.verdict === 'pass') return undefined;
  if (check.verdict === 'inconclusive' && check.notAsked)
    return {
      kind: 'pause',
      reason: Reasons.AlertGateNotAsked,
      message: `${check.message}. Give the targets the label, or change alerts.select, then \`fleetgate resume --decision continue\``,
    };
  if (check.verdict === 'inconclusive')
    return {
      kind: 'pause',
      reason: Reasons.AlertmanagerUnreachable,
      message: Messages.alertmanagerUnreachable(check.message),
    };
  if (check.action === 'fail' && touched)
    return { kind: 'rollback', reason: Reasons.AlertFiring, message: check.message };
  return {
    kind: 'pause',
    reason: Reasons.AlertFiring,
    message: Messages.alertFiring(check.message, touched, check.action),
  };
}

/**
 * The alerts operators accepted: those a failed check recorded (in any wave of this rollout)
 * when a `continue` at that wave came after it. Keys from `alertKey`.
 */
export function acceptedAlerts(
  waves: readonly WaveState[],
  decisions: readonly { decision: string; wave?: string; at: string }[],
): Set<string> {
  const out = new Set<string>();
  for (const ws of waves) {
    for (const key of ws.alerts?.accepted ?? []) out.add(key);
    for (const rec of [ws.alerts?.before, ws.alerts?.after]) {
      if (rec?.verdict !== 'fail') continue;
      if (!decisions.some((d) => d.decision === 'continue' && d.wave === ws.id && d.at >= rec.at)) continue;
      for (const a of rec.alerts) out.add(alertKey(a));
    }
  }
  return out;
}

function parsedOrThrow(text: string, field: string): Matcher[] {
  const parsed = parseMatchers(text);
  if (!parsed.ok) throw new ConfigurationError(`${field}: ${parsed.problem.message} (a spec that was not validated)`);
  return parsed.matchers;
}

function isTargetDependent(m: Matcher): boolean {
  return findPlaceholders(m.value).some((p) => isTargetPlaceholder(p.name));
}

export class AlertGuard {
  /** Waves whose check before they start passed in this run (a re-plan visits a wave again). */
  private readonly passedBefore = new Set<string>();

  constructor(private readonly c: EngineCore) {}

  private get spec(): AlertsSpec | undefined {
    return this.c.d.alerts ? this.c.spec.alerts : undefined;
  }

  private get client(): AlertmanagerClient {
    return this.c.d.alerts!.client;
  }

  /** True when the spec has an `alerts` section and the engine was given a client. */
  get enabled(): boolean {
    return this.spec !== undefined;
  }

  private render(matchers: readonly Matcher[], target: Target): Matcher[] {
    const vars = this.c.vars(target, this.c.state.toVersion ?? this.c.spec.version);
    return renderMatchers(matchers, (placeholder) => renderTemplate(placeholder, vars));
  }

  /** Targets a per-target selector covers for `wave`: every target this rollout touched so far, and the wave's. */
  private covered(wave: PlannedWave): string[] {
    const s = this.c.state;
    const touched = Object.entries(s.targets)
      .filter(([, t]) => t.phase !== 'Pending')
      .map(([id]) => id);
    return [...new Set([...touched, ...wave.targets])].filter((id) => this.c.hasTarget(id));
  }

  /** True when this rollout changed (or started changing) any target. */
  touchedAny(): boolean {
    return Object.values(this.c.state.targets).some((t) => t.phase !== 'Pending' && t.skipped !== true);
  }

  /**
   * Asks Alertmanager once for `waveId`'s check over `ids` (the targets a per-target selector
   * is rendered for) and decides it. Records nothing.
   * @returns the check, or undefined when the gate is off or the run stopped while asking
   */
  private async ask(
    waveId: string,
    ids: readonly string[],
    when: 'before' | 'after',
    accepted: ReadonlySet<string>,
  ): Promise<AlertsCheck | undefined> {
    const spec = this.spec;
    if (!spec) return undefined;
    const c = this.c;
    const matchers = parsedOrThrow(spec.select, 'alerts.select');
    const pseudo: Target = { id: `alerts:${waveId}`, address: '', labels: {} };
    let rendered: { target?: string; matchers: Matcher[] }[];
    let problem: string | undefined;
    // Matchers that do not depend on the target go to Alertmanager as filters; the rest match here.
    const filter = this.render(
      matchers.filter((m) => !isTargetDependent(m)),
      pseudo,
    ).map(formatMatcher);
    if (dependsOnTarget(matchers)) {
      rendered = [];
      for (const id of ids) {
        try {
          rendered.push({ target: id, matchers: this.render(matchers, c.target(id)) });
        } catch (err) {
          problem ??= `alerts.select cannot be rendered for ${id}: ${(err as Error).message}`;
        }
      }
    } else {
      rendered = [{ matchers: this.render(matchers, pseudo) }];
    }
    const answer = problem
      ? { ok: false as const, message: problem, notAsked: true }
      : await this.client
          .listAlerts(filter, c.d.signal)
          .then((r) => (r.ok ? { ok: true as const, alerts: r.value } : { ok: false as const, message: r.message }));
    if (c.aborted) return undefined;
    return assessAlerts({
      when,
      wave: waveId,
      action: spec.action,
      selector: spec.select,
      filter,
      rendered,
      answer,
      accepted,
      where: this.client.where,
      at: c.now(),
    });
  }

  /**
   * Runs one check of the gate for `wave` and records it in the wave's state (`alerts.before`
   * or `alerts.after`) with the alerts that fired.
   * Alerts an operator accepted with a `continue` after an earlier check are not counted again.
   * @returns the transition it calls for (undefined: go on, or the gate is off)
   */
  async gate(wave: PlannedWave, when: 'before' | 'after'): Promise<AlertTransition | undefined> {
    if (!this.spec) return undefined;
    const c = this.c;
    const ws = c.state.waves.find((w) => w.id === wave.id);
    if (!ws) return undefined;
    if (when === 'before' && this.passedBefore.has(wave.id)) return undefined;
    const accepted = acceptedAlerts(c.state.waves, c.state.decisions);
    const check = await this.ask(wave.id, this.covered(wave), when, accepted);
    // Stopped while asking (Ctrl-C): nothing is decided; the caller records the interruption.
    if (!check) return { kind: 'pause', reason: Reasons.Interrupted, message: 'interrupted during the alert gate' };
    // A check that replaces an accepted one keeps what was accepted (a later check must not count it).
    const previous = ws.alerts?.[when];
    const keep = new Set(ws.alerts?.accepted ?? []);
    if (previous?.verdict === 'fail' && previous.alerts.some((a) => accepted.has(alertKey(a))))
      for (const a of previous.alerts) keep.add(alertKey(a));
    ws.alerts = { ...ws.alerts, [when]: check };
    if (keep.size > 0) ws.alerts.accepted = [...keep].slice(-MAX_ACCEPTED);
    c.emit('alerts_checked', {
      wave: wave.id,
      when,
      verdict: check.verdict,
      firing: check.firing,
      message: check.message,
    });
    await c.persist();
    if (when === 'before' && check.verdict === 'pass') this.passedBefore.add(wave.id);
    return decideOnAlerts(check, this.touchedAny());
  }

  /**
   * Read-only, for `preflight` and the pull request's plan: what the gate would find before the
   * first wave now, over every planned target. Records nothing, creates nothing.
   * @returns the check, or undefined when the gate is off or nothing is planned
   */
  async preview(): Promise<AlertsCheck | undefined> {
    const first = this.c.plan.waves[0];
    if (!this.spec || !first) return undefined;
    const ids = this.c.plan.waves.flatMap((w) => w.targets).filter((id) => this.c.hasTarget(id));
    return this.ask(first.id, ids, 'before', new Set());
  }

  /**
   * Creates a silence of `id`'s alerts for its planned work (spec `alerts.silence`): the
   * selector's matchers and the silence's own, rendered for the target, from now for at most
   * `silence.duration`. Recorded in the state (written before the move goes on), so a run that
   * stops leaves it for the next to expire. A silence that cannot be created is reported
   * (`alerts_warning`) and the move goes on: the target's alerts then page as usual.
   */
  async silence(waveId: string, id: string, version: string, during?: 'rollback'): Promise<void> {
    const spec = this.spec;
    if (!spec?.silence) return;
    const c = this.c;
    let matchers: Matcher[];
    try {
      const target = c.target(id);
      matchers = uniqueMatchers([
        ...this.render(parsedOrThrow(spec.select, 'alerts.select'), target),
        ...this.render(parsedOrThrow(spec.silence.matchers, 'alerts.silence.matchers'), target),
      ]);
    } catch (err) {
      c.emit('alerts_warning', { wave: waveId, target: id, message: `no silence: ${(err as Error).message}` });
      return;
    }
    const startsAt = c.now();
    const endsAt = new Date(c.nowMs() + spec.silence.durationMs).toISOString();
    const what = during === 'rollback' ? `rolling ${id} back to ${version}` : `upgrading ${id} to ${version}`;
    const comment = [
      `fleetgate: planned work, rollout ${c.spec.name}, wave ${waveId}, target ${id} (${what})`,
      spec.silence.comment,
      silenceMarker(c.spec.name),
    ]
      .filter((p) => p !== undefined && p !== '')
      .join(' — ');
    const r = await this.client.createSilence(
      { matchers: matchers.map(toSilenceMatcher), startsAt, endsAt, createdBy: SILENCE_CREATED_BY, comment },
      c.d.signal,
    );
    if (!r.ok) {
      c.emit('alerts_warning', {
        wave: waveId,
        target: id,
        message: `the silence of ${id}'s alerts was not created (its alerts are not silenced): ${r.message}`,
      });
      return;
    }
    (c.state.silences ??= []).push({ id: r.value, target: id, wave: waveId, createdAt: startsAt, endsAt });
    c.emit('silence_created', { wave: waveId, target: id, silence: r.value, until: endsAt });
    await c.persist();
  }

  /**
   * Expires the silences recorded for `id` (its move ended: back in service, or failed and left
   * for a decision, when its alerts are news again). One that cannot be expired stays recorded.
   */
  async release(id: string): Promise<void> {
    const c = this.c;
    const mine = (c.state.silences ?? []).filter((r) => r.target === id);
    if (mine.length === 0 || !this.enabled) return;
    for (const rec of mine) await this.expire(rec.id, rec.target, rec.wave);
    c.persistSoon();
  }

  /**
   * Expires what a stopped run left: every silence recorded in the state, and any active one
   * Alertmanager holds whose comment carries this rollout's mark (created just before a crash,
   * before its id was written). Called when a run starts; failures are reported and kept.
   */
  async expireLeftovers(): Promise<void> {
    const c = this.c;
    if (!this.enabled || (!this.spec?.silence && (c.state.silences ?? []).length === 0)) return;
    const before = (c.state.silences ?? []).length;
    for (const rec of [...(c.state.silences ?? [])])
      await this.expire(rec.id, rec.target, rec.wave, 'left by a run that stopped');
    const listed = await this.client.listSilences(c.d.signal);
    if (listed.ok) {
      const marker = silenceMarker(c.spec.name);
      for (const s of listed.value) {
        if (s.state === 'expired' || s.createdBy !== SILENCE_CREATED_BY || !s.comment.includes(marker)) continue;
        await this.expire(s.id, undefined, undefined, 'found in Alertmanager, left by a run that stopped');
      }
    } else {
      c.emit('alerts_warning', {
        message: `could not list Alertmanager's silences to expire leftovers: ${listed.message}`,
      });
    }
    if (before > 0) await c.persist();
  }

  private async expire(silenceId: string, target?: string, wave?: string, note?: string): Promise<void> {
    const c = this.c;
    // After a stop (Ctrl-C) the run's signal is aborted: expire anyway, briefly.
    const signal = c.aborted ? AbortSignal.timeout(EXPIRE_ON_STOP_TIMEOUT_MS) : c.d.signal;
    const r = await this.client.expireSilence(silenceId, signal);
    if (!r.ok) {
      c.emit('alerts_warning', {
        wave,
        target,
        silence: silenceId,
        message: `silence ${silenceId} was not expired (kept in the state; the next run tries again): ${r.message}`,
      });
      return;
    }
    const list = c.state.silences ?? [];
    const left = list.filter((s) => s.id !== silenceId);
    if (left.length > 0) c.state.silences = left;
    else delete c.state.silences;
    c.emit('silence_expired', {
      wave,
      target,
      silence: silenceId,
      message: note ? `${r.value} (${note})` : r.value,
    });
  }
}
