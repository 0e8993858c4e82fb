import { describe, expect, it } from 'vitest';
import { escapeRegexForQuery, formatPromDuration, renderQuery } from '../../src/analysis/query.js';
import { parseScrapeQuery } from '../../src/analysis/scrape-query.js';
import { matchesAll } from '../../src/spec/matchers.js';
import { ConfigurationError } from '../../src/errors.js';
import type { Target } from '../../src/spec/types.js';

const canary: Target[] = [
  { id: 'edge-1', address: '127.0.0.1:8001', labels: {} },
  { id: 'edge-2', address: '127.0.0.1:8002', labels: {} },
];
const baseline: Target[] = [{ id: 'edge-3', address: '127.0.0.1:8003', labels: {} }];

describe('renderQuery', () => {
  const ctx = { targets: canary, baseline, windowMs: 300_000 };

  it('fills ids, addresses and regexes of both cohorts and the window', () => {
    expect(renderQuery('{{targets}} {{targets.ids}} {{targets.addresses}}', ctx)).toBe(
      'edge-1|edge-2 edge-1|edge-2 127.0.0.1:8001|127.0.0.1:8002',
    );
    expect(renderQuery('x{instance=~"{{targets.regex}}"}[{{window}}]', ctx)).toBe(
      String.raw`x{instance=~"127\\.0\\.0\\.1:8001|127\\.0\\.0\\.1:8002"}[5m]`,
    );
    expect(renderQuery('{{ baseline }} {{baseline.regex}} {{baseline.addresses}}', ctx)).toBe(
      String.raw`edge-3 127\\.0\\.0\\.1:8003 127.0.0.1:8003`,
    );
    expect(renderQuery('{{targets.idsRegex}}', { ...ctx, targets: [{ id: 'a.b', address: 'x', labels: {} }] })).toBe(
      String.raw`a\\.b`,
    );
  });

  it('renders an absent baseline as empty', () => {
    expect(renderQuery('[{{baseline}}]', { targets: canary, windowMs: 1000 })).toBe('[]');
  });

  it('throws a ConfigurationError listing the known placeholders for an unknown one', () => {
    expect(() => renderQuery('{{target.id}}', ctx)).toThrow(ConfigurationError);
    expect(() => renderQuery('{{targets.nope}}', ctx)).toThrow(
      /\{\{targets.nope\}\} is unknown; known: \{\{targets\}\}/,
    );
  });

  it('the rendered regex parses in a scrape query and matches exactly the cohort (anchored)', () => {
    const q = parseScrapeQuery(renderQuery('rate(x{instance=~"{{targets.regex}}"})', ctx));
    if (q.fn !== 'rate') throw new Error('expected rate');
    expect(matchesAll(q.selector.matchers, { instance: '127.0.0.1:8001' })).toBe(true);
    expect(matchesAll(q.selector.matchers, { instance: '127.0.0.1:8002' })).toBe(true);
    expect(matchesAll(q.selector.matchers, { instance: '127.0.0.1:80010' })).toBe(false);
    expect(matchesAll(q.selector.matchers, { instance: '127x0.0.1:8001' })).toBe(false);
  });
});

describe('escapeRegexForQuery', () => {
  it('escapes metacharacters and doubles backslashes for a quoted string', () => {
    expect(escapeRegexForQuery('a.b*c+(d)|[e]{f}^$?')).toBe(String.raw`a\\.b\\*c\\+\\(d\\)\\|\\[e\\]\\{f\\}\\^\\$\\?`);
    expect(escapeRegexForQuery(String.raw`a\b`)).toBe(String.raw`a\\\\b`);
  });
});

describe('formatPromDuration', () => {
  it.each([
    [300_000, '5m'],
    [90_000, '90s'],
    [1500, '1500ms'],
    [7_200_000, '2h'],
    [5400_000, '90m'],
    [0, '1ms'],
    [999.6, '1s'],
  ])('%s ms → %s', (ms, text) => {
    expect(formatPromDuration(ms)).toBe(text);
  });

  it('matches as PromQL and the alert gate do: a missing label is "", a regex is anchored and its . matches a newline', () => {
    const q = parseScrapeQuery('rate(x{constructor="", msg=~"a.b", code!~"5.."})');
    if (q.fn !== 'rate') throw new Error('expected rate');
    expect(matchesAll(q.selector.matchers, { msg: 'a\nb', code: '200' })).toBe(true);
    expect(matchesAll(q.selector.matchers, { msg: 'a\nb', code: '503' })).toBe(false);
    expect(matchesAll(q.selector.matchers, { msg: 'xa\nb', code: '200' })).toBe(false);
  });
});
