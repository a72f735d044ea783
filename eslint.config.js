// Lint rules that guard the architecture: workflow code stays deterministic and free of Node
// built-ins, promises are never left floating, type-only imports say so, no import cycles, and
// the layers below the activity files know no Temporal.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.venv/**', '.imageproxy/**', '.test-tmp/**', 'dist/**', 'eslint.config.js', 'bin/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Bundled into the Temporal workflow sandbox: no I/O, no Node built-ins, no activity code.
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node built-ins; do I/O in an activity.' })),
          patterns: [{ group: ['../activities/*', '../workers/*', '../client/*'], allowTypeImports: true, message: 'Workflows import only types from activities.' }],
        },
      ],
    },
  },
  {
    // Transports, cache, images, sites …: plain code with plain errors (common/errors.ts ImageProxyError);
    // the activity files in activities/*.ts are the Temporal boundary (activities/application-failure-of.ts).
    files: ['activities/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@temporalio/*'], message: 'No Temporal below activities/*.ts: throw ImageProxyError; the activity turns it into an ApplicationFailure.' }] },
      ],
    },
  },
);
