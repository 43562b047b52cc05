// ESLint over the TypeScript of lib/ and test/, type-aware through
// tsconfig.json, and over the plain JavaScript that runs before anything is
// compiled (scripts/, the example hook, this file). `npm run lint`; the unit
// test test/unit/style-ts keeps the tree clean under it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

/** The globals node gives every script, CommonJS or module. */
const NODE_GLOBALS = {
  Buffer: 'readonly',
  clearTimeout: 'readonly',
  console: 'readonly',
  process: 'readonly',
  setTimeout: 'readonly',
};

/** What a CommonJS script has besides (sourceType commonjs adds require, module and exports). */
const COMMONJS_GLOBALS = { __dirname: 'readonly', __filename: 'readonly' };

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', '.cache/', 'build/', 'prebuilds/', 'runs/', 'kmod/', 'native/', 'docs/run/']),
  {
    // A disable comment that no longer disables anything goes.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: ROOT },
    },
    rules: {
      // No `any` at all: a value of unknown shape is `unknown`, and narrowed.
      '@typescript-eslint/no-explicit-any': 'error',
      // tsc's own convention (noUnusedLocals, noUnusedParameters): a leading
      // underscore names what is left unused on purpose, such as a field
      // destructured away or a `using` binding held for its disposal.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // A test's stub of an async interface (a VM runner, a minimiser's
    // predicate) is an async function with nothing to await.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: NODE_GLOBALS },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...NODE_GLOBALS, ...COMMONJS_GLOBALS } },
  },
  {
    rules: {
      eqeqeq: 'error',
      // A command-line tool: the console is its output.
      'no-console': 'off',
    },
  },
]);
