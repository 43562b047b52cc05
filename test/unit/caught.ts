/** Shared by the unit tests: run fn, which must throw a MmaplabError, and return it. */
import { strict as assert } from 'node:assert';
import { MmaplabError } from '../../lib/util/errors';

export function caught(fn: () => unknown): MmaplabError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MmaplabError, `expected MmaplabError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an exception');
}

/** As caught, for a promise: it must reject with a MmaplabError, which is returned. */
export async function rejected(promise: Promise<unknown>): Promise<MmaplabError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof MmaplabError, `expected MmaplabError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
