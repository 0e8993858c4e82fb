/**
 * The README's "Layout" and docs/design.md's "Layers" name every folder of `src/` (and
 * `src/errors.ts`), so a new layer cannot go undocumented (issue 14, part 5: the README
 * once left out `src/github/`, `src/demo/` and `src/util/`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** `src/<folder>/` for each folder, and each file directly in `src/`. */
function srcEntries(): string[] {
  return readdirSync(join(ROOT, 'src'), { withFileTypes: true })
    .filter((d) => d.isDirectory() || d.name.endsWith('.ts'))
    .map((d) => (d.isDirectory() ? `src/${d.name}/` : `src/${d.name}`))
    .sort();
}

/** The first fenced block after `heading` in `file`. */
function blockAfter(file: string, heading: string): string {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  expect(at, `${file} has no "${heading}" section`).toBeGreaterThanOrEqual(0);
  const open = text.indexOf('```', at);
  return text.slice(open + 3, text.indexOf('```', open + 3));
}

describe('the documented layout', () => {
  it.each([
    ['README.md', '## Layout'],
    ['docs/design.md', '## Layers'],
  ])('%s (%s) names every folder of src/', (file, heading) => {
    const block = blockAfter(file, heading);
    const missing = srcEntries().filter((entry) => !block.includes(entry));
    expect(missing).toEqual([]);
  });
});
