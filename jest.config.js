/**
 * Test tiers, one jest project each (`npm run test:<tier>`; `npm test` runs them all):
 * unit (pure code), handlers (one function against mocked AWS), integration (functions against the
 * simulator), simulator (the simulator's own fidelity), chaos (fault campaigns), fuzz (generated
 * input), deploy (the packaged CloudFormation template and the definitions it must agree with).
 */
const TIERS = ['unit', 'handlers', 'integration', 'simulator', 'chaos', 'fuzz', 'deploy'];

// A test outside every tier would never run: refuse to start instead.
const { readdirSync } = require('node:fs');
const { join } = require('node:path');
const untiered = readdirSync(join(__dirname, 'test'), { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.test.ts') && !TIERS.includes(file.split(/[\\/]/)[0]));
if (untiered.length > 0) throw new Error(`tests outside every tier (${TIERS.join(', ')}): ${untiered.join(', ')}`);

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: 'tsconfig.json' }],
  },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
  clearMocks: true,
  restoreMocks: true,
};

/** @type {import('jest').Config} */
module.exports = {
  projects: TIERS.map((tier) => ({ ...shared, displayName: tier, roots: [`<rootDir>/test/${tier}`] })),
  // A guard against hangs, not a speed check (jest reads it for every project alike): integration
  // tests run hours of simulated time, which jest's 5 s default cuts short on a busy machine.
  testTimeout: 60_000,
};
