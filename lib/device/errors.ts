/**
 * Errors of lib/device.
 *
 * Two kinds reach a caller:
 *
 * - System-call failures come from the addon unchanged. They look like Node's
 *   own fs errors: `code` is the errno name ('EINVAL'), `errno` the negative
 *   errno number, `syscall` the call that failed ('open', 'ioctl', 'mmap',
 *   'munmap', 'msync', 'close'); `open` errors also carry `path`. A mapping
 *   that is unmapped (or msync'ed) after it was already unmapped throws the
 *   same shape with code 'EALREADY'. {@link isSyscallError} recognises them.
 *   A refusal by the kernel module is one of these: it is evidence, not a bug.
 * - Misuse found on the TypeScript side (a closed device, an unknown allocator
 *   name, a layout that disagrees with the built addon) throws the project's
 *   one error class, {@link MmaplabError}, with a {@link DeviceErrorCode}.
 *   Misuse of the raw addon (wrong argument types) throws TypeError with code
 *   'ERR_INVALID_ARG_TYPE' / 'ERR_INVALID_ARG_VALUE' / 'ERR_MISSING_ARGS'.
 */
import * as os from 'node:os';
import { MmaplabError } from '../util/errors';

export { MmaplabError };

export type DeviceErrorCode =
  /** The addon is not built (or not loadable); the message says how to build it. */
  | 'ERR_ADDON_LOAD'
  /** lib/device/layout.ts disagrees with the uapi header the addon was built from. */
  | 'ERR_LAYOUT_MISMATCH'
  /** A method was called on a device after close(). */
  | 'ERR_DEVICE_CLOSED'
  /** An argument the TypeScript side checks (names, integer ranges) is unusable. */
  | 'ERR_INVALID_ARG';

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

export function deviceError(
  code: DeviceErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): MmaplabError {
  return new MmaplabError(code, message, details);
}
