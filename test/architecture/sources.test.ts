/**
 * Sources a reader can follow (issue 14, part 3): the code and the docs cite the documents
 * Fleetgate's rules come from as `seed 000` … `seed 004`; docs/sources.md names each one and
 * what was taken from it. Every citation must name a listed source, and every listed source
 * must be cited, so neither side drifts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SOURCES = join(ROOT, 'docs/sources.md');

/** Where citations may appear: the code, the docs, the actions, the workflows, the README. */
const SCANNED = ['src', 'docs', 'actions', '.github/workflows', 'README.md'];

function files(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full).isDirectory()) return [full];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .map((f) => join(full, f))
    .filter((f) => statSync(f).isFile() && /\.(ts|md|ya?ml|sh)$/.test(f));
}

/** `seed 000`, `seeds 002/003`, `seeds 001 and 004`: the three-digit keys cited, with where. */
function citations(): { key: string; at: string }[] {
  const out: { key: string; at: string }[] = [];
  for (const file of SCANNED.flatMap(files)) {
    if (file === SOURCES) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const m of line.matchAll(/\bseeds?\s+(\d{3}(?:\s*(?:\/|,|and|&)\s*\d{3})*)/gi))
          for (const key of m[1]!.match(/\d{3}/g)!) out.push({ key, at: `${relative(ROOT, file)}:${i + 1}` });
      });
  }
  return out;
}

/** The keys docs/sources.md lists in its table: `| seed 000 | …`. */
function listed(): string[] {
  return [...readFileSync(SOURCES, 'utf8').matchAll(/^\| seed (\d{3}) \|/gm)].map((m) => m[1]!);
}

describe('sources', () => {
  const cited = citations();

  it('finds the citations it checks (the scan is not empty)', () => {
    expect(cited.length).toBeGreaterThan(50);
    expect(listed()).toEqual(['000', '001', '002', '003', '004']);
  });

  it('every seed cited in the code and docs is named in docs/sources.md', () => {
    const known = new Set(listed());
    expect(cited.filter((c) => !known.has(c.key)).map((c) => `${c.at}: seed ${c.key}`)).toEqual([]);
  });

  it('every source docs/sources.md lists is cited somewhere, and has its own section', () => {
    const text = readFileSync(SOURCES, 'utf8');
    for (const key of listed()) {
      expect(
        cited.some((c) => c.key === key),
        `seed ${key} is listed but never cited`,
      ).toBe(true);
      expect(text).toMatch(new RegExp(`^## seed ${key} — `, 'm'));
    }
  });
});
