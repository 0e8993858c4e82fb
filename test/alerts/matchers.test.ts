/** Alertmanager's matcher syntax: parsing (with the offset of a problem), rendering per target, matching, the API forms. */
import { describe, expect, it } from 'vitest';
import {
  dependsOnTarget,
  formatMatcher,
  matchesAll,
  parseMatchers,
  renderMatchers,
  toSilenceMatcher,
  uniqueMatchers,
  type Matcher,
} from '../../src/spec/matchers.js';

function ok(text: string): Matcher[] {
  const r = parseMatchers(text);
  if (!r.ok) throw new Error(`${text}: ${r.problem.message}`);
  return r.matchers;
}

function problem(text: string): { message: string; offset: number } {
  const r = parseMatchers(text);
  if (r.ok) throw new Error(`${text} parsed`);
  return r.problem;
}

describe('parseMatchers', () => {
  it('reads the four operators, quoted and bare values, with or without braces', () => {
    expect(ok('severity="critical", service!="edge", alertname=~"Edge.*", env!~"dev|test"')).toEqual([
      { name: 'severity', op: '=', value: 'critical' },
      { name: 'service', op: '!=', value: 'edge' },
      { name: 'alertname', op: '=~', value: 'Edge.*' },
      { name: 'env', op: '!~', value: 'dev|test' },
    ]);
    expect(ok('{severity=critical}')).toEqual([{ name: 'severity', op: '=', value: 'critical' }]);
    expect(ok('  { a = "x" , b="y", }  ')).toEqual([
      { name: 'a', op: '=', value: 'x' },
      { name: 'b', op: '=', value: 'y' },
    ]);
  });

  it('keeps commas and escapes inside quotes, and placeholders whole', () => {
    expect(ok(String.raw`msg="a, b \"c\" \\ d"`)).toEqual([{ name: 'msg', op: '=', value: 'a, b "c" \\ d' }]);
    expect(ok('instance="{{target.address}}", zone={{target.labels.zone}}')).toEqual([
      { name: 'instance', op: '=', value: '{{target.address}}' },
      { name: 'zone', op: '=', value: '{{target.labels.zone}}' },
    ]);
    expect(ok('{instance="{{target.address}}"}')).toEqual([{ name: 'instance', op: '=', value: '{{target.address}}' }]);
  });

  it('points at the matcher that is wrong', () => {
    const noOperator = problem('severity="critical", service');
    expect(noOperator.offset).toBe(21);
    expect(noOperator.message).toMatch(/needs an operator/);
    const badName = problem('severity="critical", 9lives="x"');
    expect(badName.offset).toBe(21);
    expect(badName.message).toMatch(/not a label name/);
    expect(problem('a="x').message).toMatch(/closing double quote/);
    expect(problem('a=x y').message).toMatch(/quote it/);
    expect(problem('a=~"(unclosed"').message).toMatch(/does not compile/);
    expect(problem('a="x",,b="y"').message).toMatch(/empty matcher/);
    expect(problem('{a="x"').message).toMatch(/not closed/);
    expect(problem('').message).toMatch(/empty matcher|no matcher/);
  });
});

describe('matching', () => {
  const labels = { alertname: 'EdgeDown', severity: 'critical', instance: '10.0.0.1:80' };

  it('follows Alertmanager: anchored regular expressions, a missing label is the empty string', () => {
    expect(matchesAll(ok('severity="critical"'), labels)).toBe(true);
    expect(matchesAll(ok('alertname=~"Edge"'), labels)).toBe(false);
    expect(matchesAll(ok('alertname=~"Edge.*"'), labels)).toBe(true);
    expect(matchesAll(ok('alertname!~"Edge.*"'), labels)).toBe(false);
    expect(matchesAll(ok('team=""'), labels)).toBe(true);
    expect(matchesAll(ok('team!="core"'), labels)).toBe(true);
    expect(matchesAll(ok('severity="critical", team="core"'), labels)).toBe(false);
  });

  it('renders placeholders per target, escaping them inside regular expressions', () => {
    const m = ok('instance="{{target.address}}", host=~"{{target.host}}(:.*)?"');
    expect(dependsOnTarget(m)).toBe(true);
    expect(dependsOnTarget(ok('rollout="{{rollout.name}}"'))).toBe(false);
    const rendered = renderMatchers(m, (p) => (p.includes('address') ? '10.0.0.1:80' : '10.0.0.1'));
    expect(rendered.map(formatMatcher)).toEqual(['instance="10.0.0.1:80"', String.raw`host=~"10\\.0\\.0\\.1(:.*)?"`]);
    expect(matchesAll(rendered, { instance: '10.0.0.1:80', host: '10.0.0.1:9100' })).toBe(true);
    // The dots are literal: another address does not match by accident.
    expect(matchesAll(rendered, { instance: '10.0.0.1:80', host: '10a0b0c1' })).toBe(false);
  });

  it('formats for the API: filter strings that parse back, silence matchers with isEqual', () => {
    const m = ok(String.raw`a="x \"y\"", b!~"c|d"`);
    expect(m.map(formatMatcher)).toEqual([String.raw`a="x \"y\""`, 'b!~"c|d"']);
    expect(ok(m.map(formatMatcher).join(', '))).toEqual(m);
    expect(m.map(toSilenceMatcher)).toEqual([
      { name: 'a', value: 'x "y"', isRegex: false, isEqual: true },
      { name: 'b', value: 'c|d', isRegex: true, isEqual: false },
    ]);
    expect(uniqueMatchers([...m, ...m])).toEqual(m);
  });
});
