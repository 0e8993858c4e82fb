/**
 * Step outputs, job summaries and annotations through `@actions/core`, with
 * sensible behaviour outside Actions (a terminal gets the markdown on stdout and
 * no workflow commands).
 */
import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';
import { capMarkdown, STEP_SUMMARY_LIMIT_BYTES } from './markdown.js';

/** True inside an Actions step (the runner set `GITHUB_ACTIONS`). */
export function inActions(): boolean {
  return process.env.GITHUB_ACTIONS === 'true';
}

/** Sets step outputs (`GITHUB_OUTPUT`); outside a step, does nothing. Objects and arrays become JSON. */
export function setOutputs(outputs: Record<string, string | number | boolean | object | undefined>): void {
  if (!process.env.GITHUB_OUTPUT) return;
  for (const [name, value] of Object.entries(outputs)) {
    core.setOutput(name, value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
}

/**
 * Appends markdown to the step's job summary (`GITHUB_STEP_SUMMARY`), cut to stay
 * under GitHub's 1 MiB per step. Outside a step the markdown goes to stdout.
 */
export function writeSummary(markdown: string): void {
  const text = `${capMarkdown(markdown, STEP_SUMMARY_LIMIT_BYTES - 4096)}\n`;
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, text);
  else process.stdout.write(text);
}

/** An annotation in Actions; a plain line on stderr elsewhere. */
export function annotate(level: 'error' | 'warning' | 'notice', message: string, title = 'fleetgate'): void {
  if (inActions()) {
    if (level === 'error') core.error(message, { title });
    else if (level === 'warning') core.warning(message, { title });
    else core.notice(message, { title });
  } else {
    process.stderr.write(`${level}: ${message}\n`);
  }
}
