/**
 * One vocabulary (issue 14, part 2): docs/glossary.md lists each term once, and the code in
 * `src/` uses no other name for a concept the glossary names. The names retired below are read
 * only where older state files are read (src/state/legacy.ts maps them to today's words).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const GLOSSARY = readFileSync(join(ROOT, 'docs/glossary.md'), 'utf8');
/** The one file allowed to name retired words: it reads them in old state files. */
const LEGACY = 'src/state/legacy.ts';

/** A name retired in favour of a glossary term: a pattern for it in code, and the term. */
interface Retired {
  /** What is retired, for the failure message. */
  name: string;
  /** Where it would show in code. */
  pattern: RegExp;
  /** The glossary term (a `- **term**` entry) that decides today's word. */
  term: string;
}

const RETIRED: Retired[] = [
  { name: 'target phase InProgress (now Progressing)', pattern: /\bInProgress\b/, term: 'phase' },
  { name: 'state step probe (now the version step)', pattern: /['"`]probe['"`]|step: probe\b/, term: 'step' },
  {
    name: 'measurement phases Successful/Failed/… (now verdict pass/fail/inconclusive/error)',
    pattern: /\bSuccessful\b|\bMeasurementPhase\b/,
    term: 'verdict',
  },
  { name: 'rollback batch (a rollback moves in waves)', pattern: /\bbatch(es)?\b|Batch\b(?!Mode)/i, term: 'wave' },
  { name: 'a workflow job called a phase (now a stage)', pattern: /--phase\b/, term: 'stage' },
];

/** Every `.ts` file under `src/`, relative to the root. */
function sourceFiles(): string[] {
  return readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join('src', f));
}

/** `- **term** — …` and `- **a / b / c** — …` entries: each term written, lower-case. */
function glossaryTerms(): string[] {
  return [...GLOSSARY.matchAll(/^- \*\*(.+?)\*\*/gm)].flatMap((m) => m[1]!.split(' / ').map((t) => t.toLowerCase()));
}

describe('vocabulary', () => {
  it('the glossary lists each term once', () => {
    const terms = glossaryTerms();
    expect(terms.length).toBeGreaterThan(30);
    expect(terms.filter((t, i) => terms.indexOf(t) !== i)).toEqual([]);
  });

  it('each retired name has the glossary term that replaces it', () => {
    const terms = new Set(glossaryTerms());
    expect(RETIRED.map((r) => r.term).filter((t) => !terms.has(t))).toEqual([]);
  });

  it('src/ uses no retired name outside the reader of old state files', () => {
    const found: string[] = [];
    for (const file of sourceFiles()) {
      if (file === LEGACY) continue;
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const r of RETIRED) if (r.pattern.test(line)) found.push(`${file}:${i + 1}: ${r.name}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('the reader of old state files still knows each retired state word', () => {
    const legacy = readFileSync(join(ROOT, LEGACY), 'utf8');
    for (const old of ['InProgress', 'probe', 'Successful'])
      expect(legacy, relative(ROOT, LEGACY)).toContain(`${old}:`);
  });
});
