/** Blocks the calling thread for `ms` (the event loop included): for synchronous code that must wait. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
