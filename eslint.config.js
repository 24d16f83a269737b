// `npm run lint`: ESLint with typescript-eslint's type-aware recommended rules over src/, test/ and bench/.
// A rule turned off or relaxed here says why on its line.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Build output, dependencies, and what `ovs up`, the tests and the benchmarks leave in the tree.
  { ignores: ['dist/', 'node_modules/', '.ovs/', 'test-artifacts/', 'scratch/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An async function without await is how a method of a Promise-returning interface turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // Name validators reject control characters and NUL on purpose; the rule is for ones typed by accident.
      'no-control-regex': 'off',
      // `{ drop: _d, ...rest }` is how an object loses a key, and `_x` marks a parameter a signature needs but the body does not.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  // Plain JavaScript (this file, scripts/) is outside tsconfig.json: no type information to check it with.
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly' } },
  },
);
