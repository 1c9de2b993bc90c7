/** Splits `items` into consecutive batches of at most `size`: AWS's per-call limits. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/** `items` by `key`, groups and their items in first-seen order. */
export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** The batches of at most `size` items of each group (a cluster, an Auto Scaling group): one call each. */
export function batchesBy<T>(items: readonly T[], key: (item: T) => string, size: number): { group: string; batch: T[] }[] {
  return [...groupBy(items, key)].flatMap(([group, members]) => chunk(members, size).map((batch) => ({ group, batch })));
}

/** Runs `task` over `items` with at most `limit` running at once; `task` handles its own errors. */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
