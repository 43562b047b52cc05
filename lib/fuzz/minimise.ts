/**
 * Delta debugging over an operation list: find a short subsequence for
 * which `reproduces` still says yes. Pure: it knows nothing of VMs or
 * devices, only the callback, which the host implements by replaying the
 * candidate in a fresh guest.
 *
 * The complement-removal form of Zeller's ddmin: the current list is split
 * into n chunks and each chunk in turn is removed, keeping every removal
 * after which the failure still reproduces (so one pass drops every chunk
 * that is not needed, rather than restarting after the first). A pass that
 * removes nothing doubles n, until the chunks are single operations; a pass
 * at that granularity that removes nothing ends it, and the result is
 * 1-minimal (removing any one operation loses the failure). Subsets on
 * their own are not tried: a fuzz failure nearly always needs operations
 * from far apart (the open and CONFIGURE at the start, the trigger at the
 * end), and replays are expensive (a boot each). For the same reason the
 * number of calls is bounded; when the bound is reached the shortest list
 * found so far is returned, marked incomplete. A candidate already tried is
 * never tried again.
 */
import { at } from '../util/at';

export interface MinimiseOptions<T> {
  /** Most calls of `reproduces` (default 30). */
  maxTests?: number;
  /**
   * Guesses tried first, in order, each on the list as it stands then (say,
   * "without the operations that did nothing"): a guess that is shorter,
   * is a subsequence of it and reproduces replaces it. They count against
   * maxTests.
   */
  hints?: ReadonlyArray<(current: readonly T[]) => readonly T[]>;
  /** Called after every test (for progress output). */
  onTest?: (candidate: readonly T[], reproduced: boolean, tests: number) => void;
}

export interface MinimiseResult<T> {
  /** The shortest reproducing list found (the input itself if nothing shorter reproduced). */
  items: T[];
  /** Calls of `reproduces` made. */
  tests: number;
  /** ddmin ran to the end: `items` is 1-minimal. False when the budget ran out first. */
  complete: boolean;
}

export const DEFAULT_MAX_TESTS = 30;

/** Split `c` into n chunks of nearly equal length (the first ones one longer). */
function split<T>(c: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const len = Math.floor(c.length / n) + (i < c.length % n ? 1 : 0);
    out.push(c.slice(start, start + len));
    start += len;
  }
  return out.filter((x) => x.length > 0);
}

/**
 * The input is assumed to reproduce (the caller saw it fail); it is not
 * tested again. Positions in the input identify elements, so equal
 * elements at different places stay distinct.
 */
export async function minimise<T>(
  items: readonly T[],
  reproduces: (candidate: T[]) => Promise<boolean>,
  options: MinimiseOptions<T> = {},
): Promise<MinimiseResult<T>> {
  const maxTests = options.maxTests ?? DEFAULT_MAX_TESTS;
  const tried = new Map<string, boolean>();
  let tests = 0;
  /** The input's elements at these positions. */
  const itemsAt = (positions: readonly number[]): T[] => positions.map((i) => at(items, i, 'a position in the input'));

  /** Test a candidate given as input positions; undefined when the budget is spent. */
  const test = async (candidate: readonly number[]): Promise<boolean | undefined> => {
    const key = candidate.join(',');
    const known = tried.get(key);
    if (known !== undefined) return known;
    if (tests >= maxTests) return undefined;
    tests++;
    const list = itemsAt(candidate);
    const ok = await reproduces(list);
    tried.set(key, ok);
    options.onTest?.(list, ok, tests);
    return ok;
  };

  let c: number[] = items.map((_, i) => i);
  tried.set(c.join(','), true);

  for (const hint of options.hints ?? []) {
    const positions = positionsOf(hint(itemsAt(c)), c, items);
    if (positions === null || positions.length >= c.length) continue;
    const ok = await test(positions);
    if (ok === undefined) return done(false);
    if (ok) c = positions;
  }

  let n = 2;
  while (c.length >= 2) {
    n = Math.min(n, c.length);
    const chunks = split(c, n);
    let removed = false;
    // Later chunks first: what comes after the trigger is the likeliest to go.
    for (const chunk of chunks.reverse()) {
      const drop = new Set(chunk);
      const candidate = c.filter((x) => !drop.has(x));
      if (candidate.length === c.length) continue;
      const ok = await test(candidate);
      if (ok === undefined) return done(false);
      if (ok) {
        c = candidate;
        removed = true;
      }
    }
    if (!removed) {
      if (n >= c.length) break;
      n = Math.min(2 * n, c.length);
    }
  }
  // A single element left: it might not even be needed.
  if (c.length === 1) {
    const ok = await test([]);
    if (ok === undefined) return done(false);
    if (ok) c = [];
  }
  return done(true);

  function done(complete: boolean): MinimiseResult<T> {
    return { items: itemsAt(c), tests, complete };
  }
}

/**
 * The input positions of `sub`, a subsequence of the current list `c`
 * (given as input positions), matched element by element in order; null
 * if it is not one.
 */
function positionsOf<T>(sub: readonly T[], c: readonly number[], items: readonly T[]): number[] | null {
  const out: number[] = [];
  let rest = c;
  for (const item of sub) {
    const position = rest.find((p) => items[p] === item);
    if (position === undefined) return null;
    out.push(position);
    rest = rest.slice(rest.indexOf(position) + 1);
  }
  return out;
}
