/** Shared by the device unit tests: what a thrown error must look like. */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import { isSyscallError, MmaplabError } from '../../lib/device';

/** Runs fn, which must throw, and returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an exception');
}

/** Asserts `fn` throws a Node-style system error and returns it. */
export function assertSyscallError(fn: () => unknown, code: string, syscall: string) {
  const err = thrown(fn);
  assert.ok(isSyscallError(err), `expected a system-call error, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.equal(err.syscall, syscall);
  const errno = (os.constants.errno as Record<string, number>)[code];
  assert.equal(err.errno, -(errno ?? NaN), 'errno is the negative errno number, as in Node');
  assert.ok(err.message.startsWith(`${code}: `), err.message);
  return err;
}

export function assertDeviceError(fn: () => unknown, code: string): void {
  const err = thrown(fn);
  assert.ok(err instanceof MmaplabError, `expected MmaplabError, got ${String(err)}`);
  assert.equal(err.code, code);
}
