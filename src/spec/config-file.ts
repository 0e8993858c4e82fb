/**
 * Reads a spec's `config.file` (relative to the spec file's folder) and fills the normalized
 * `config` with its content, format, keys and revision; every problem comes back as a
 * `SpecProblem` on `config.file` or `config.hotReload[i]`, so `parse.ts` locates it in the
 * spec. The one place the spec layer reads a file other than the spec itself.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { checkHotReloadKeys, configRevision, formatOfFile, MAX_CONFIG_BYTES, type ConfigSpec } from './config.js';
import type { SpecProblem } from './problem.js';

/**
 * Reads `config.file` of `config` (a spec read from `specPath`) and fills in its content,
 * format, data and revision.
 * @returns the problems found (none: `config` is complete)
 */
export async function loadConfigFile(config: ConfigSpec, specPath: string): Promise<SpecProblem[]> {
  if (config.source.kind !== 'file') return [];
  const written = config.source.path;
  const path = resolve(dirname(resolve(specPath)), written);
  const at = ['config', 'file'];
  const problem = (message: string, expected?: string): SpecProblem[] => [
    { path: at, message, ...(expected !== undefined && { expected }), severity: 'error' },
  ];
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return problem(
        `configuration file ${written} does not exist (looked for ${path})`,
        "a file next to the spec, relative to the spec file's folder",
      );
    if (code === 'EISDIR') return problem(`${written} is a directory, not a configuration file`, 'a file');
    return problem(`cannot read configuration file ${written}: ${(error as Error).message}`);
  }
  if (bytes.length > MAX_CONFIG_BYTES)
    return problem(
      `configuration file ${written} is ${bytes.length} bytes, more than ${MAX_CONFIG_BYTES}: its content is kept in the state so a rollback can restore it`,
      `a file up to ${MAX_CONFIG_BYTES / 1024} KiB`,
    );
  const content = bytes.toString('utf8');
  const format = formatOfFile(written);
  let data: Record<string, unknown> | undefined;
  if (format !== 'text') {
    let value: unknown;
    if (format === 'json') {
      try {
        value = JSON.parse(content);
      } catch (error) {
        return problem(`configuration file ${written} is not valid JSON: ${(error as Error).message}`, 'a JSON object');
      }
    } else {
      const doc = parseDocument(content, { prettyErrors: false });
      const first = doc.errors[0];
      if (first !== undefined)
        return problem(
          `configuration file ${written} is not valid YAML: ${first.message.split('\n')[0] ?? ''}`,
          'a YAML map of keys',
        );
      value = doc.toJS({ maxAliasCount: 100 });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return problem(
        `configuration file ${written} must hold a map of keys (it is read as ${format} from its name)`,
        'a map at the top level, or a file name not ending in .json, .yaml or .yml to read it as text',
      );
    data = value as Record<string, unknown>;
  }
  config.content = content;
  config.format = format;
  if (data !== undefined) config.data = data;
  config.revision = configRevision(content, format, data);
  if (Array.isArray(config.hotReload)) {
    if (data === undefined)
      return [
        {
          path: ['config', 'hotReload'],
          message: `lists keys, but ${written} is read as opaque text (not .json, .yaml or .yml): it has no keys`,
          expected: 'true or false for a text configuration, or a .json/.yaml file',
          severity: 'error',
        },
      ];
    return checkHotReloadKeys(config.hotReload, Object.keys(data), written);
  }
  return [];
}
