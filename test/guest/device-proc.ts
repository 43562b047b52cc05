/** Shared by the guest suites that map the device: what the process maps, and the code of what a call threw. */
import * as fs from 'node:fs';
import { isSyscallError } from '../../lib/device';

/** Lines of /proc/self/maps that map the device. */
export function deviceMaps(): string[] {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('/dev/mmaplab'));
}

/** The errno name of a failed system call, or the code of any other error that has one. */
export function code(err: unknown): string | undefined {
  return isSyscallError(err) ? err.code : (err as { code?: string }).code;
}
