import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** The suite in four projects, from the cheapest to the slowest: `npm test -- --project unit` runs one. */
const PROJECTS = {
  // Pure functions and printed schemas: no port, no process.
  unit: 'test/unit/**/*.test.ts',
  // The app over real ports in this process, with a real upstream (the emulator or a fault server).
  integration: 'test/integration/**/*.test.ts',
  // The gateway as `npm start` runs it, in its own process.
  process: 'test/process/**/*.test.ts',
  // What operators run: the Dockerfile, the manifests, the README's and docs' commands.
  operations: 'test/operations/**/*.test.ts',
};

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; tests would get one and Pothos/Yoga the other
    // ("Cannot use GraphQLScalarType from another module or realm"). One file for all.
    alias: [
      { find: /^graphql$/, replacement: fileURLToPath(new URL('node_modules/graphql/index.js', import.meta.url)) },
    ],
  },
  test: {
    // Both cores: the process and integration tests mostly wait on sockets and child processes.
    maxWorkers: 2,
    testTimeout: 15_000,
    hookTimeout: 20_000,
    projects: Object.entries(PROJECTS).map(([name, include]) => ({
      extends: true,
      // `npm start` with NODE_ENV=production runs dist/: the process tests build it first.
      test: { name, include: [include], ...(name === 'process' && { globalSetup: ['test/helpers/build.ts'] }) },
    })),
  },
});
