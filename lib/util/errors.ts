/**
 * The one error type of the TypeScript side, and the one list of its codes.
 * `code` is stable and meant for programs (tests, CI scripts); the message
 * is for people and says what to do. A code not in ERROR_CODES does not
 * compile. The device API's codes follow Node's own style (ERR_*, as a
 * library's errors do); errno names ('EINVAL') are never MmaplabError codes:
 * a failed system call keeps its errno as the code of a plain Node error.
 */
export const ERROR_CODES = {
  // What the user asked for
  EUSAGE: 'an option, kernel name, build profile or input file is wrong (exit status 2)',
  EINTERRUPTED: 'stopped by SIGINT or SIGTERM; the partial report lists what did not run',
  EHAZARD: '--target host with hazard cells (or check) but without --allow-hazards',
  ENOTROOT: '--target host loads a module with insmod: run it as root',
  // What the host lacks
  ENOQEMU: 'qemu-system-x86_64 is not installed',
  ENOKVM: '--accel kvm, but a probe boot under KVM did not reach the guest agent',
  ENOKERNEL: 'the kernel named is not installed, or a built kernel is not built yet',
  ENOHEADERS: 'no kbuild tree or headers for a kernel',
  ENOMODULES: "a module the guest needs is neither built in nor in the kernel's modules directory",
  EUNBOOTABLE: 'the kernel cannot boot in the VM (no 9p over virtio: the -cloud flavours)',
  ENOTOOL: 'a host tool is missing (static busybox, xz, zstd, mke2fs, debugfs, a compiler)',
  ENOSOURCE: "Debian's linux-source or linux-config package is not installed",
  ENOBUILD: 'the compiled guest suite is missing: run npm run build',
  ENOSUITE: 'test-guest --suite names no suite',
  // Building
  EBZIMAGE: 'a bzImage cannot be parsed or decompressed',
  ERUNTIMEIMAGE: "building the guest's runtime image failed, or an installed package.json is malformed",
  EKMODBUILD: 'building mmaplab.ko or the module under check failed',
  EKBUILD: 'a kernel build failed, or an option of its configuration did not take',
  ECOMPILE: 'compiling the benchmark C program failed',
  // Running VMs and modules
  ERUNDIR: 'the run directory cannot be written (full, read-only or not permitted)',
  EGUEST: "a VM's agent never became ready or failed, or job.json or an event does not fit its schema",
  ERESTORE:
    'saving or restoring a VM template failed, or a control-port or QMP message is malformed (a cold boot is used instead where possible)',
  EMODLOAD: 'insmod failed, the device node did not appear, or module loading is disabled',
  ECHECK: "check could not reach a verdict about the module, or the uses' order or progress file is malformed",
  ECHECKOPEN: "check --target host: the module's device node cannot be opened read-write (in a VM: ECHECK)",
  ECHECKSETUP: 'check --target host: a --setup step or hook failed (in a VM: ECHECK)',
  ECHECKDEVICE: "check --target host: the module's device node never appeared, or mknod failed (in a VM: ECHECK)",
  ECHECKLOAD: 'check --target host: insmod of the module failed (in a VM: ECHECK)',
  // Reports, merge and the other commands' inputs
  EREPORT: 'not an mmaplab report.json, of another version, or not of its schema (the message names the first bad place)',
  EREPORTWRITE: 'the reports cannot be written into --out',
  EFINDINGS: 'the file given to findings --readme has no findings block, or a findings page cannot be written',
  EMERGE: 'the reports given to merge conflict',
  ELOG: 'classify cannot read its input',
  EFUZZ: 'the fuzz worker reported an error',
  EFUZZSEED: 'a fuzz seed is not an integer in [0, 2^32)',
  EFUZZOP: 'a fuzz operation list is malformed',
  EFUZZHAZARDS: 'the fuzzer found the module loaded with allow_hazards set',
  EFUZZBUG: 'the fuzzer could not execute an operation (a bug of mmaplab)',
  EBENCH: 'a benchmark could not measure',
  EBENCHREAD: 'bench.json cannot be read',
  EBENCHFORMAT: 'bench.json is not JSON of the expected shape',
  ECYCLEPROGRAM: "the benchmark's C program failed in the guest",
  ENOVALUES: 'a statistic of no values (a bug of mmaplab)',
  EBADVALUE: 'a statistic of a value that is not finite (a bug of mmaplab)',
  EMALFORMED: "mmaplab's own JSON (its package.json, what a child process is given or prints) is malformed: the message names the place",
  // The kernel log and taint readers
  EKMSGRECORD: 'a record is not in /dev/kmsg format',
  EKMSGOPEN: '/dev/kmsg cannot be opened',
  EKMSGIO: 'reading or writing /dev/kmsg failed',
  ETAINT: '/proc/sys/kernel/tainted cannot be read or holds no number',
  // The device API (lib/device), in Node's style
  ERR_ADDON_LOAD: 'the addon is not built or cannot be loaded; the message says how to build it',
  ERR_LAYOUT_MISMATCH: 'lib/device/layout.ts disagrees with the uapi header the addon was built from',
  ERR_DEVICE_CLOSED: 'a method was called on a device after close()',
  ERR_DEVICE_BUSY: 'close() while an asynchronous call still uses the file descriptor',
  ERR_HAZARD_NOT_REQUESTED: 'configure() of a hazard (a pair, a reserved mark, a splittable BAR) without hazards: true',
  ERR_NOT_CONFIGURED: 'map() without a length before configure() gave the buffer its size',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class MmaplabError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MmaplabError';
    this.code = code;
    this.details = details;
  }
}

/** A failed system call's error (its code an errno name), never one of mmaplab's own. */
export function isErrnoError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && !(err instanceof MmaplabError) && typeof (err as NodeJS.ErrnoException).code === 'string';
}
