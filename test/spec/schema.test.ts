/**
 * The JSON Schema in schema/ is generated from the zod schema: the committed
 * file must equal a fresh generation, and Ajv (draft 2020-12) must agree with
 * the zod code on every spec we have.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { renderRolloutJsonSchema, ROLLOUT_SCHEMA_PATH } from '../../src/spec/json-schema.js';
import { WrittenRolloutSpecSchema } from '../../src/spec/schema.js';
import { fixtureFiles, repoPath, rolloutSpecFiles, ROOT } from './spec-files.js';

const committed = readFileSync(join(ROOT, ROLLOUT_SCHEMA_PATH), 'utf8');
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validate = ajv.compile(JSON.parse(committed) as object);

/** The data of a YAML file the way the parser sees it, or `undefined` when the YAML itself is broken. */
function yamlData(file: string): { data: unknown } | undefined {
  const doc = parseDocument(readFileSync(file, 'utf8'), { merge: true });
  if (doc.errors.length > 0) return undefined;
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }) };
  } catch {
    return undefined;
  }
}

describe('schema/rollout.schema.json', () => {
  it('matches a fresh generation from src/spec/schema.ts (run `npm run schema` and commit)', () => {
    expect(committed).toBe(renderRolloutJsonSchema());
  });

  it('is draft 2020-12 and closed (unknown top-level keys are refused)', () => {
    const schema = JSON.parse(committed) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
  });

  it('shows defaults to editors', () => {
    const schema = JSON.parse(committed) as {
      $defs: Record<string, { properties?: Record<string, { default?: unknown }> }>;
    };
    expect(schema.$defs.Strategy?.properties?.observe?.default).toBe('15m');
    expect(schema.$defs.Strategy?.properties?.canary?.default).toBe('auto');
    expect(schema.$defs.Rollback?.properties?.waves?.default).toBe('50%');
  });
});

describe('valid specs pass Ajv and zod', () => {
  const files = [...fixtureFiles('valid'), ...rolloutSpecFiles()];
  it.each(files.map((f) => [repoPath(f), f]))('%s', (_name, file) => {
    const loaded = yamlData(file);
    expect(loaded).toBeDefined();
    const ok = validate(loaded!.data);
    expect(ok ? [] : validate.errors).toEqual([]);
    const parsed = WrittenRolloutSpecSchema.safeParse(loaded!.data);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });
});

describe('specs invalid by shape fail Ajv and zod', () => {
  const shapeInvalid = fixtureFiles('invalid').filter((file) => {
    const loaded = yamlData(file);
    return loaded !== undefined && !WrittenRolloutSpecSchema.safeParse(loaded.data).success;
  });

  it('cover most invalid fixtures', () => {
    const names = shapeInvalid.map(repoPath);
    for (const name of [
      'many-mistakes',
      'missing-fields',
      'exclusive-choices',
      'analysis',
      'names-and-versions',
      'wrong-kind',
    ]) {
      expect(names).toContain(`test/fixtures/specs/invalid/${name}.yaml`);
    }
  });

  it.each(shapeInvalid.map((f) => [repoPath(f), f]))('%s', (_name, file) => {
    expect(validate(yamlData(file)!.data)).toBe(false);
  });
});

describe('Ajv and zod agree on single mistakes', () => {
  const base = yamlData(join(ROOT, 'test/fixtures/specs/valid/minimal.yaml'))!.data as Record<string, unknown>;
  const steps = base.steps as Record<string, unknown>;
  const cases: [string, Record<string, unknown>][] = [
    ['two inventory sources', { ...base, inventory: { file: 'a.yaml', discover: { run: ['x'] } } }],
    ['no inventory source', { ...base, inventory: {} }],
    ['a step with run and http', { ...base, steps: { ...steps, upgrade: { run: ['a'], http: { url: 'http://x/' } } } }],
    ['env on an http step', { ...base, steps: { ...steps, verify: { http: { url: 'http://x/' }, env: { A: 'b' } } } }],
    ['an unknown placeholder', { ...base, steps: { ...steps, upgrade: { run: ['a', '{{target.name}}'] } } }],
    ['a target placeholder in a hook', { ...base, hooks: { before: { run: ['a', '{{target.id}}'] } } }],
    [
      'two provider types',
      {
        ...base,
        analysis: { provider: { prometheus: {}, scrape: {} }, metrics: [{ name: 'm', query: 'q', threshold: '< 1' }] },
      },
    ],
    [
      'a metric without a condition',
      { ...base, analysis: { provider: { prometheus: {} }, metrics: [{ name: 'm', query: 'q' }] } },
    ],
    [
      'maxIncrease without baseline',
      { ...base, analysis: { provider: { prometheus: {} }, metrics: [{ name: 'm', query: 'q', maxIncrease: '5%' }] } },
    ],
    [
      'ignoreIncreaseBelow without maxIncrease',
      {
        ...base,
        analysis: {
          provider: { prometheus: {} },
          metrics: [{ name: 'm', query: 'q', threshold: '< 1', ignoreIncreaseBelow: 0.001 }],
        },
      },
    ],
    [
      'a negative ignoreIncreaseBelow',
      {
        ...base,
        analysis: {
          provider: { prometheus: {} },
          metrics: [
            { name: 'm', query: 'q', baseline: { cohort: 'stable' }, maxIncrease: '50%', ignoreIncreaseBelow: -1 },
          ],
        },
      },
    ],
    ['a zero timeout', { ...base, steps: { ...steps, upgrade: { run: ['a'], timeout: '0s' } } }],
    ['a percent of 0', { ...base, tiers: [{ name: 'a', strategy: { waves: '0%' } }] }],
    ['a v-prefixed version', { ...base, version: 'v1.0.0' }],
  ];
  it.each(cases)('%s is refused by both', (_what, data) => {
    expect(WrittenRolloutSpecSchema.safeParse(data).success).toBe(false);
    expect(validate(data)).toBe(false);
  });
});
