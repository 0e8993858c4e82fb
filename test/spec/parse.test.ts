import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigurationError } from '../../src/errors.js';
import { formatIssue, type Issue } from '../../src/spec/issue.js';
import { loadSpec, parseSpec, readSpecFile, type ParseResult } from '../../src/spec/parse.js';
import { KNOWN_PROVIDER_TYPES } from '../../src/spec/schema.js';
import { SpecValidationError } from '../../src/spec/validation-error.js';
import { tierSteps } from '../../src/spec/steps.js';

const MINIMAL = `apiVersion: fleetgate/v1alpha1
kind: Rollout
name: minimal
component: agent
version: 1.0.0
inventory:
  file: inventory.yaml
steps:
  version: {run: [agent, --version]}
  upgrade: {run: [agent-update, "{{version}}"]}
  verify: {http: {url: "http://{{target.address}}/healthz"}}
`;

function errorsOf(result: ParseResult): Issue[] {
  return result.ok ? [] : result.errors;
}

function lines(result: ParseResult): string[] {
  return [...errorsOf(result), ...result.warnings].map(formatIssue);
}

describe('parseSpec: normalization', () => {
  const result = parseSpec(MINIMAL, 'r.yaml');
  if (!result.ok) throw new Error(lines(result).join('\n'));
  const { spec } = result;

  it('records the file and fills one tier "all" selecting every target', () => {
    expect(spec.file).toBe('r.yaml');
    expect(spec.tiers).toHaveLength(1);
    expect(spec.tiers[0]?.name).toBe('all');
    expect(spec.tiers[0]?.select).toEqual({});
  });

  it('applies the strategy defaults (seed 000: 15-minute window, auto sizes; seed 001: breaker 2)', () => {
    expect(spec.tiers[0]?.strategy).toEqual({
      type: 'inPlace',
      maxSurge: { kind: 'percent', value: 25 },
      canary: { kind: 'auto' },
      waves: { kind: 'auto' },
      maxUnavailable: { kind: 'count', value: 1 },
      observeMs: 15 * 60_000,
      observeIntervalMs: 30_000,
      circuitBreaker: { maxConsecutiveFailures: 2 },
      failureTolerancePercent: 0,
      quorum: false,
      leaderLabel: 'leader',
      expectedTargetMs: 60_000,
    });
  });

  it('applies the per-step defaults', () => {
    expect(spec.steps.version).toEqual({
      kind: 'run',
      run: ['agent', '--version'],
      env: {},
      timeoutMs: 10_000,
      retries: 2,
      intervalMs: 1_000,
    });
    expect(spec.steps.upgrade).toMatchObject({ timeoutMs: 300_000, retries: 0, intervalMs: 5_000 });
    expect(spec.steps.verify).toEqual({
      kind: 'http',
      method: 'GET',
      url: 'http://{{target.address}}/healthz',
      headers: {},
      expect: [200, 201, 202, 203, 204, 205, 206],
      timeoutMs: 300_000,
      retries: 0,
      intervalMs: 5_000,
    });
    expect(spec.steps.drain).toBeUndefined();
  });

  it('applies version policy, rollback and gate defaults', () => {
    expect(spec.versionPolicy).toEqual({ allowDowngrade: false, stepThrough: [], allowMixedVersions: false });
    expect(spec.rollback).toEqual({ waves: { kind: 'percent', value: 50 } });
    expect(spec.gates).toEqual({});
    expect(spec.hooks).toEqual({});
    expect(spec.analysis).toBeUndefined();
    expect(spec.inventory).toEqual({ kind: 'file', path: 'inventory.yaml' });
  });

  it('normalizes written values: seconds, single status, label values, drain defaults', () => {
    const text = `${MINIMAL.replace('file: inventory.yaml', 'targets: [{id: a, address: h, labels: {ring: 1, canary: true}}]')}
  drain: {http: {method: POST, url: "http://{{target.address}}/drain", expect: 202}, timeout: 45}
tiers: [{name: all, select: {ring: 1}, strategy: {observe: 90, failureTolerance: "2.5%", maxUnavailable: "10%"}}]
analysis:
  provider: {prometheus: {address: "\${PROM_URL}"}}
  noData: fail
  metrics: [{name: m, query: "up{instance=~'{{targets.regex}}'}", threshold: ">= 1"}]
`;
    const parsed = parseSpec(text, 'r.yaml');
    if (!parsed.ok) throw new Error(lines(parsed).join('\n'));
    const s = parsed.spec;
    expect(s.inventory).toEqual({
      kind: 'inline',
      targets: [{ id: 'a', address: 'h', labels: { ring: '1', canary: 'true' } }],
    });
    expect(s.steps.drain).toMatchObject({
      kind: 'http',
      method: 'POST',
      expect: [202],
      timeoutMs: 45_000,
      retries: 2,
      intervalMs: 1_000,
    });
    expect(s.tiers[0]?.select).toEqual({ ring: '1' });
    expect(s.tiers[0]?.strategy).toMatchObject({
      observeMs: 90_000,
      failureTolerancePercent: 2.5,
      maxUnavailable: { kind: 'percent', value: 10 },
    });
    expect(s.analysis).toEqual({
      provider: { type: 'prometheus', config: { address: '${PROM_URL}' } },
      noData: 'fail',
      metrics: [
        {
          name: 'm',
          query: "up{instance=~'{{targets.regex}}'}",
          threshold: { op: '>=', value: 1 },
          severity: 'warning',
          noData: 'fail',
          intervalMs: 60_000,
          count: 1,
          failureLimit: 0,
          inconclusiveLimit: 0,
        },
      ],
    });
  });
});

describe('parseSpec: sizes', () => {
  it('accepts auto for maxUnavailable (a whole wave; floor((n-1)/2) in a quorum tier)', () => {
    const result = parseSpec(
      `${MINIMAL}tiers: [{name: q, strategy: {quorum: true, maxUnavailable: auto}}]\nrollback: {maxUnavailable: auto}\n`,
      'r.yaml',
    );
    if (!result.ok) throw new Error(lines(result).join('\n'));
    expect(result.spec.tiers[0]?.strategy.maxUnavailable).toEqual({ kind: 'auto' });
    expect(result.spec.rollback).toEqual({ waves: { kind: 'percent', value: 50 }, maxUnavailable: { kind: 'auto' } });
  });

  it('refuses counts below the minimum: waves ≥ 1, canary ≥ 0', () => {
    const result = parseSpec(`${MINIMAL}tiers: [{name: a, strategy: {waves: 0, canary: -1}}]\n`, 'r.yaml');
    expect(errorsOf(result).map((i) => `${i.path}: ${i.message} (${i.expected ?? ''}, ${i.got ?? ''})`)).toEqual([
      'tiers[0].strategy.waves: must be a count or a percent like "20%" (count ≥ 1, "N%" or "auto", 0)',
      'tiers[0].strategy.canary: must be a count or a percent like "20%" (count ≥ 0, "N%" or "auto", -1)',
    ]);
  });
});

describe('parseSpec: locations', () => {
  it('points a missing key at its parent key', () => {
    const result = parseSpec(MINIMAL.replace('  upgrade: {run: [agent-update, "{{version}}"]}\n', ''), 'r.yaml');
    expect(lines(result)).toEqual([
      'r.yaml:8:1 steps.upgrade: is required (expected a step: {run: [program, args...]} or {http: {url: ...}})',
    ]);
  });

  it("takes a tier's own steps over the top-level ones, and reports a tier left without a required step at its line", () => {
    const text =
      MINIMAL.replace('  upgrade: {run: [agent-update, "{{version}}"]}\n', '') +
      `tiers:
  - name: agents
    select: {role: agent}
    steps:
      upgrade: {run: [agent-update, "{{version}}"]}
  - name: db
    select: {role: db}
    steps:
      drain: {run: [db-drain], grace: 5s}
`;
    expect(lines(parseSpec(text, 'r.yaml'))).toEqual([
      'r.yaml:16:5 tiers[1]: tier db has no upgrade step (expected upgrade in the top-level steps or in tiers[1].steps)',
    ]);
    const ok = parseSpec(
      text.replace('      drain: {run: [db-drain], grace: 5s}', '      upgrade: {run: [db-upgrade]}'),
      'r.yaml',
    );
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(ok.spec.steps.upgrade).toBeUndefined();
    expect(tierSteps(ok.spec, ok.spec.tiers[1]!).upgrade).toMatchObject({ kind: 'run', run: ['db-upgrade'] });
    expect(tierSteps(ok.spec, ok.spec.tiers[1]!).version).toMatchObject({ run: ['agent', '--version'] });
  });

  it('points an unknown key at the key, with a suggestion', () => {
    const result = parseSpec(`${MINIMAL}rollbak: {waves: 2}\n`, 'r.yaml');
    expect(errorsOf(result).map((i) => [i.line, i.col, i.path, i.message])).toEqual([
      [12, 1, 'rollbak', 'unknown field; did you mean "rollback"?'],
    ]);
  });

  it('follows << merge keys to where a bad value is written', () => {
    const text = `${MINIMAL}tiers:
  - name: a
    select: {ring: a}
    strategy: &s {canary: twenty}
  - name: b
    select: {ring: b}
    strategy: {<<: *s, observe: 1m}
`;
    const errors = errorsOf(parseSpec(text, 'r.yaml'));
    expect(errors.map((i) => `${i.line}:${i.col} ${i.path}`)).toEqual([
      '15:27 tiers[0].strategy.canary',
      '15:27 tiers[1].strategy.canary',
    ]);
  });

  it('quotes odd keys in paths and shows values as written, cut to about 60 characters', () => {
    const long = 'x'.repeat(100);
    const text = MINIMAL.replace(
      'file: inventory.yaml',
      `targets: [{id: a, address: h, labels: {"app.kubernetes.io/name": [1, 2]}}]`,
    ).replace('name: minimal', `name: ${long}`);
    const errors = errorsOf(parseSpec(text, 'r.yaml'));
    const name = errors.find((i) => i.path === 'name');
    expect(name?.got).toBe(`"${'x'.repeat(58)}…`);
    expect(name?.got?.length).toBe(60);
    const label = errors.find((i) => i.path.startsWith('inventory'));
    expect(label?.path).toBe('inventory.targets[0].labels["app.kubernetes.io/name"]');
    expect(label?.got).toBe('[1,2]');
  });

  it('keeps scalars as written in got (1.0, true, null)', () => {
    const errors = errorsOf(
      parseSpec(MINIMAL.replace('component: agent', 'component:').replace('name: minimal', 'name: 1.0'), 'r.yaml'),
    );
    expect(errors.map((i) => [i.path, i.got])).toEqual([
      ['name', '1.0'],
      ['component', 'null'],
    ]);
  });
});

describe('parseSpec: YAML problems', () => {
  it('reports every syntax error with its position', () => {
    const result = parseSpec('a: [1, 2\nb:\n\t- x\nc: "open\n', 'bad.yaml');
    const errors = errorsOf(result);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors.every((i) => i.line >= 1 && i.col >= 1 && i.message.startsWith('YAML: '))).toBe(true);
    expect(errors.some((i) => i.message.includes('tabs are not allowed'))).toBe(true);
  });

  it('names the path of a duplicate key', () => {
    const errors = errorsOf(parseSpec(MINIMAL.replace('  verify:', '  version: {run: [x]}\n  verify:'), 'r.yaml'));
    expect(errors.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`)).toEqual([
      '11:3 steps.version: duplicate key "version": each key may appear once in a map',
    ]);
  });

  it('refuses an alias with no anchor and a map used as a key', () => {
    expect(lines(parseSpec(`${MINIMAL}gates: {canary: *nowhere}\n`, 'r.yaml'))).toEqual([
      'r.yaml:12:17 alias *nowhere refers to no anchor &nowhere above it',
    ]);
    expect(lines(parseSpec(`${MINIMAL}? {a: 1}\n: 2\n`, 'r.yaml'))).toEqual([
      'r.yaml:12:3 a map key must be a plain value, not a map or list',
    ]);
  });

  it('refuses an alias bomb without expanding it (how fast: bench/timings.ts)', () => {
    // Ten levels of ten aliases each: 10^10 strings if expanded.
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\n${'bcdefghijk'
      .split('')
      .map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefghijk'[i]}`).join(', ')}]`)
      .join('\n')}\n`;
    // Expanded, it would not finish this side of the test's timeout.
    const errors = errorsOf(parseSpec(bomb, 'bomb.yaml'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/aliases expand to too much data/);
  });

  it('reports an empty file at line 0 and a wrong kind alone', () => {
    expect(lines(parseSpec('# nothing\n', 'e.yaml'))).toEqual([
      'e.yaml:0:0 the file is empty (expected a rollout spec starting with apiVersion: fleetgate/v1alpha1 and kind: Rollout)',
    ]);
    expect(lines(parseSpec('kind: Inventory\ntargets: []\n', 'i.yaml'))).toEqual([
      'i.yaml:1:7 kind: not a rollout spec: this file holds a Inventory (expected "Rollout", got "Inventory")',
    ]);
  });

  it('passes YAML warnings on (an unknown tag)', () => {
    const result = parseSpec(MINIMAL.replace('component: agent', 'component: !custom agent'), 'r.yaml');
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => [w.line, w.severity])).toEqual([[4, 'warning']]);
  });
});

describe('parseSpec: analysis', () => {
  it('lists the known provider types for an unknown one', () => {
    const text = `${MINIMAL}analysis:\n  provider: {datadog: {}}\n  metrics: [{name: m, query: q, threshold: "< 1"}]\n`;
    const errors = errorsOf(parseSpec(text, 'r.yaml'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      path: 'analysis.provider.datadog',
      message: 'unknown metric provider type',
      expected: `one of ${KNOWN_PROVIDER_TYPES.join(', ')}`,
    });
  });

  it('reads ignoreIncreaseBelow beside maxIncrease, and locates it without one', () => {
    const metric = (fields: string) =>
      `${MINIMAL}analysis:\n  provider: {prometheus: {address: 'http://127.0.0.1:9090'}}\n  metrics:\n    - {name: m, query: q, ${fields}}\n`;
    const good = parseSpec(
      metric('baseline: {cohort: stable}, maxIncrease: 50%, ignoreIncreaseBelow: 0.001'),
      'r.yaml',
    );
    if (!good.ok) throw new Error(lines(good).join('\n'));
    expect(good.spec.analysis?.metrics[0]).toMatchObject({ maxIncreasePercent: 50, ignoreIncreaseBelow: 0.001 });

    expect(lines(parseSpec(metric('threshold: "< 1", ignoreIncreaseBelow: 0.001'), 'r.yaml'))).toEqual([
      expect.stringMatching(
        /^r\.yaml:15:\d+ analysis\.metrics\[0\]\.ignoreIncreaseBelow: applies to maxIncrease, which is not set \(expected maxIncrease: "N%" beside it/,
      ),
    ]);
    const inf = metric('baseline: {cohort: stable}, maxIncrease: 50%, ignoreIncreaseBelow: .inf');
    expect(lines(parseSpec(inf, 'r.yaml'))).toEqual([
      expect.stringMatching(
        /^r\.yaml:15:\d+ analysis\.metrics\[0\]\.ignoreIncreaseBelow: must be a number .*got \.inf\)$/,
      ),
    ]);
  });
});

describe('parseSpec never throws', () => {
  function check(text: string): void {
    const result = parseSpec(text, 'p.yaml');
    const all = [...errorsOf(result), ...result.warnings];
    if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
    for (const issue of all) {
      expect(issue.line).toBeGreaterThanOrEqual(0);
      expect(issue.col).toBeGreaterThanOrEqual(0);
      expect(issue.message).not.toMatch(/internal error/);
      expect(typeof formatIssue(issue)).toBe('string');
    }
  }

  it('for arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), check), { numRuns: 500 });
  });

  it('for arbitrary YAML-ish text', () => {
    const token = fc.constantFrom(
      'a',
      ':',
      ' ',
      '\n',
      '  ',
      '- ',
      '{',
      '}',
      '[',
      ']',
      ',',
      '"',
      "'",
      '&x ',
      '*x',
      '<<',
      '#',
      '!',
      '|',
      '>',
      '?',
      '---',
      '\t',
      'kind: Rollout',
      'steps:',
      '1.0',
      'null',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => check(tokens.join(''))),
      { numRuns: 1000 },
    );
  });

  it('for arbitrary YAML documents', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => check(stringify(value))),
      { numRuns: 300 },
    );
  });

  it('for a valid spec with one field replaced by anything', () => {
    const base = {
      apiVersion: 'fleetgate/v1alpha1',
      kind: 'Rollout',
      name: 'p',
      component: 'c',
      version: '1.0.0',
      inventory: { targets: [{ id: 'a', address: 'h', labels: { r: 'x' } }] },
      tiers: [
        {
          name: 't',
          select: { r: 'x' },
          strategy: { canary: 1, observe: '1m', circuitBreaker: { maxConsecutiveFailures: 2 } },
        },
      ],
      steps: {
        version: { run: ['v'] },
        upgrade: { http: { url: 'http://{{target.address}}/u', expect: [200] } },
        verify: { run: ['c'] },
      },
      analysis: {
        provider: { prometheus: { address: 'http://127.0.0.1:9090' } },
        metrics: [{ name: 'm', query: 'q', baseline: { cohort: 'stable' }, maxIncrease: '5%' }],
      },
      versionPolicy: { stepThrough: ['0.9.0'] },
    };
    const paths: (string | number)[][] = [];
    const collect = (value: unknown, path: (string | number)[]) => {
      paths.push(path);
      if (Array.isArray(value)) value.forEach((v, i) => collect(v, [...path, i]));
      else if (value !== null && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) collect(v, [...path, k]);
    };
    collect(base, []);
    expect(parseSpec(stringify(base), 'p.yaml').ok).toBe(true);
    fc.assert(
      fc.property(fc.constantFrom(...paths.slice(1)), fc.jsonValue({ maxDepth: 2 }), (path, replacement) => {
        const copy = structuredClone(base) as Record<string | number, unknown>;
        let parent: Record<string | number, unknown> = copy;
        for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
        parent[path[path.length - 1]!] = replacement;
        check(stringify(copy));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('readSpecFile and loadSpec', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetgate-spec-'));
    await writeFile(join(dir, 'ok.yaml'), MINIMAL.replace('{run: [agent, health]}', ''));
    await writeFile(
      join(dir, 'warn.yaml'),
      `${MINIMAL.replace('file: inventory.yaml', 'targets: [{id: a, address: h}]')}tiers: [{name: x, select: {r: y}}]\n`,
    );
    await writeFile(join(dir, 'bad.yaml'), MINIMAL.replace('version: 1.0.0', 'version: latest'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and parses a file', async () => {
    const result = await readSpecFile(join(dir, 'ok.yaml'));
    expect(result.ok).toBe(true);
  });

  it('reports a missing file and a directory at line 0, column 0', async () => {
    const missing = join(dir, 'nope.yaml');
    expect(lines(await readSpecFile(missing))).toEqual([`${missing}:0:0 file not found`]);
    expect(lines(await readSpecFile(dir))).toEqual([`${dir}:0:0 is a directory, not a spec file`]);
  });

  it('loadSpec returns the normalized spec and hands warnings over', async () => {
    const warnings: Issue[] = [];
    const spec = await loadSpec(join(dir, 'warn.yaml'), { onWarning: (w) => warnings.push(w) });
    expect(spec.name).toBe('minimal');
    expect(warnings.map((w) => w.path)).toEqual(['inventory.targets[0].id', 'tiers[0].select']);
  });

  it('loadSpec throws a SpecValidationError with every issue', async () => {
    const file = join(dir, 'bad.yaml');
    const error = await loadSpec(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecValidationError);
    expect(error).toBeInstanceOf(ConfigurationError);
    const e = error as SpecValidationError;
    expect(e.name).toBe('SpecValidationError');
    expect(e.message).toBe(`${file}: 1 problem in the rollout spec`);
    expect(e.issues.map(formatIssue)).toEqual([
      `${file}:5:10 version: must be a semantic version major.minor.patch, like "1.2.3" (expected a semantic version like "1.26.0" or "2.0.0-rc.1", got "latest")`,
    ]);
  });
});
