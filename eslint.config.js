// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'schema/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: true },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The pure core never does I/O: no node built-ins, no HTTP, no GitHub.
    files: ['src/plan/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:*',
            'undici',
            '@actions/*',
            '@octokit/*',
            '../engine/*',
            '../state/*',
            '../cli/*',
            '../github/*',
          ],
        },
      ],
    },
  },
  {
    // The core never imports GitHub code: GitHub is one adapter.
    files: ['src/spec/**/*.ts', 'src/plan/**/*.ts', 'src/engine/**/*.ts', 'src/state/**/*.ts', 'src/analysis/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@actions/*', '@octokit/*', '../github/*', '../cli/*'] }],
    },
  },
  // Layers (docs/design.md, "Architecture"): each imports only the layers below it, so
  // there are no cycles between them (test/architecture/layers.test.ts checks the graph).
  {
    files: ['src/state/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['@actions/*', '@octokit/*', '../github/*', '../cli/*', '../app/*', '../engine/*'] },
      ],
    },
  },
  {
    files: ['src/engine/**/*.ts', 'src/analysis/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['@actions/*', '@octokit/*', '../github/*', '../cli/*', '../app/*'] },
      ],
    },
  },
  {
    files: ['src/github/**/*.ts', 'src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../cli/*'] }],
    },
  },
  {
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../cli/*', '../github/*'] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
