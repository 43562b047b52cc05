/**
 * Files written before the names settled on the uapi header's words (alloc
 * and method) call a method `technique`: a report's file-backed results and
 * a bench.json's rows. Readers rename the old key before checking the file,
 * so an old file reads as a new one; nothing else of it changes.
 */

/** Keys written under an older name, and the name that replaced them. */
const LEGACY_KEYS: readonly (readonly [old: string, now: string])[] = [['technique', 'method']];

/**
 * `value` with every object key of LEGACY_KEYS renamed, at any depth (in
 * place; returns it). A for-in walk: a report holds hundreds of thousands
 * of objects, and Object.entries() of each costs more than the parse.
 */
export function renameLegacyKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (const item of value) renameLegacyKeys(item);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key in obj) renameLegacyKeys(obj[key]);
    for (const [old, now] of LEGACY_KEYS) {
      if (Object.hasOwn(obj, old) && !Object.hasOwn(obj, now)) {
        obj[now] = obj[old];
        delete obj[old];
      }
    }
  }
  return value;
}
