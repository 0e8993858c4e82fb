/**
 * The layers of docs/design.md ("Architecture") as a graph test: the import
 * graph of every entry point, read from esbuild's metafile, has no cycle
 * between layers (cli ↔ github, engine ↔ state) and no edge that points up.
 * The lint rules in eslint.config.js say the same per file; this checks the
 * whole graph, type-only imports aside (they vanish at build time).
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** Lowest first: a layer may import only layers at or below its own rank. */
const RANK: Record<string, number> = {
  util: 0,
  'errors.ts': 0,
  spec: 1,
  inventory: 2,
  plan: 3,
  state: 3,
  analysis: 4,
  fleet: 4,
  engine: 5,
  app: 6,
  report: 6,
  github: 7,
  cli: 8,
  demo: 9,
};

/**
 * Edges that point up on purpose, with why. Provider settings are pure zod declarations,
 * one per provider beside its client, that the spec schema (and the JSON Schema) is built
 * from; they import nothing above the spec layer (checked: their own edges are in the graph).
 */
const ALLOWED: Record<string, string> = {
  'src/spec/schema.ts → src/analysis/providers/settings.ts': 'provider settings declarations',
};

function layerOf(path: string): string | undefined {
  const m = /^src\/([^/]+)/.exec(path);
  return m?.[1];
}

describe('module layers', () => {
  it('no import points from a lower layer to a higher one, so the layers have no cycle', async () => {
    const result = await build({
      entryPoints: ['src/cli/bin.ts', 'src/demo/main.ts', 'src/fleet/agent-main.ts'],
      bundle: true,
      write: false,
      outdir: 'out',
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const upward: string[] = [];
    for (const [file, info] of Object.entries(result.metafile.inputs)) {
      const from = layerOf(file);
      if (from === undefined) continue;
      for (const imp of info.imports) {
        const to = layerOf(imp.path);
        if (to === undefined || to === from) continue;
        const fr = RANK[from];
        const tr = RANK[to];
        expect(fr, `layer of ${file}`).toBeDefined();
        expect(tr, `layer of ${imp.path}`).toBeDefined();
        const edge = `${file} → ${imp.path}`;
        if (tr! > fr! && !(edge in ALLOWED)) upward.push(edge);
      }
    }
    expect(upward).toEqual([]);
    // The allowed edges' targets stay declarations: nothing they import is above the spec layer.
    for (const edge of Object.keys(ALLOWED)) {
      const target = edge.split(' → ')[1]!;
      const deps = result.metafile.inputs[target]?.imports.map((i) => i.path) ?? [];
      const above = deps.filter(
        (d) => (RANK[layerOf(d) ?? 'util'] ?? 0) > RANK.spec! && !d.startsWith('src/analysis/providers/'),
      );
      expect(above, `${target} imports`).toEqual([]);
    }
  });
});
