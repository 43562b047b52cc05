/**
 * The fsync-other-fd trigger: another process fsync()s its own descriptor of
 * the same open file. Starting a process under emulation can take seconds
 * (node's first start under TCG: about a second; far more on a loaded
 * machine), longer than a trigger may take to fire: so the helper is started
 * and ready before the writes, and only told to fsync after them. It reports
 * when its fsync began and ended on CLOCK_MONOTONIC (what process.hrtime and
 * the module's ktime_get_ns() both read), so the measurement knows when the
 * trigger fired.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describeStuck, snapshotStuck } from '../runner/stuck';
import { CHILD_START_TIMEOUT_MS, running } from '../util/child';

/** When the helper's fsync ran (CLOCK_MONOTONIC ns). */
export interface FsyncTiming {
  startNs: bigint;
  endNs: bigint;
}

const CHILD = `
const fs = require('node:fs');
process.stdout.write('ready\\n');
process.stdin.once('data', () => {
  const start = process.hrtime.bigint();
  try {
    fs.fsyncSync(3);
    process.stdout.write('done ' + start + ' ' + process.hrtime.bigint() + '\\n');
  } catch (err) {
    process.stdout.write('error ' + (err.code || err.message) + '\\n');
  }
  process.exit(0);
});
`;

/** How long the helper may take to start, and to answer after "go" (ms). */
export const START_TIMEOUT_MS = CHILD_START_TIMEOUT_MS;
export const FSYNC_TIMEOUT_MS = 30_000;

export class FsyncHelper {
  private lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;

  private constructor(private readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        this.push(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    });
    child.once('exit', () => this.push(null));
  }

  private push(line: string | null): void {
    const w = this.waiting;
    if (w) {
      this.waiting = null;
      w(line);
    } else if (line !== null) this.lines.push(line);
  }

  private nextLine(timeoutMs: number, what: string): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        // Where it is (running, or waiting in the kernel, and on what) tells a hang from a slow start.
        const where = this.child.pid === undefined ? 'no pid' : describeStuck(snapshotStuck(this.child.pid));
        reject(new Error(`the fsync helper did not ${what} within ${timeoutMs / 1000} s (${where})`));
      }, timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        if (line === null) reject(new Error(`the fsync helper exited before it could ${what}`));
        else resolve(line);
      };
    });
  }

  /** A helper holding `fd` as its fd 3, started and ready. */
  static async start(fd: number): Promise<FsyncHelper> {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit', fd] });
    const helper = new FsyncHelper(child);
    try {
      const line = await helper.nextLine(START_TIMEOUT_MS, 'start');
      if (line !== 'ready') throw new Error(`the fsync helper said "${line}" instead of ready`);
    } catch (err) {
      helper.close();
      throw err;
    }
    return helper;
  }

  /** Tell it to fsync now; when it did. */
  async fsync(): Promise<FsyncTiming> {
    this.child.stdin?.write('go\n');
    const line = await this.nextLine(FSYNC_TIMEOUT_MS, 'fsync');
    const [, start, end] = /^done (\d+) (\d+)$/.exec(line) ?? [];
    if (start === undefined || end === undefined) throw new Error(`fsync in the helper failed: ${line.replace(/^error /, '')}`);
    return { startNs: BigInt(start), endNs: BigInt(end) };
  }

  close(): void {
    if (running(this.child)) this.child.kill('SIGKILL');
  }
}
