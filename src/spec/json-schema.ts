/**
 * The JSON Schema (draft 2020-12) of a written spec, generated from the zod
 * schema so the two never drift. `scripts/generate-schema.ts` writes it to
 * `schema/rollout.schema.json`; a test checks the committed file is current.
 */
import { z } from 'zod';
import { WrittenRolloutSpecSchema } from './schema.js';

/** Where the generated schema is committed, relative to the repository root. */
export const ROLLOUT_SCHEMA_PATH = 'schema/rollout.schema.json';

/**
 * Builds the JSON Schema of the written spec (`io: 'input'`: what a person
 * types, with defaults shown as `default`). Cross-field rules (unique names,
 * tiers versus targets, version order) are not in it; `parseSpec` checks them.
 */
export function createRolloutJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(WrittenRolloutSpecSchema, { io: 'input', target: 'draft-2020-12' });
  return {
    $schema: schema.$schema,
    $comment: 'Generated from src/spec/schema.ts by scripts/generate-schema.ts (npm run schema). Do not edit.',
    ...schema,
  };
}

/** The schema as the committed file holds it: 2-space JSON with a final newline. */
export function renderRolloutJsonSchema(): string {
  return `${JSON.stringify(createRolloutJsonSchema(), null, 2)}\n`;
}
