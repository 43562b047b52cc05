/** Running the guest mocha suite inside the VM, one event per test. */
import * as path from 'node:path';
import Mocha from 'mocha';
import { CHILD_START_TIMEOUT_MS } from '../util/child';
import type { GuestTest } from '../vm/job';

export function runGuestSuite(files: string[], onTest: (t: GuestTest) => void): Promise<number> {
  // A test's default deadline leaves a child's start deadline (CHILD_START_TIMEOUT_MS) a minute of room.
  const mocha = new Mocha({ timeout: CHILD_START_TIMEOUT_MS + 60_000, reporter: 'spec' });
  for (const f of files) mocha.addFile(f);
  return new Promise((resolve) => {
    const runner = mocha.run((failures) => resolve(failures));
    const record = (test: Mocha.Test, state: GuestTest['state'], err?: Error): void =>
      onTest({
        title: test.title,
        fullTitle: test.fullTitle(),
        state,
        durationMs: test.duration ?? 0,
        ...(test.file ? { file: path.basename(test.file) } : {}),
        ...(err ? { error: err.stack ?? err.message } : {}),
      });
    runner.on('pass', (t) => record(t, 'passed'));
    runner.on('fail', (t, err: Error) => record(t, 'failed', err));
    runner.on('pending', (t) => record(t, 'pending'));
  });
}
