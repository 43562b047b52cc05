/**
 * Errors of lib/device.
 *
 * Two kinds reach a caller:
 *
 * - System-call failures come from the addon unchanged. They look like Node's
 *   own fs errors: `code` is the errno name ('EINVAL'), `errno` the negative
 *   errno number, `syscall` the call that failed ('open', 'ioctl', 'mmap',
 *   'munmap', 'msync', 'mremap', 'mprotect', 'madvise', 'mincore',
 *   'close'); `open` errors also carry `path`. Using a mapping after it was
 *   unmapped throws the same shape with code 'EALREADY'; unmapping, moving
 *   or reprotecting one while an asynchronous call uses it, code 'EBUSY'.
 *   {@link isSyscallError} recognises them. A refusal by the kernel module
 *   is one of these: it is evidence, not a bug.
 * - Bad arguments, found before any system call, throw as Node's own
 *   functions do: TypeError with code 'ERR_INVALID_ARG_TYPE' (wrong type) or
 *   'ERR_INVALID_ARG_VALUE' (an unknown name, say), RangeError with code
 *   'ERR_OUT_OF_RANGE' (a number outside its range, an offset that is not a
 *   page multiple), TypeError 'ERR_MISSING_ARGS' from the raw addon.
 *   {@link isArgumentError} recognises them.
 * - Misuse of state (a closed device, a hazard not asked for, a layout that
 *   disagrees with the built addon) throws the project's one error class,
 *   {@link MmaplabError}, with a {@link DeviceErrorCode}.
 */
import * as os from 'node:os';
import { type ErrorCode, MmaplabError } from '../util/errors';

export { MmaplabError };

/** The device API's own codes: the ERR_* entries of the one list (lib/util/errors.ts), which says what each means. */
export type DeviceErrorCode = Extract<ErrorCode, `ERR_${string}`>;

export type ArgumentErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

/** A bad argument, shaped like Node's own (TypeError or RangeError with a code). */
export type ArgumentError = (TypeError | RangeError) & { readonly code: ArgumentErrorCode };

function withCode<E extends Error>(err: E, code: ArgumentErrorCode): E & { readonly code: ArgumentErrorCode } {
  Object.defineProperty(err, 'code', { value: code, enumerable: true, configurable: true, writable: true });
  return err as E & { readonly code: ArgumentErrorCode };
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : `an instance of ${value.constructor?.name ?? 'Object'}`;
}

/** TypeError 'ERR_INVALID_ARG_TYPE': `name` must be `expected`. */
export function invalidArgType(name: string, expected: string, value: unknown): TypeError & { readonly code: ArgumentErrorCode } {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${show(value)}`), 'ERR_INVALID_ARG_TYPE');
}

/** TypeError 'ERR_INVALID_ARG_VALUE': right type, unusable value. */
export function invalidArgValue(name: string, expected: string, value: unknown): TypeError & { readonly code: ArgumentErrorCode } {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${show(value)}`), 'ERR_INVALID_ARG_VALUE');
}

/** RangeError 'ERR_OUT_OF_RANGE'. */
export function outOfRange(name: string, expected: string, value: unknown): RangeError & { readonly code: ArgumentErrorCode } {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${show(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

export function isArgumentError(err: unknown): err is ArgumentError {
  if (!(err instanceof TypeError || err instanceof RangeError)) return false;
  const code = (err as { code?: unknown }).code;
  return code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_OUT_OF_RANGE';
}

/** A failed system call, as thrown by the addon (and by Node's fs). */
export interface SyscallError extends Error {
  readonly code: string;
  /** Negative errno, as in Node's fs errors (-2 for ENOENT). */
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;
}

export function isSyscallError(err: unknown): err is SyscallError {
  if (!(err instanceof Error)) return false;
  const e = err as Error & Record<string, unknown>;
  return typeof e.code === 'string' && typeof e.errno === 'number' && typeof e.syscall === 'string';
}

/**
 * A system-call failure found in TypeScript, shaped like the addon's (for a
 * kernel answer the addon cannot see: an address MAP_FIXED_NOREPLACE did
 * not honour).
 */
export function syscallError(code: keyof typeof os.constants.errno, syscall: string, description: string): SyscallError {
  const err = new Error(`${code}: ${description}, ${syscall}`);
  Object.assign(err, { errno: -os.constants.errno[code], code, syscall });
  return err as SyscallError;
}

/**
 * Linux errnos that never reach userspace from a system call but can be a
 * kernel API's answer (include/linux/errno.h), so mmaplab_last_error.error
 * may hold them.
 */
const KERNEL_ERRNOS: Readonly<Record<number, string>> = {
  512: 'ERESTARTSYS',
  513: 'ERESTARTNOINTR',
  514: 'ERESTARTNOHAND',
  515: 'ENOIOCTLCMD',
  516: 'ERESTART_RESTARTBLOCK',
  517: 'EPROBE_DEFER',
  518: 'EOPENSTALE',
  519: 'ENOPARAM',
  521: 'EBADHANDLE',
  522: 'ENOTSYNC',
  523: 'EBADCOOKIE',
  524: 'ENOTSUPP',
  525: 'ETOOSMALL',
  526: 'ESERVERFAULT',
  527: 'EBADTYPE',
  528: 'EJUKEBOX',
  529: 'EIOCBQUEUED',
  530: 'ERECALLCONFLICT',
};

/** Aliases of another errno's name; the addon (strerrorname_np) uses the other. */
const ERRNO_ALIASES: ReadonlySet<string> = new Set(['EWOULDBLOCK', 'EDEADLOCK', 'ENOTSUP']);

let errnoNames: Map<number, string> | undefined;

/**
 * The name of an errno ('EINVAL' for 22 or -22, as the addon names it), a
 * kernel-internal one ('ENOTSUPP' for 524), or null for 0 and numbers
 * without a name.
 */
export function errnoName(errno: number): string | null {
  if (!Number.isInteger(errno) || errno === 0) return null;
  if (errnoNames === undefined) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(os.constants.errno)) {
      if (!ERRNO_ALIASES.has(name) || !errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  const n = Math.abs(errno);
  return errnoNames.get(n) ?? KERNEL_ERRNOS[n] ?? null;
}

export function deviceError(code: DeviceErrorCode, message: string, details: Record<string, unknown> = {}): MmaplabError {
  return new MmaplabError(code, message, details);
}
