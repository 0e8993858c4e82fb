/**
 * Label selectors with Kubernetes semantics: equality pairs and the set-based In, NotIn,
 * Exists, DoesNotExist; the written form's mistakes are located.
 */
import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/spec/issue.js';
import { parseSpec } from '../../src/spec/parse.js';
import { matchesExpression, matchesSelector, normalizeSelector } from '../../src/spec/selector.js';

const labels = { role: 'edge', zone: 'eu-1', gpu: '' };

describe('matchesExpression (Kubernetes LabelSelectorRequirement)', () => {
  it.each([
    ['In, value listed', { key: 'zone', operator: 'In', values: ['eu-1', 'eu-2'] }, true],
    ['In, value not listed', { key: 'zone', operator: 'In', values: ['us-1'] }, false],
    ['In, label missing', { key: 'rack', operator: 'In', values: ['r1'] }, false],
    ['NotIn, value not listed', { key: 'zone', operator: 'NotIn', values: ['us-1'] }, true],
    ['NotIn, value listed', { key: 'zone', operator: 'NotIn', values: ['eu-1'] }, false],
    ['NotIn, label missing (matches, as in Kubernetes)', { key: 'rack', operator: 'NotIn', values: ['r1'] }, true],
    ['Exists, set (even empty)', { key: 'gpu', operator: 'Exists', values: [] }, true],
    ['Exists, missing', { key: 'rack', operator: 'Exists', values: [] }, false],
    ['DoesNotExist, missing', { key: 'rack', operator: 'DoesNotExist', values: [] }, true],
    ['DoesNotExist, set', { key: 'gpu', operator: 'DoesNotExist', values: [] }, false],
  ] as const)('%s', (_name, expr, want) => {
    expect(matchesExpression(labels, { ...expr, values: [...expr.values] })).toBe(want);
  });

  it('ANDs the equality pairs and every requirement; inherited keys are not labels', () => {
    const exprs = normalizeSelector({ role: 'edge', zone: { in: ['eu-1'] }, legacy: { exists: false } });
    expect(matchesSelector({ labels }, exprs.matchLabels, exprs.matchExpressions)).toBe(true);
    expect(matchesSelector({ labels: { ...labels, legacy: 'yes' } }, exprs.matchLabels, exprs.matchExpressions)).toBe(
      false,
    );
    expect(matchesSelector({ labels: {} }, {}, [{ key: 'constructor', operator: 'Exists', values: [] }])).toBe(false);
  });

  it('normalizes the written form to matchLabels and matchExpressions (values as text)', () => {
    expect(
      normalizeSelector({
        role: 'edge',
        port: 8080,
        zone: { in: ['a', 2] },
        t: { notIn: [true] },
        g: { exists: true },
        l: { exists: false },
      }),
    ).toEqual({
      matchLabels: { role: 'edge', port: '8080' },
      matchExpressions: [
        { key: 'zone', operator: 'In', values: ['a', '2'] },
        { key: 't', operator: 'NotIn', values: ['true'] },
        { key: 'g', operator: 'Exists', values: [] },
        { key: 'l', operator: 'DoesNotExist', values: [] },
      ],
    });
  });
});

const spec = (select: string) => `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: sel
component: c
version: 1.0.0
inventory:
  targets:
    - {id: a-1, address: "127.0.0.1:1", labels: {zone: eu-1}}
    - {id: a-2, address: "127.0.0.1:2", labels: {zone: eu-2, gpu: "yes"}}
tiers:
  - name: one
    select:
${select}
  - name: rest
    select: {gpu: {exists: false}}
steps:
  version: {run: [echo, "1.0.0"]}
  upgrade: {run: ["true"]}
  verify: {run: ["true"]}
`;

function issues(select: string): string[] {
  const r = parseSpec(spec(select), 's.yaml');
  return [...(r.ok ? [] : r.errors), ...r.warnings].map(formatIssue);
}

describe('written selectors', () => {
  it('accepts in, notIn and exists, and tiers select by them', () => {
    const r = parseSpec(spec('      zone: {in: [eu-2]}\n      gpu: {exists: true}'), 's.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec.tiers[0]!.matchExpressions).toEqual([
      { key: 'zone', operator: 'In', values: ['eu-2'] },
      { key: 'gpu', operator: 'Exists', values: [] },
    ]);
    // a-1 (zone eu-1, no gpu label) is the "rest" tier's: NotIn [eu-1] leaves it there, NotIn [eu-3] takes it too.
    expect(issues('      zone: {notIn: [eu-1]}')).toEqual([]);
    expect(issues('      zone: {notIn: [eu-3]}')).toEqual([
      's.yaml:15:13 tiers[1].select: selects 1 target that tier "one" also selects (a-1) (expected each target in exactly one tier)',
    ]);
  });

  it('reports an unknown operator at its key, with a guess', () => {
    expect(issues('      zone: {In: [eu-1]}')).toEqual([
      's.yaml:13:14 tiers[0].select.zone.In: unknown selector operator; did you mean "in"? (expected one of in, notIn, exists)',
    ]);
    expect(issues('      zone: {within: [eu-1]}')[0]).toMatch(
      /^s\.yaml:13:14 tiers\[0\]\.select\.zone\.within: unknown selector operator \(expected one of in, notIn, exists\)$/,
    );
  });

  it('refuses exists with values, in every way it is written', () => {
    expect(issues('      gpu: {exists: [a100]}')).toEqual([
      's.yaml:13:12 tiers[0].select.gpu: exists takes true or false, not values (expected exists: true (the label is set, with any value) or exists: false (it is not set); to match values, in: [a, b], got {"exists":["a100"]})',
    ]);
    expect(issues('      gpu: {exists: true, values: [a100]}')[0]).toMatch(
      /tiers\[0\]\.select\.gpu\.values: an operator takes its values itself \(in: \[a, b\], notIn: \[a, b\]\); exists takes none/,
    );
    expect(issues('      gpu: {exists: true, in: [a100]}')[0]).toMatch(
      /tiers\[0\]\.select\.gpu: takes one operator, not in and exists \(exists takes no values\)/,
    );
  });

  it('refuses an empty value list and an empty requirement', () => {
    expect(issues('      zone: {in: []}')[0]).toMatch(/tiers\[0\]\.select\.zone\.in: must list at least one value/);
    expect(issues('      zone: {}')[0]).toMatch(/tiers\[0\]\.select\.zone: needs an operator/);
  });
});
