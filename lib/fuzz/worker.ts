/**
 * The fuzz worker process (forked by runFuzzJob in lib/fuzz/run.ts): waits
 * for its start message, runs the loop, reports over IPC and exits.
 */
import { fuzzLoop } from './run';
import type { WorkerMessage, WorkerStart } from './types';

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('the fuzz worker needs an IPC channel (fork it)'));
      return;
    }
    process.send(m, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

process.once('message', (start: WorkerStart) => {
  fuzzLoop(start, send).then(
    () => process.disconnect(),
    (err: unknown) => {
      process.stderr.write(`fuzz worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 3;
      process.disconnect();
    },
  );
});
