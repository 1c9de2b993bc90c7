import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An event of events/ (the fixtures `serverless invoke local` takes), parsed. */
export function fixture(name: string): Record<string, unknown>;
export function fixture<T>(name: string): T;
export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(__dirname, '../events', name), 'utf8'));
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
