/** Shared by the device unit tests: what a thrown error must look like. */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import { type ArgumentError, type ArgumentErrorCode, isArgumentError, isSyscallError, MmaplabError } from '../../lib/device';

/** Runs fn, which must throw, and returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an exception');
}

/** Asserts `fn` throws a TypeError with an ERR_* code, as Node-API argument checks do. */
export function assertTypeError(label: string, fn: () => unknown): void {
  const err = thrown(fn);
  assert.ok(err instanceof TypeError, `${label}: expected TypeError, got ${String(err)}`);
  const code = (err as TypeError & { code?: unknown }).code;
  assert.ok(typeof code === 'string' && code.startsWith('ERR_'), `${label}: code ${String(code)}`);
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

/**
 * Asserts `fn` throws a bad-argument error shaped like Node's: TypeError
 * ('ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE') or RangeError
 * ('ERR_OUT_OF_RANGE'). `code`, when given, must match.
 */
export function assertArgError(fn: () => unknown, code?: ArgumentErrorCode): ArgumentError {
  const err = thrown(fn);
  assert.ok(isArgumentError(err), `expected a TypeError/RangeError with an ERR_ code, got ${String(err)}`);
  if (code !== undefined) assert.equal(err.code, code, err.message);
  assert.equal(err instanceof RangeError, err.code === 'ERR_OUT_OF_RANGE', 'RangeError exactly for ERR_OUT_OF_RANGE');
  return err;
}
