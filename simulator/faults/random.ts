/**
 * Mulberry32: a 32-bit seeded generator (Tommy Ettinger's public-domain design), small enough to
 * read, fast, and good enough to spread faults; not for anything cryptographic. The same seed gives
 * the same sequence on every platform, which is what makes a fault campaign repeatable.
 */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
