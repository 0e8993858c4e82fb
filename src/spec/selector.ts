/**
 * Label selectors: how a tier picks its targets. Kubernetes' label selector
 * (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors):
 * equality pairs (`matchLabels`) and set-based requirements (`matchExpressions`
 * with the operators `In`, `NotIn`, `Exists`, `DoesNotExist`), all of which
 * must hold (a logical AND).
 *
 * Written in a tier's `select` map: a scalar is an equality pair; a map with one
 * operator is a set-based requirement on that label:
 *
 * ```yaml
 * select:
 *   role: edge                 # role = edge
 *   zone: {in: [eu-1, eu-2]}   # In
 *   track: {notIn: [beta]}     # NotIn: no track label, or one that is not beta
 *   gpu: {exists: true}        # Exists
 *   legacy: {exists: false}    # DoesNotExist
 * ```
 *
 * Here: the written form (zod), its normalization and the matching. Pure.
 */
import { z } from 'zod';
import { explain, e } from './explain.js';
import type { Target } from './types.js';

/** Kubernetes' set-based selector operators (`LabelSelectorRequirement.operator`). */
type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** One set-based requirement, normalized (Kubernetes `LabelSelectorRequirement`). */
export interface SelectorExpression {
  key: string;
  operator: SelectorOperator;
  /** The values of `In` and `NotIn` (at least one); empty for `Exists` and `DoesNotExist`. */
  values: string[];
}

/** The operators a written requirement may use, as written. */
const WRITTEN_SELECTOR_OPERATORS = ['in', 'notIn', 'exists'] as const;

const OPERATORS_EXPECTED = `one of ${WRITTEN_SELECTOR_OPERATORS.join(', ')}`;
const EXISTS_EXPECTED =
  'exists: true (the label is set, with any value) or exists: false (it is not set); to match values, in: [a, b]';

const SelectorValue = z.union(
  [z.string(), z.number(), z.boolean()],
  e('must be a label value', 'a string (numbers and true/false are read as text)'),
);

const ValueList = z
  .array(SelectorValue, e('must be a list of label values', 'a list like [eu-1, eu-2]'))
  .min(1, e('must list at least one value', 'a list like [eu-1, eu-2]'));

/** `{in: [...]}`, `{notIn: [...]}` or `{exists: true|false}`: exactly one operator. */
const WrittenRequirement = z
  .strictObject(
    {
      in: ValueList.optional().describe('Kubernetes In: the target has the label, with one of these values.'),
      notIn: ValueList.optional().describe(
        'Kubernetes NotIn: the target does not have the label, or has it with none of these values.',
      ),
      exists: z
        .boolean(e('exists takes true or false, not values', EXISTS_EXPECTED))
        .optional()
        .describe('true: Kubernetes Exists (the label is set, any value); false: DoesNotExist.'),
    },
    {
      error: (issue) => {
        if (issue.code !== 'unrecognized_keys') return undefined;
        if (issue.keys.includes('values'))
          return explain(
            'an operator takes its values itself (in: [a, b], notIn: [a, b]); exists takes none',
            OPERATORS_EXPECTED,
          );
        return explain('unknown selector operator', OPERATORS_EXPECTED);
      },
    },
  )
  .superRefine((value, ctx) => {
    const used = WRITTEN_SELECTOR_OPERATORS.filter((op) => value[op] !== undefined);
    if (used.length === 1) return;
    // An unknown operator is reported once, as the unknown key.
    if (used.length === 0 && ctx.issues.some((i) => i.code === 'unrecognized_keys')) return;
    ctx.addIssue({
      code: 'custom',
      message:
        used.length === 0
          ? explain('needs an operator', OPERATORS_EXPECTED)
          : explain(
              `takes one operator, not ${used.join(' and ')}${used.includes('exists') ? ' (exists takes no values)' : ''}`,
              `${OPERATORS_EXPECTED}; write a requirement per label`,
            ),
    });
  })
  .meta({
    description:
      'A set-based requirement on this label (Kubernetes matchExpressions): exactly one of in, notIn, exists.',
    oneOf: WRITTEN_SELECTOR_OPERATORS.map((op) => ({ required: [op] })),
  });

const isPlainObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One entry of a written selector: a label value (equality), or a requirement map. A union
 * error reports the branch the written value's shape belongs to (a map: the requirement's own
 * message), not every branch.
 */
const WrittenSelectorEntry = z.union([SelectorValue, WrittenRequirement], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    if (isPlainObject(issue.input)) {
      const inner = issue.errors[1]?.[0];
      if (inner !== undefined) return inner.message;
    }
    return explain(
      'must be a label value or a requirement',
      'a value (role: edge), or one of {in: [a, b]}, {notIn: [a, b]}, {exists: true|false}',
    );
  },
});

/** The written `select` of a tier: label key → value (equality) or requirement. */
export const WrittenSelectorSchema = z
  .record(z.string().min(1, e('label keys must not be empty', 'a non-empty key')), WrittenSelectorEntry)
  .meta({
    id: 'Selector',
    description:
      'Label selector (Kubernetes semantics, every entry must hold): key: value is equality; key: {in: [a, b]}, {notIn: [a, b]}, {exists: true} or {exists: false} are the set-based In, NotIn, Exists and DoesNotExist. Omitted = every target.',
  });

export type WrittenSelector = z.input<typeof WrittenSelectorSchema>;

/**
 * Splits a written selector into Kubernetes' two halves: equality pairs (`matchLabels`, values
 * as text) and set-based requirements (`matchExpressions`, in the written key order).
 */
export function normalizeSelector(written: WrittenSelector | undefined): {
  matchLabels: Record<string, string>;
  matchExpressions: SelectorExpression[];
} {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: SelectorExpression[] = [];
  for (const [key, value] of Object.entries(written ?? {})) {
    if (typeof value !== 'object' || value === null) {
      matchLabels[key] = String(value);
      continue;
    }
    if (value.in !== undefined) matchExpressions.push({ key, operator: 'In', values: value.in.map(String) });
    else if (value.notIn !== undefined)
      matchExpressions.push({ key, operator: 'NotIn', values: value.notIn.map(String) });
    else matchExpressions.push({ key, operator: value.exists === false ? 'DoesNotExist' : 'Exists', values: [] });
  }
  return { matchLabels, matchExpressions };
}

/**
 * True when one requirement holds for `labels` (Kubernetes semantics): `In` — the label is set
 * and its value is one of `values`; `NotIn` — it is not set, or its value is none of them;
 * `Exists` — it is set; `DoesNotExist` — it is not. Values compare as case-sensitive text.
 */
export function matchesExpression(labels: Readonly<Record<string, string>>, expr: SelectorExpression): boolean {
  const has = Object.hasOwn(labels, expr.key);
  switch (expr.operator) {
    case 'In':
      return has && expr.values.includes(labels[expr.key]!);
    case 'NotIn':
      return !has || !expr.values.includes(labels[expr.key]!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/**
 * True when the target carries every label of `select` with exactly the same value (string
 * equality, case-sensitive) and meets every requirement of `expressions` (see
 * {@link matchesExpression}). An empty selector matches every target. Only the target's own
 * labels count (a label named `constructor` or `__proto__` is an ordinary key).
 *
 * @param target - the target (`labels`: string → string).
 * @param select - equality pairs (`TierSpec.select`): label key → required value.
 * @param expressions - set-based requirements (`TierSpec.matchExpressions`); default none.
 * @example matchesSelector({labels: {role: 'edge', zone: 'a'}}, {role: 'edge'}, [{key: 'zone', operator: 'In', values: ['a', 'b']}]) // true
 */
export function matchesSelector(
  target: Pick<Target, 'labels'>,
  select: Readonly<Record<string, string>>,
  expressions: readonly SelectorExpression[] = [],
): boolean {
  for (const [key, value] of Object.entries(select)) {
    if (!Object.hasOwn(target.labels, key) || target.labels[key] !== value) return false;
  }
  return expressions.every((expr) => matchesExpression(target.labels, expr));
}

/** True when the tier's selector (equality pairs and requirements) picks the target. */
export function tierSelects(
  tier: { select: Readonly<Record<string, string>>; matchExpressions?: readonly SelectorExpression[] },
  target: Pick<Target, 'labels'>,
): boolean {
  return matchesSelector(target, tier.select, tier.matchExpressions);
}
