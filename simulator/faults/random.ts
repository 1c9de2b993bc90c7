import { Random as SeededGenerator } from '../world/random';

/**
 * The fault layer draws from the simulator's one seeded generator (mulberry32, world/random.ts):
 * the same seed gives the same sequence on every platform, which makes a fault campaign repeatable.
 */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  const generator = new SeededGenerator(seed);
  return () => generator.next();
}
