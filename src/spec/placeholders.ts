/**
 * Which `{{...}}` template placeholders a spec string may use, by context.
 * The engine renders them (`src/engine/template.ts`); the spec refuses any
 * other placeholder up front, with the field path, so a typo such as
 * `{{target.adress}}` fails review instead of a wave.
 */

/** Where a templated string is used, which decides the placeholders it may hold. */
export type TemplateContext = 'step' | 'transfer' | 'hook' | 'query' | 'switch';

/** Placeholders of per-target steps (`steps.*`). `<key>` stands for any label key. */
export const STEP_PLACEHOLDERS = [
  'target.id',
  'target.address',
  'target.host',
  'target.labels.<key>',
  'version',
  'rollout.name',
  'component',
  // With a `config` section (docs/config-rollouts.md); the spec's rules refuse them without one.
  'config.revision',
  'config.path',
  'config.content',
] as const;

/**
 * Placeholders of `steps.transferLeadership`: a step's, and the member leadership moves to
 * (`transferee.*`, a member already on the new version).
 */
export const TRANSFER_PLACEHOLDERS = [
  ...STEP_PLACEHOLDERS,
  'transferee.id',
  'transferee.address',
  'transferee.host',
  'transferee.labels.<key>',
] as const;

/** Placeholders of hooks: they run once per rollout, so no `target.*`. */
export const HOOK_PLACEHOLDERS = ['version', 'rollout.name', 'component'] as const;

/**
 * Placeholders of `steps.switch` (blue-green traffic switch): once per tier, so no `target.*`;
 * the pool traffic moves to (`pool.*`, comma-separated) and the one it leaves (`previous.*`).
 */
export const SWITCH_PLACEHOLDERS = [
  ...HOOK_PLACEHOLDERS,
  'tier',
  'pool.ids',
  'pool.addresses',
  'previous.ids',
  'previous.addresses',
] as const;

/** Placeholders of metric queries (`analysis.metrics[].query`), filled by the analysis. */
export const QUERY_PLACEHOLDERS = [
  'targets',
  'targets.ids',
  'targets.addresses',
  'targets.regex',
  'targets.idsRegex',
  'baseline',
  'baseline.ids',
  'baseline.addresses',
  'baseline.regex',
  'baseline.idsRegex',
  'window',
] as const;

const LABEL_KEY = String.raw`[A-Za-z0-9_.-]+`;

const KNOWN_SOURCE: Record<TemplateContext, string> = {
  step: String.raw`target\.(?:id|address|host)|target\.labels\.${LABEL_KEY}|version|rollout\.name|component|config\.(?:revision|path|content)`,
  transfer: String.raw`(?:target|transferee)\.(?:id|address|host)|(?:target|transferee)\.labels\.${LABEL_KEY}|version|rollout\.name|component|config\.(?:revision|path|content)`,
  hook: String.raw`version|rollout\.name|component`,
  switch: String.raw`version|rollout\.name|component|tier|(?:pool|previous)\.(?:ids|addresses)`,
  query: [...QUERY_PLACEHOLDERS]
    .sort((a, b) => b.length - a.length)
    .map((n) => n.replace(/\./g, '\\.'))
    .join('|'),
};

const KNOWN_RE: Record<TemplateContext, RegExp> = {
  step: new RegExp(`^(?:${KNOWN_SOURCE.step})$`),
  transfer: new RegExp(`^(?:${KNOWN_SOURCE.transfer})$`),
  hook: new RegExp(`^(?:${KNOWN_SOURCE.hook})$`),
  switch: new RegExp(`^(?:${KNOWN_SOURCE.switch})$`),
  query: new RegExp(`^(?:${KNOWN_SOURCE.query})$`),
};

const LISTS: Record<TemplateContext, readonly string[]> = {
  step: STEP_PLACEHOLDERS,
  transfer: TRANSFER_PLACEHOLDERS,
  hook: HOOK_PLACEHOLDERS,
  switch: SWITCH_PLACEHOLDERS,
  query: QUERY_PLACEHOLDERS,
};

/**
 * Regular expression source (no flags) matching strings whose every `{{...}}`
 * placeholder is known in `context`. Used as the zod check and as the JSON
 * Schema `pattern`, so editors flag the same strings.
 */
export function templatePattern(context: TemplateContext): string {
  return String.raw`^(?![\s\S]*\{\{(?!\s*(?:${KNOWN_SOURCE[context]})\s*\}\})[^{}]*\}\})[\s\S]*$`;
}

/** One `{{...}}` occurrence in a string. */
export interface Placeholder {
  /** The name between the braces, trimmed (`target.id`). */
  name: string;
  /** Offset of the opening `{{` in the string. */
  index: number;
}

/** Every `{{...}}` placeholder in `text`, in order. */
export function findPlaceholders(text: string): Placeholder[] {
  const found: Placeholder[] = [];
  for (const match of text.matchAll(/\{\{([^{}]*)\}\}/g)) {
    found.push({ name: (match[1] ?? '').trim(), index: match.index });
  }
  return found;
}

/** True when `name` (e.g. `target.labels.zone`) is a placeholder allowed in `context`. */
export function isKnownPlaceholder(name: string, context: TemplateContext): boolean {
  return KNOWN_RE[context].test(name);
}

/** The placeholders allowed in `context`, rendered for a message: `{{target.id}}, …, {{component}}`. */
export function describePlaceholders(context: TemplateContext): string {
  return LISTS[context].map((p) => `{{${p}}}`).join(', ');
}

/** Placeholders in `text` not allowed in `context`. */
export function findUnknownPlaceholders(text: string, context: TemplateContext): Placeholder[] {
  return findPlaceholders(text).filter((p) => !isKnownPlaceholder(p.name, context));
}

/** Label keys a string reads through `{{target.labels.<key>}}`. */
export function labelPlaceholders(text: string): string[] {
  return findPlaceholders(text)
    .filter((p) => isKnownPlaceholder(p.name, 'step') && p.name.startsWith('target.labels.'))
    .map((p) => p.name.slice('target.labels.'.length));
}
