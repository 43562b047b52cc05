/** Talking to child processes that may die at any moment (killed by the kernel, the OOM killer, a deadline). */
import type { ChildProcess, Serializable } from 'node:child_process';

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
