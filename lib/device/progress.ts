/**
 * Where a process that may die on a signal leaves its last position: a
 * small file holding [step, page] as two int32 (-1: none), which the process
 * maps MAP_SHARED and writes as it goes, and its parent reads after it died.
 * Used by runIsolated() and by the cell runner's probe.
 */
import * as fs from 'node:fs';
import { mapFd, type Mapping } from './mapping';
import { native, nativeConstants } from './native';

export const PROGRESS_BYTES = 8;

/** The two cells as the writer sees them. */
export interface Progress {
  step: Int32Array;
  page: Int32Array;
}

/** Creates (or resets) the file: step and page both -1. */
export function resetProgressFile(file: string): void {
  fs.writeFileSync(file, Buffer.alloc(PROGRESS_BYTES, 0xff));
}

/** What the file holds now; -1 for a cell never written. */
export function readProgressFile(file: string): { step: number; page: number } {
  const b = fs.readFileSync(file);
  return { step: b.readInt32LE(0), page: b.readInt32LE(4) };
}

/** Maps the file shared, for the writer; the mapping lives as long as the returned object. */
export function mapProgressFile(file: string): Progress & { mapping: Mapping } {
  const fd = native().open(file, nativeConstants().sys.O_RDWR);
  try {
    const mapping = mapFd(fd, PROGRESS_BYTES);
    return { mapping, step: new Int32Array(mapping.buffer, 0, 1), page: new Int32Array(mapping.buffer, 4, 1) };
  } finally {
    native().close(fd);
  }
}
