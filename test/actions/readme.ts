/**
 * README tables generated from `action.yml` (inputs and outputs), kept between
 * markers so a drift test can compare them. `npx tsx test/actions/readme.ts`
 * rewrites every README's tables after an action.yml change.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ACTIONS_DIR, readAction, type ActionMetadata } from './runner.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function inputsTable(a: ActionMetadata): string {
  const rows = Object.entries(a.inputs ?? {}).map(
    ([k, v]) =>
      `| \`${k}\` | ${v.required ? 'yes' : 'no'} | ${v.default === undefined || v.default === '' ? '' : `\`${cell(String(v.default))}\``} | ${cell(v.description)} |`,
  );
  return ['| input | required | default | description |', '|---|---|---|---|', ...rows].join('\n');
}

export function outputsTable(a: ActionMetadata): string {
  const rows = Object.entries(a.outputs ?? {}).map(([k, v]) => `| \`${k}\` | ${cell(v.description)} |`);
  return ['| output | description |', '|---|---|', ...rows].join('\n');
}

/** The text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function between(text: string, name: string): string | undefined {
  const m = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n?<!-- ${name}:end -->`).exec(text);
  return m?.[1];
}

function replaceBetween(text: string, name: string, body: string): string {
  return text.replace(
    new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?\\n?(<!-- ${name}:end -->)`),
    (_m, a: string, b: string) => `${a}${body}\n${b}`,
  );
}

export function actionNames(): string[] {
  return readdirSync(ACTIONS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ACTIONS_DIR, d.name, 'action.yml'))) // not actions/lib
    .map((d) => d.name)
    .sort();
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  for (const name of actionNames()) {
    const file = join(ACTIONS_DIR, name, 'README.md');
    const a = readAction(name);
    let text = readFileSync(file, 'utf8');
    text = replaceBetween(text, 'inputs', inputsTable(a));
    text = replaceBetween(text, 'outputs', outputsTable(a));
    writeFileSync(file, text);
  }
}
