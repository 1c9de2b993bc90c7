import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../lib/config';

/** An event of events/ (the fixtures `serverless invoke local` takes), parsed. */
export function fixture(name: string): Record<string, unknown>;
export function fixture<T>(name: string): T;
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(__dirname, '../events', name), 'utf8'));
}

/** The problems a configuration loader reports; the test fails when it does not throw a ConfigError. */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** What `promise` rejects with; the test fails when it resolves. */
export function rejection<T = Error>(promise: Promise<unknown>): Promise<T> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as T,
  );
}
