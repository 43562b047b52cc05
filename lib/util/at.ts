/**
 * The element at `index` of `items`, which must be there: an index out of
 * range is a bug of mmaplab, and the Error names `what` was missing rather
 * than letting undefined travel on as a value.
 */
export function at<T>(items: ArrayLike<T>, index: number, what: string): T {
  if (!Number.isInteger(index) || index < 0 || index >= items.length) {
    throw new Error(`${what}: no element at index ${index} of ${items.length}`);
  }
  return items[index] as T; // in range, checked above
}

/**
 * The value of `key` in `map`, which must be there: a missing key is a bug
 * of mmaplab (the map was filled from the same list), and the Error names
 * `what` was missing.
 */
export function got<K, V>(map: ReadonlyMap<K, V>, key: K, what: string): V {
  if (!map.has(key)) throw new Error(`${what}: no entry for ${String(key)}`);
  return map.get(key) as V; // present, checked above
}
