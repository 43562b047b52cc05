/**
 * Error codes lib/kmsg throws, as MmaplabError.code (the project's one error
 * type). Callers branch on the code; the message says what to do.
 */

export const KMSG_ERRORS = {
  /** A record (or a line of a kmsg text file) is not in /dev/kmsg format. */
  malformed: 'EKMSGRECORD',
  /** /dev/kmsg (or the given path) could not be opened. */
  open: 'EKMSGOPEN',
  /** read()/write() on /dev/kmsg failed with something other than EAGAIN/EPIPE/EINTR. */
  io: 'EKMSGIO',
  /** /proc/sys/kernel/tainted was unreadable or did not hold a number. */
  taint: 'ETAINT',
} as const;

export type KmsgErrorCode = (typeof KMSG_ERRORS)[keyof typeof KMSG_ERRORS];
