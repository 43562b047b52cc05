/** Talking to child processes that may die at any moment (killed by the kernel, the OOM killer, a deadline). */
import type { ChildProcess, Serializable } from 'node:child_process';

/**
 * How long a node child in a guest may take to start and say it is ready.
 * It takes 2 to 5 s under TCG; the rest is room for the host holding a
 * guest CPU, seen for 22 to 53 s on the project's machine (a VM itself),
 * and once for more than 55 s (a setpriv'd child of 60-permissions missed
 * a 60 s deadline, 2026-12-04, with nothing in the kernel log). The guest
 * kernels report a CPU stuck that long only after 120 s (lib/vm/qemu's
 * watchdog_thresh and RCU stall timeout), so no child deadline is shorter.
 */
export const CHILD_START_TIMEOUT_MS = 120_000;

/** Whether the child has neither exited nor been killed (as far as its events have told). */
export function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Sends `message` if the channel is still open. A child that died a moment
 * ago can still look alive (its exit event not yet delivered); sending then
 * fails with EPIPE, which without a callback is an 'error' event that
 * crashes the sender. Here it is ignored: the child's exit is how callers
 * learn it is gone. Returns whether the message was handed to the channel.
 */
export function sendIfAlive(child: ChildProcess, message: Serializable): boolean {
  if (!child.connected) return false;
  child.send(message, () => undefined);
  return true;
}
