import { at } from './at';

/**
 * Run asynchronous tasks with at most `jobs` in flight, starting them in
 * order. Results come back in the tasks' order, whatever order they end in.
 * The first failure is thrown once the tasks already running have settled
 * (no new task starts after it), so no VM is left running unobserved.
 */
export async function runPool<T>(tasks: readonly (() => Promise<T>)[], jobs: number): Promise<T[]> {
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a whole number >= 1, got ${jobs}`);
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < tasks.length) {
      const i = next++;
      try {
        results[i] = await at(tasks, i, 'a task of the pool')();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}
