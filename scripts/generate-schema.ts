/**
 * Writes schema/rollout.schema.json from the zod schema of the written spec.
 * Run with `npm run schema` (or `npx tsx scripts/generate-schema.ts`) after
 * changing src/spec/schema.ts, and commit the result; test/spec/schema.test.ts
 * fails when the committed file is stale.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderRolloutJsonSchema, ROLLOUT_SCHEMA_PATH } from '../src/spec/json-schema.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = resolve(root, ROLLOUT_SCHEMA_PATH);
await mkdir(dirname(target), { recursive: true });
await writeFile(target, renderRolloutJsonSchema());
console.log(`wrote ${ROLLOUT_SCHEMA_PATH}`);
