/**
 * One stress process (run by lib/harden/stress.ts as
 * `node dist/lib/harden/stress-worker.js '<json StressWorkerConfig>'`):
 * its main thread starts `threads` worker_threads, prints `up N` on stdout
 * as thread N is up and waiting, and `ready` once every one of them is; on a `go` line on stdin
 * they all begin the loop of the mode at once and run it for `durationMs`,
 * and the process prints one JSON line (a StressProcessResult) on stdout
 * when they are all done. stdin closing before `go` ends the process
 * without a loop (the parent gave up on the start-up). The parent sends
 * `go` to every process together, so the start of Node and its threads,
 * slow under emulation, is never inside anybody's window.
 *
 * shared: the session is the parent's, inherited as fd 3 (already
 *   configured). Each thread owns a slot of `regionBytes` in the buffer;
 *   it writes and checks only there, so its data must be intact whatever
 *   the other threads and processes do, while maps of any range, fork,
 *   dup/close and CONFIGURE attempts run everywhere. A CONFIGURE while the
 *   thread itself holds a mapping must be EBUSY; without one it is EBUSY
 *   (somebody else's mapping) or succeeds (nobody had one), and a success
 *   reallocates the buffer with another pair of the same size.
 * separate: each thread has its own sessions: configure a random pair, FILL,
 *   map, check, write, VERIFY, CONFIGURE while mapped (EBUSY), fork, close
 *   before or after unmap, reopen. A CONFIGURE with no mapping of its own
 *   may still be EBUSY: a fork() of a sibling thread copies the whole
 *   address space, this thread's mapping included, for as long as that
 *   child lives.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Device, isSyscallError, type Mapping } from '../device';
import { Prng } from '../fuzz/prng';
import { at } from '../util/at';

const PAGE = 4096;

/** The configuration and the result travel as JSON: ./stress-schema defines them. */
export type { StressCounts, StressPair, StressProcessResult, StressWorkerConfig } from './stress-schema';
import type { StressCounts, StressPair, StressProcessResult, StressWorkerConfig } from './stress-schema';

const MAX_FAILURES = 20;

function emptyCounts(): StressCounts {
  return { ops: {}, configure: { ebusyHeld: 0, ebusyFree: 0, ok: 0 }, failures: [], startedAt: 0 };
}

function errCode(err: unknown): string {
  if (isSyscallError(err)) return err.code;
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : String(err);
}

class Loop {
  readonly c = emptyCounts();
  readonly rng: Prng;
  readonly label: string;

  constructor(
    readonly cfg: StressWorkerConfig,
    readonly thread: number,
  ) {
    this.rng = new Prng((cfg.seed ^ Math.imul(cfg.process * 16 + thread + 1, 0x9e3779b1)) >>> 0);
    this.label = `p${cfg.process}t${thread}`;
  }

  op(name: string): void {
    this.c.ops[name] = (this.c.ops[name] ?? 0) + 1;
  }

  fail(what: string): void {
    if (this.c.failures.length < MAX_FAILURES) this.c.failures.push(`${this.label}: ${what}`);
  }

  /** Runs `fn`; an exception is a failure named `what`. Returns whether it went through. */
  guard(what: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.fail(`${what}: ${errCode(err)} ${(err as Error).message ?? ''}`);
      return false;
    }
  }

  seed(): number {
    return this.rng.next() >>> 0;
  }

  pair(): StressPair {
    return at(this.cfg.pairs, this.rng.below(this.cfg.pairs.length), 'a stress pair');
  }

  configure(dev: Device, pair: StressPair, size: number): void {
    dev.configure({ alloc: pair.alloc, method: pair.method, size, cache: pair.cache, faultAround: pair.faultAround });
  }

  /** A fork()ed child writes the pattern for `seed` through `m`; it must exit 0 and the parent see the words. */
  forkWrite(m: Mapping): void {
    const seed = this.seed();
    const r = m.forkWrite(seed);
    this.op('fork');
    if (r.exitCode !== 0 || r.signal !== null) {
      this.fail(`fork child ended ${r.signal ?? `with ${r.exitCode}`}`);
      return;
    }
    const bad = m.checkPattern(seed);
    if (bad !== null) this.fail(`after fork: word at ${bad.offset} is ${bad.found}, the child wrote ${bad.expected}`);
  }

  // ---- shared session (fd 3) ----

  shared(deadline: number): void {
    const { cfg } = this;
    const dev = Device.fromFd(3);
    const slot = cfg.process * cfg.slotThreads + this.thread;
    const base = slot * cfg.regionBytes;
    const regionPages = cfg.regionBytes / PAGE;
    const totalPages = cfg.size / PAGE;
    while (Date.now() < deadline) {
      // A map of any range of the buffer, read, kept over the region work or not.
      let wide: Mapping | null = null;
      const first = this.rng.below(totalPages);
      const pages = 1 + this.rng.below(totalPages - first);
      this.guard('map (any range)', () => {
        wide = dev.map({ offset: first * PAGE, length: pages * PAGE });
        this.op('map');
        wide.touch('read');
        this.op('touch');
      });
      if (wide !== null && this.rng.below(2) === 0) {
        (wide as Mapping).unmap();
        this.op('unmap');
        wide = null;
      }

      // The own region: write, check both ways, CONFIGURE must be EBUSY, fork.
      const len = (1 + this.rng.below(regionPages)) * PAGE;
      let m: Mapping | null = null;
      let dupDev: Device | null = null;
      const viaDup = this.rng.below(3) === 0;
      this.guard(viaDup ? 'map through a dup' : 'map (own region)', () => {
        if (viaDup) {
          dupDev = dev.dup();
          this.op('dup');
        }
        m = (dupDev ?? dev).map({ offset: base, length: len });
        this.op('map');
        if (dupDev !== null) {
          dupDev.close();
          this.op('close-dup');
          dupDev = null;
        }
      });
      if (dupDev !== null) (dupDev as Device).close();
      if (m !== null) {
        const mm = m as Mapping;
        this.guard('region checks', () => {
          const seed = this.seed();
          mm.writePattern(seed);
          this.op('write-pattern');
          const bad = mm.checkPattern(seed);
          if (bad !== null) this.fail(`own region at +${base}: word at ${bad.offset} is ${bad.found}, wrote ${bad.expected}`);
          // The kernel's view of the same bytes (read(2) copies from the buffer).
          const k = dev.read(len, base);
          this.op('pread');
          if (!k.equals(Buffer.from(mm.buffer, 0, len))) this.fail(`pread of the own region differs from the mapping (${k.length} bytes)`);
          const bytes = Buffer.alloc(len, this.rng.below(256));
          const n = dev.write(bytes, base);
          this.op('pwrite');
          if (n !== len || !bytes.equals(Buffer.from(mm.buffer, 0, len)))
            this.fail(`pwrite of ${len} bytes (${n} written) not seen through the mapping`);
        });
        this.attemptConfigure(dev, true);
        if (this.rng.below(3) === 0) this.guard('fork', () => this.forkWrite(mm));
        mm.unmap();
        this.op('unmap');
      }
      if (wide !== null) {
        this.attemptConfigure(dev, true);
        (wide as Mapping).unmap();
        this.op('unmap');
      }
      if (this.rng.below(2) === 0) this.attemptConfigure(dev, false);
    }
  }

  /** CONFIGURE of the shared session with a random pair of the same size. */
  attemptConfigure(dev: Device, holding: boolean): void {
    this.op('configure');
    try {
      this.configure(dev, this.pair(), this.cfg.size);
      if (holding) this.fail('CONFIGURE succeeded while this thread held a mapping of the session');
      else this.c.configure.ok++;
    } catch (err) {
      if (errCode(err) !== 'EBUSY') this.fail(`CONFIGURE: ${errCode(err)} (only EBUSY or success may come back)`);
      else if (holding) this.c.configure.ebusyHeld++;
      else this.c.configure.ebusyFree++;
    }
  }

  // ---- separate sessions ----

  separate(deadline: number): void {
    let dev: Device | null = null;
    while (Date.now() < deadline) {
      if (dev === null) {
        dev = Device.open();
        this.op('open');
      }
      const d = dev;
      const pair = this.pair();
      const size = (4 + this.rng.below(13)) * PAGE;
      const tag = `${pair.alloc}/${pair.method}${pair.faultAround ? '+fa' : ''} ${size / 1024}K`;
      try {
        this.configure(d, pair, size);
      } catch (err) {
        // A sibling thread's fork() child inherits this session's mapping
        // for the moment it lives: EBUSY then is right, try again.
        if (errCode(err) === 'EBUSY') this.c.configure.ebusyFree++;
        else this.fail(`configure ${tag}: ${errCode(err)} ${(err as Error).message ?? ''}`);
        continue;
      }
      this.op('configure');
      let m: Mapping | null = null;
      this.guard(tag, () => {
        const seed = this.seed();
        d.fill(seed);
        this.op('fill');
        m = d.map();
        this.op('map');
        const mm = m;
        mm.touch(this.rng.below(2) === 0 ? 'read' : 'write');
        this.op('touch');
        const bad = mm.checkPattern(seed);
        if (bad !== null) this.fail(`${tag}: FILL then map: word at ${bad.offset} is ${bad.found}, want ${bad.expected}`);
        const seed2 = this.seed();
        mm.writePattern(seed2);
        const v = d.verify(seed2);
        this.op('verify');
        if (!v.ok) this.fail(`${tag}: VERIFY after a write through the mapping: ${v.found} at ${v.mismatch}, want ${v.expected}`);
        try {
          this.configure(d, this.pair(), size);
          this.fail(`${tag}: CONFIGURE succeeded while mapped`);
        } catch (err) {
          if (errCode(err) !== 'EBUSY') this.fail(`${tag}: CONFIGURE while mapped: ${errCode(err)}, want EBUSY`);
          this.op('configure-ebusy');
        }
        if (this.rng.below(3) === 0) {
          this.forkWrite(mm);
        }
      });
      const closeFirst = this.rng.below(3) === 0;
      if (closeFirst) {
        d.close();
        this.op('close');
        dev = null;
      }
      if (m !== null) {
        const mm = m as Mapping;
        if (closeFirst) {
          // The mapping outlives the descriptor: still usable.
          this.guard(`${tag}: use after close`, () => {
            const seed = this.seed();
            mm.writePattern(seed);
            const bad = mm.checkPattern(seed);
            if (bad !== null) this.fail(`${tag}: after close: word at ${bad.offset} is ${bad.found}, want ${bad.expected}`);
            this.op('touch');
          });
        }
        mm.unmap();
        this.op('unmap');
      }
      if (dev !== null && this.rng.below(4) === 0) {
        dev.close();
        this.op('close');
        dev = null;
      }
    }
    dev?.close();
  }
}

/** The start gate every thread of a process waits on: 0 closed, 1 go, 2 abandon. */
const GATE_CLOSED = 0;
const GATE_GO = 1;
const GATE_ABANDON = 2;

/** Messages from a worker thread to its process's main thread. */
type ThreadMessage = { kind: 'ready' } | { kind: 'done'; counts: StressCounts };

function threadMain(cfg: StressWorkerConfig, thread: number, gate: Int32Array): StressCounts | null {
  const loop = new Loop(cfg, thread);
  parentPort?.postMessage({ kind: 'ready' } satisfies ThreadMessage);
  Atomics.wait(gate, 0, GATE_CLOSED);
  if (Atomics.load(gate, 0) !== GATE_GO) return null;
  loop.c.startedAt = Date.now();
  const deadline = loop.c.startedAt + cfg.durationMs;
  try {
    if (cfg.mode === 'shared') loop.shared(deadline);
    else loop.separate(deadline);
  } catch (err) {
    loop.fail(`thread died: ${(err as Error).stack ?? String(err)}`);
  }
  return loop.c;
}

function merge(into: StressCounts, c: StressCounts): void {
  for (const [k, v] of Object.entries(c.ops)) into.ops[k] = (into.ops[k] ?? 0) + v;
  into.configure.ebusyHeld += c.configure.ebusyHeld;
  into.configure.ebusyFree += c.configure.ebusyFree;
  into.configure.ok += c.configure.ok;
  into.failures.push(...c.failures.slice(0, MAX_FAILURES - into.failures.length));
  into.startedAt = Math.max(into.startedAt, c.startedAt);
}

/** Opens the gate on a `go` line on stdin; abandons it when stdin closes first. */
function openGateOnGo(gate: Int32Array): void {
  let text = '';
  const settle = (value: number): void => {
    if (Atomics.load(gate, 0) !== GATE_CLOSED) return;
    Atomics.store(gate, 0, value);
    Atomics.notify(gate, 0);
    process.stdin.destroy();
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    text += chunk;
    if (/^go$/m.test(text)) settle(GATE_GO);
  });
  process.stdin.on('end', () => settle(GATE_ABANDON));
  process.stdin.on('error', () => settle(GATE_ABANDON));
}

async function processMain(cfg: StressWorkerConfig): Promise<void> {
  const total = emptyCounts();
  const gate = new Int32Array(new SharedArrayBuffer(4));
  let ready = 0;
  const announceReady = (thread: number): void => {
    process.stdout.write(`up ${thread}\n`);
    if (++ready === cfg.threads) {
      process.stdout.write('ready\n');
      openGateOnGo(gate);
    }
  };
  await Promise.all(
    Array.from(
      { length: cfg.threads },
      (_, thread) =>
        new Promise<void>((resolve) => {
          const w = new Worker(__filename, { workerData: { cfg, thread, gate } });
          let got = false;
          w.on('message', (m: ThreadMessage) => {
            if (m.kind === 'ready') announceReady(thread);
            else {
              got = true;
              merge(total, m.counts);
            }
          });
          w.on('error', (err) => {
            total.failures.push(`p${cfg.process}t${thread}: worker error: ${err.stack ?? String(err)}`);
          });
          w.on('exit', (code) => {
            if (!got && Atomics.load(gate, 0) === GATE_GO)
              total.failures.push(`p${cfg.process}t${thread}: worker exited ${code} without a result`);
            resolve();
          });
        }),
    ),
  );
  if (Atomics.load(gate, 0) !== GATE_GO) process.exit(2);
  const result: StressProcessResult = { process: cfg.process, threads: cfg.threads, ...total };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (isMainThread) {
  if (require.main === module) {
    // The schema in the main thread only: the worker threads run this file too, and read no JSON.
    import('./stress-schema')
      .then(({ parseStressConfig }) => processMain(parseStressConfig(process.argv[2] ?? '{}')))
      .catch((err: unknown) => {
        process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      });
  }
} else {
  const { cfg, thread, gate } = workerData as { cfg: StressWorkerConfig; thread: number; gate: Int32Array };
  const counts = threadMain(cfg, thread, gate);
  if (counts !== null) parentPort?.postMessage({ kind: 'done', counts } satisfies ThreadMessage);
}
