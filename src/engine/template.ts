/**
 * `{{...}}` templating for step arguments, env, URLs, headers and bodies.
 * Values are inserted as inert data: steps run argv arrays (no shell), and in
 * URLs every value except `target.address` is percent-encoded.
 */
import type { ConfigVars, Target } from '../spec/types.js';

export interface TemplateVars {
  target: Target;
  /** Version the step moves the target to (the rollback's version during a rollback). */
  version: string;
  rollout: { name: string };
  component: string;
  /**
   * The member leadership moves to, for `steps.transferLeadership` only
   * (`{{transferee.id}}`, `{{transferee.address}}`, `{{transferee.host}}`, `{{transferee.labels.<key>}}`).
   */
  transferee?: Target;
  /**
   * A blue-green tier's `switch` step only: its tier (`{{tier}}`), the pool traffic moves to
   * (`{{pool.ids}}`, `{{pool.addresses}}`) and the one it leaves (`{{previous.*}}`), comma-separated.
   */
  pool?: { tier: string; ids: string; addresses: string; previousIds: string; previousAddresses: string };
  /**
   * The configuration the step applies, with a `config` section (docs/config-rollouts.md):
   * `{{config.revision}}`, `{{config.path}}` (a file holding it), `{{config.content}}`.
   */
  config?: ConfigVars;
}

/** Placeholders whose value is a host or `host:port`: kept as they are in URLs (checked there instead). */
export const AUTHORITY_PLACEHOLDERS: ReadonlySet<string> = new Set([
  'target.address',
  'target.host',
  'transferee.address',
  'transferee.host',
]);

const PLACEHOLDER = /\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g;

/**
 * Resolves one placeholder name (`target.id`, `target.labels.zone`, `version`, …).
 * @returns the value, or `undefined` when the name is not a known placeholder or the label is missing.
 */
export function resolvePlaceholder(name: string, vars: TemplateVars): string | undefined {
  switch (name) {
    case 'version':
      return vars.version;
    case 'component':
      return vars.component;
    case 'rollout.name':
      return vars.rollout.name;
    case 'target.id':
      return vars.target.id;
    case 'target.address':
      return vars.target.address;
    case 'target.host':
      return hostOf(vars.target.address);
    case 'config.revision':
      return vars.config?.revision;
    case 'config.path':
      return vars.config?.path;
    case 'config.content':
      return vars.config?.content;
  }
  if (vars.pool !== undefined) {
    if (name === 'tier') return vars.pool.tier;
    if (name === 'pool.ids') return vars.pool.ids;
    if (name === 'pool.addresses') return vars.pool.addresses;
    if (name === 'previous.ids') return vars.pool.previousIds;
    if (name === 'previous.addresses') return vars.pool.previousAddresses;
  }
  if (name.startsWith('target.labels.')) {
    const key = name.slice('target.labels.'.length);
    return Object.hasOwn(vars.target.labels, key) ? vars.target.labels[key] : undefined;
  }
  const transferee = vars.transferee;
  if (transferee !== undefined && name.startsWith('transferee.')) {
    if (name === 'transferee.id') return transferee.id;
    if (name === 'transferee.address') return transferee.address;
    if (name === 'transferee.host') return hostOf(transferee.address);
    if (name.startsWith('transferee.labels.')) {
      const key = name.slice('transferee.labels.'.length);
      return Object.hasOwn(transferee.labels, key) ? transferee.labels[key] : undefined;
    }
  }
  return undefined;
}

/** Host part of `host:port`, `[v6]:port` or a bare host. */
export function hostOf(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon > 0 && address.indexOf(':') === colon ? address.slice(0, colon) : address;
}

/**
 * Renders a template string.
 * @param encode - how to encode each inserted value (`url` percent-encodes all but the addresses and hosts
 *   of {@link AUTHORITY_PLACEHOLDERS}).
 * @throws Error naming the placeholder when it is unknown or the label is missing.
 */
export function renderTemplate(template: string, vars: TemplateVars, encode: 'none' | 'url' = 'none'): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const value = resolvePlaceholder(name, vars);
    if (value === undefined)
      throw new Error(`template placeholder {{${name}}} has no value for target ${vars.target.id}`);
    if (encode === 'url' && !AUTHORITY_PLACEHOLDERS.has(name)) return encodeURIComponent(value);
    return value;
  });
}
