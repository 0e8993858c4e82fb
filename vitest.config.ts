import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    server: {
      deps: {
        // Imports its JSON schema without an import attribute, which Node 20 refuses natively:
        // let Vite transform it (test/workflows/parser.test.ts).
        inline: ['@actions/workflow-parser'],
      },
    },
  },
});
