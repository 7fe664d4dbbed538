/**
 * Runs `work` on every item with at most `limit` calls in flight, taking items in order, and
 * resolves when all are done. `shouldStop` is asked before each item is taken (an abort, a fatal
 * error): items not yet taken are then left alone. The first error thrown by `work` rejects the
 * whole (after the calls in flight have ended), so callers that want to go on catch inside `work`.
 */
export async function forEachConcurrent<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure && !shouldStop()) {
      const index = next;
      next += 1;
      try {
        await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const lanes = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure) throw failure.error;
}
