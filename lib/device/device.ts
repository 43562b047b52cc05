/**
 * One session of /dev/mmaplab: open, CONFIGURE (allocator, mapping method,
 * size), FILL / VERIFY the seeded pattern, mmap, close.
 *
 * Every system-call failure is thrown unchanged from the addon (code, errno,
 * syscall): a refusal by the module is an answer, not a bug. Mappings outlive
 * close(), as they do in C: the mapping holds its own reference to the file.
 */
import { deviceError } from './errors';
import {
  ALLOCATORS,
  type AllocName,
  assertLayout,
  type ConfigStruct,
  CONFIG_LAYOUT,
  decode,
  encode,
  FILL_LAYOUT,
  METHODS,
  type MethodName,
  NO_MISMATCH,
  REQUESTS,
  type StructLayout,
  type StructValues,
  VERIFY_LAYOUT,
} from './layout';
import { mapFd, type Mapping, type MmapOptions } from './mapping';
import { native, nativeConstants, type RequestName } from './native';

export const DEFAULT_DEVICE_PATH = '/dev/mmaplab';

export interface OpenOptions {
  /** O_RDWR ('rw', the default) or O_RDONLY ('r'). O_CLOEXEC is always set. */
  access?: 'r' | 'rw';
}

export interface ConfigureOptions {
  alloc: AllocName;
  method: MethodName;
  /** Bytes: a non-zero multiple of the page size, at most MAX_SIZE (the module checks). */
  size: number | bigint;
}

export interface VerifyResult {
  /** The whole buffer held the pattern. */
  readonly ok: boolean;
  /** Byte offset of the first bad word, or null when ok. */
  readonly mismatch: bigint | null;
  /** The word the pattern wanted at `mismatch` (as the module reported it). */
  readonly expected: number;
  /** The word the buffer held at `mismatch`. */
  readonly found: number;
}

let layoutChecked = false;

export class MmaplabDevice {
  readonly path: string;
  #fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /**
   * Opens a session. Any path works (tests map /dev/zero through it); the
   * ioctls then fail with the file's own errno (ENOTTY). Throws MmaplabError
   * 'ERR_LAYOUT_MISMATCH' if layout.ts disagrees with the built addon.
   */
  static open(path: string = DEFAULT_DEVICE_PATH, options: OpenOptions = {}): MmaplabDevice {
    if (!layoutChecked) {
      assertLayout(nativeConstants());
      layoutChecked = true;
    }
    const sys = nativeConstants().sys;
    const access = options.access ?? 'rw';
    if (access !== 'r' && access !== 'rw') {
      throw deviceError('ERR_INVALID_ARG', `access must be 'r' or 'rw', got ${String(access)}`);
    }
    const flags = (access === 'rw' ? sys.O_RDWR : sys.O_RDONLY) | sys.O_CLOEXEC;
    return new MmaplabDevice(path, native().open(path, flags));
  }

  /** The file descriptor. Throws MmaplabError 'ERR_DEVICE_CLOSED' after close(). */
  get fd(): number {
    if (this.#fd < 0) {
      throw deviceError('ERR_DEVICE_CLOSED', `${this.path} was closed; open a new session`);
    }
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** CONFIGURE: allocate the session's buffer. */
  configure(options: ConfigureOptions): void {
    if (!Object.hasOwn(ALLOCATORS, options.alloc)) {
      throw deviceError(
        'ERR_INVALID_ARG',
        `unknown allocator ${String(options.alloc)}; expected one of ${Object.keys(ALLOCATORS).join(', ')}`,
      );
    }
    if (!Object.hasOwn(METHODS, options.method)) {
      throw deviceError(
        'ERR_INVALID_ARG',
        `unknown mapping method ${String(options.method)}; expected one of ${Object.keys(METHODS).join(', ')}`,
      );
    }
    this.configureRaw({
      alloc: ALLOCATORS[options.alloc],
      method: METHODS[options.method],
      size: toU64('size', options.size),
      flags: 0,
      reserved: 0,
    });
  }

  /**
   * CONFIGURE with the struct exactly as given: for experiments that check
   * the module refuses bad input (unknown enums, non-zero reserved fields,
   * sizes that are zero, huge or not page multiples).
   */
  configureRaw(config: ConfigStruct): void {
    this.#ioctl('CONFIGURE', CONFIG_LAYOUT, config);
  }

  /** FILL: the module writes the pattern for `seed` over the whole buffer. */
  fill(seed: number): void {
    this.#ioctl('FILL', FILL_LAYOUT, { seed, reserved: 0 });
  }

  /** VERIFY: the module checks the buffer holds the pattern for `seed`. */
  verify(seed: number): VerifyResult {
    const out = this.#ioctl('VERIFY', VERIFY_LAYOUT, {
      seed,
      reserved: 0,
      mismatch: 0n,
      expected: 0,
      found: 0,
    });
    const ok = out.mismatch === NO_MISMATCH;
    return { ok, mismatch: ok ? null : out.mismatch, expected: out.expected, found: out.found };
  }

  /** mmap(2) of the session's buffer (MAP_SHARED, read-write by default). */
  mmap(length: number, options: MmapOptions = {}): Mapping {
    return mapFd(this.fd, length, options);
  }

  /** close(2). Idempotent; mappings stay valid. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    native().close(fd);
  }

  #ioctl<L extends StructLayout>(request: RequestName, layout: L, values: StructValues<L>): StructValues<L> {
    const bytes = encode(layout, values);
    native().ioctl(this.fd, REQUESTS[request], bytes);
    return decode(layout, bytes);
  }
}

function toU64(name: string, value: number | bigint): bigint {
  if (typeof value === 'bigint' && value >= 0n && value <= 0xffff_ffff_ffff_ffffn) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw deviceError('ERR_INVALID_ARG', `${name} must be a non-negative integer, got ${String(value)}`);
}
