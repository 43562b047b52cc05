/**
 * Edits of parsed JSON by path, for tests that bend a valid document out of
 * shape to see what its reader says. A path is written as the schema errors
 * print one: names joined by dots, list indices in brackets
 * ('cells[3].size'). Every step but the last must exist, so a path that no
 * longer fits the document fails the test instead of editing nothing.
 */
import { strict as assert } from 'node:assert';

/** 'a[1].b' -> ['a', '1', 'b']. */
function stepsOf(path: string): string[] {
  return [...path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

/** The object or list that holds the last step of `path` in `doc`, and that step. */
function holderOf(doc: unknown, path: string): { holder: Record<string, unknown>; key: string } {
  const steps = stepsOf(path);
  const key = steps.pop();
  assert.ok(key !== undefined, 'an empty path');
  let holder = doc;
  for (const step of steps) {
    assert.ok(typeof holder === 'object' && holder !== null, `${path}: no object or list on the way to ${step}`);
    holder = (holder as Record<string, unknown>)[step];
  }
  assert.ok(typeof holder === 'object' && holder !== null, `${path}: no object or list holds ${key}`);
  return { holder: holder as Record<string, unknown>, key };
}

/** Sets the value at `path`, adding the last step if it is not there. */
export function setAt(doc: unknown, path: string, value: unknown): void {
  const { holder, key } = holderOf(doc, path);
  holder[key] = value;
}

/** Removes the member at `path`, which must be there. */
export function deleteAt(doc: unknown, path: string): void {
  const { holder, key } = holderOf(doc, path);
  assert.ok(key in holder, `${path}: nothing to delete`);
  delete holder[key];
}
