import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const REPO_MESSAGE =
  'a module reads and writes its own tables: reach another module through its service, not its repo';

/**
 * Repositories that a module may still import from another, each for a reason: the identity
 * modules write users, members, roles and organisations in one transaction (signup, invites,
 * removal), registration and execution read agents on their hot paths, and deployments pick
 * their machines in the transaction that starts each batch.
 */
const SHARED_REPOS = {
  auth: ['access/access', 'access/invites', 'orgs/orgs', 'apikeys/apikeys'],
  access: ['auth/auth'],
  apikeys: ['access/access'],
  orgs: ['access/access'],
  enrollment: ['agents/agents'],
  execution: ['agents/agents'],
  deployments: ['agents/agents'],
};

/** One rule per module: no value import of another module's repository (types are fine). */
function moduleBoundaries() {
  return readdirSync(new URL('src/server/modules', import.meta.url), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map(({ name }) => ({
      files: [`src/server/modules/${name}/**/*.ts`],
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: ['../*/*.repo.js', ...(SHARED_REPOS[name] ?? []).map((repo) => `!../${repo}.repo.js`)],
                allowTypeImports: true,
                message: REPO_MESSAGE,
              },
            ],
          },
        ],
      },
    }));
}

export default tseslint.config(
  {
    ignores: [
      'dist',
      'node_modules',
      'data',
      'coverage',
      'web/dist',
      'web/src/api/schema.d.ts',
      'test-results',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Fastify plugins are async functions by contract, whether or not they await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Reply bodies in tests are parsed JSON: any is their honest type.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  ...moduleBoundaries(),
  {
    // Transports reach jobs and runs through the execution module's services only.
    files: ['src/server/realtime/**/*.ts', 'src/server/http/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../modules/execution/*.repo.js'], allowTypeImports: true, message: REPO_MESSAGE },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { URL: 'readonly', process: 'readonly', console: 'readonly' } },
  },
);
