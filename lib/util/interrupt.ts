/**
 * Ctrl-C and SIGTERM: the first one stops the run. Every QEMU the run
 * started is killed at once (each registered itself while it runs), no new
 * one starts (boot throws EINTERRUPTED), and the commands end the way they
 * end after any failure: a matrix writes its partial report and lists what
 * did not run. A second signal exits at once. The exit status is the
 * shell's for the signal: 130 for SIGINT, 143 for SIGTERM.
 */
import { MmaplabError } from './errors';

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

let received: NodeJS.Signals | null = null;
const stoppers = new Set<() => void>();

/** The signal that stopped the run, or null. */
export function interruptedBy(): NodeJS.Signals | null {
  return received;
}

/** Call `stop` when the run is interrupted; the returned function unregisters it. */
export function onInterrupt(stop: () => void): () => void {
  stoppers.add(stop);
  return () => stoppers.delete(stop);
}

export function interruptError(): MmaplabError {
  return new MmaplabError('EINTERRUPTED', `stopped by ${received ?? 'a signal'}`, { signal: received });
}

/** Throw EINTERRUPTED once a signal has stopped the run (before starting anything new). */
export function throwIfInterrupted(): void {
  if (received !== null) throw interruptError();
}

/** The exit status after the run was stopped by `signal`: 128 + its number. */
export function interruptExitStatus(signal: NodeJS.Signals): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 1);
}

/** What the first signal does (exported for tests: no real signal needed). */
export function interrupt(signal: NodeJS.Signals, say: (line: string) => void): void {
  if (received !== null) {
    say(`mmaplab: ${signal} again: exiting now`);
    process.exit(interruptExitStatus(signal));
  }
  received = signal;
  say(`mmaplab: ${signal}: stopping${stoppers.size > 0 ? ` (${stoppers.size} VM(s) killed)` : ''}`);
  for (const stop of [...stoppers]) stop();
}

/** Take SIGINT and SIGTERM for the rest of the process (the CLI does, once). */
export function installInterruptHandlers(say: (line: string) => void): void {
  for (const signal of Object.keys(SIGNAL_NUMBERS) as NodeJS.Signals[]) {
    process.on(signal, () => interrupt(signal, say));
  }
}

/** Forget a signal and every stopper (tests only). */
export function resetInterruptForTests(): void {
  received = null;
  stoppers.clear();
}
