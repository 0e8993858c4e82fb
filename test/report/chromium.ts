/**
 * Locates the headless Chromium (Debian package `chromium`) for the report's browser
 * test through `scripts/chromium.sh`: on a developer machine without it, returns
 * `undefined` after a LOUD message and the test skips; with `CI` set it installs the
 * package (CI runs as root) and a missing binary fails the run.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/chromium.sh');

/**
 * The Chromium binary, or `undefined` (after a loud message) when it is missing on a developer machine.
 * @throws Error in CI (`CI` set) when it is missing and cannot be installed.
 */
export function locateChromium(): string | undefined {
  const check = spawnSync('bash', [SCRIPT, '--check'], { encoding: 'utf8' });
  let path = check.status === 0 ? check.stdout.trim() : undefined;
  if (path === undefined && process.env.CI) {
    const install = spawnSync('bash', [SCRIPT], { encoding: 'utf8', timeout: 900_000 });
    path = install.status === 0 ? install.stdout.trim() : undefined;
    if (path === undefined)
      throw new Error(`Chromium is required in CI and scripts/chromium.sh could not provide it:\n${install.stderr}`);
  }
  if (path === undefined)
    process.stderr.write(
      `\n${'!'.repeat(78)}\n!! SKIPPING the report's browser test: chromium is not installed.\n!! ${check.stderr.trim().split('\n').join('\n!! ')}\n${'!'.repeat(78)}\n\n`,
    );
  return path;
}

/** What mermaid made of a diagram: the SVG's task bars (milestones apart), milestones and section titles, or the error it threw. */
export interface MermaidRendering {
  error?: string;
  tasks: number;
  milestones: number;
  sections: string[];
  problems: string[];
}

/**
 * Renders a ```mermaid fenced block with the real `mermaid` library (its browser bundle from
 * node_modules, as GitHub renders a job summary's mermaid) in a page of `browser`, offline.
 * @param fenced the Markdown block, fences included
 * @param screenshot where to save a PNG of the drawing (optional)
 */
export async function renderMermaid(browser: Browser, fenced: string, screenshot?: string): Promise<MermaidRendering> {
  const source = fenced.replace(/^```mermaid\n/, '').replace(/\n```$/, '');
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  try {
    await page.setContent('<!doctype html><html><body><pre id="out" class="mermaid"></pre></body></html>');
    await page.addScriptTag({ path: MERMAID });
    const result = await page.evaluate(async (text) => {
      const m = (globalThis as unknown as { mermaid: MermaidApi }).mermaid;
      const out = (globalThis as unknown as { document: MiniDocument }).document.getElementById('out')!;
      out.textContent = text;
      m.initialize({ startOnLoad: false, securityLevel: 'strict' });
      try {
        // As a page renders a ```mermaid block: the element's text replaced by the drawing.
        await m.run({ nodes: [out], suppressErrors: false });
        return {
          tasks: out.querySelectorAll('rect.task:not(.milestone)').length,
          milestones: out.querySelectorAll('rect.task.milestone').length,
          sections: [...out.querySelectorAll('text.sectionTitle')].map((t) => t.textContent ?? ''),
        };
      } catch (error) {
        return { error: String((error as Error).message ?? error), tasks: 0, milestones: 0, sections: [] };
      }
    }, source);
    if (screenshot && result.error === undefined) await page.locator('#out svg').screenshot({ path: screenshot });
    return { ...result, problems };
  } finally {
    await page.close();
  }
}

/** The little of the DOM the page function uses (the project compiles without the DOM library). */
interface MiniElement {
  textContent: string | null;
  querySelectorAll(selector: string): ArrayLike<MiniElement> & Iterable<MiniElement>;
}
interface MiniDocument {
  getElementById(id: string): MiniElement | null;
}

interface MermaidApi {
  initialize(config: Record<string, unknown>): void;
  run(options: { nodes: MiniElement[]; suppressErrors: boolean }): Promise<void>;
}

const MERMAID = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');
