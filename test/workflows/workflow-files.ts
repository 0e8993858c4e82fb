/** Every workflow and action metadata file of the repository, for the lint tests. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface YamlFile {
  /** Repository-relative path. */
  path: string;
  text: string;
  kind: 'workflow' | 'action';
}

function list(dir: string, match: (name: string) => boolean): string[] {
  try {
    return readdirSync(join(ROOT, dir))
      .filter(match)
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** `.github/workflows/*.yml`, `examples/workflows/*.yml` and `actions/*\/action.yml`. */
export function workflowAndActionFiles(): YamlFile[] {
  const yml = (n: string) => /\.ya?ml$/.test(n);
  const workflows = [...list('.github/workflows', yml), ...list('examples/workflows', yml)];
  const actions = readdirSync(join(ROOT, 'actions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'actions', d.name, 'action.yml'))) // not actions/lib
    .map((d) => join('actions', d.name, 'action.yml'))
    .sort();
  return [
    ...workflows.map((p) => ({ path: p, kind: 'workflow' as const })),
    ...actions.map((p) => ({ path: p, kind: 'action' as const })),
  ].map((f) => ({ ...f, path: relative(ROOT, join(ROOT, f.path)), text: readFileSync(join(ROOT, f.path), 'utf8') }));
}
