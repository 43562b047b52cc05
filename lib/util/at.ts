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
