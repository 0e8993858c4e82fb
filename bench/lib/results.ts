/**
 * Writes bench/RESULTS.md: the header (machine, date, command, load) and one
 * `## ` section per suite, replacing those sections and keeping every other
 * section (e.g. `## Analysis accuracy`, written by bench/analysis-accuracy.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type } from 'node:os';
import { execFileSync } from 'node:child_process';

export const RESULTS_PATH = new URL('../RESULTS.md', import.meta.url);

export interface Section {
  /** Heading without the `## `. */
  title: string;
  /** Markdown body (without the heading). */
  body: string;
}

/** Splits a Markdown file into its preamble and `## ` sections, in order. */
export function splitSections(text: string): { preamble: string; sections: Section[] } {
  const parts = text.split(/^## /m);
  const preamble = parts.shift() ?? '';
  const sections = parts.map((part) => {
    const nl = part.indexOf('\n');
    const title = (nl < 0 ? part : part.slice(0, nl)).trim();
    return { title, body: nl < 0 ? '' : part.slice(nl + 1).trim() };
  });
  return { preamble, sections };
}

/**
 * Replaces the sections with the same titles (in place), appends new ones before
 * sections owned by others, and rewrites the preamble.
 */
export function mergeResults(existing: string, preamble: string, mine: Section[]): string {
  const { sections } = splitSections(existing);
  const byTitle = new Map(mine.map((s) => [s.title, s]));
  const out: Section[] = [];
  const placed = new Set<string>();
  for (const s of sections) {
    const replacement = byTitle.get(s.title);
    if (replacement) {
      out.push(replacement);
      placed.add(s.title);
    } else out.push(s);
  }
  const fresh = mine.filter((s) => !placed.has(s.title));
  // New sections go before the first section that is not ours (keeps others' sections last).
  const firstForeign = out.findIndex((s) => !byTitle.has(s.title));
  out.splice(firstForeign < 0 ? out.length : firstForeign, 0, ...fresh);
  return `${preamble.trim()}\n\n${out.map((s) => `## ${s.title}\n\n${s.body.trim()}\n`).join('\n')}`;
}

export function readResults(): string {
  try {
    return readFileSync(RESULTS_PATH, 'utf8');
  } catch {
    return '# Benchmark results\n';
  }
}

export function writeResults(preamble: string, mine: Section[]): void {
  writeFileSync(RESULTS_PATH, mergeResults(readResults(), preamble, mine));
}

/** One line about the machine: CPU model and count, memory, OS, Node, git. */
export function describeMachine(): string {
  const cpu = cpus();
  let git = '';
  try {
    git = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    git = 'git missing';
  }
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${process.platform}/${process.arch}, Node ${process.version}, ${git}`;
}

export function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');
}
