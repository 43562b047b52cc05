/**
 * One QEMU boot: builds the command line, captures the serial console to the
 * run directory, watches it for progress marks, and kills the VM at the
 * deadline. What the guest concluded is read from the run directory by the
 * caller; QEMU's own exit status only says whether QEMU itself worked
 * (`poweroff -f` and a panic with -no-reboot both exit 0).
 */
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { MmaplabError } from '../util/errors';
import { interruptError, interruptedBy, onInterrupt, throwIfInterrupted } from '../util/interrupt';
import { CONTROL_PORT } from './control-port';
import { deviceBarArgs } from './device-bar';
import { HOST_ROOT_TAG, IMAGE_ROOT_WORD, RUN_DIR_TAG } from './guest-init';
import { makeScratchDisk, SCRATCH_DISK_FILE, SCRATCH_DISK_SERIAL } from './scratch-disk';
import type { BootImage } from './vmlinux';

export type Accel = 'tcg' | 'kvm';

export const QEMU = 'qemu-system-x86_64';

export interface BootSpec {
  image: BootImage;
  initramfs: string;
  runDir: string;
  accel: Accel;
  cpus: number;
  memoryMb: number;
  timeoutMs: number;
  /** Extra kernel command-line words (e.g. debug options). */
  cmdline?: string[];
  /** Console lines containing one of these strings are timestamped. */
  marks?: string[];
  /**
   * Also a hang: this long without a console line containing one of these
   * (each resets the clock). Lets a stuck cell end its VM in a minute
   * instead of at the whole run's deadline.
   */
  idle?: {
    ms: number;
    resetOn: string[];
    /**
     * The clock's first window instead of `ms`, from QEMU's start to the
     * first reset line: a cold boot's kernel and agent start-up, which for a
     * debug kernel under TCG on a busy host takes well over a cell's `ms`.
     */
    bootMs?: number;
    /**
     * Once a console line passes this test (an oops), the clock is re-armed
     * with the shorter `trouble.ms` until the next reset line: a guest that
     * survived reports its cell within seconds of an oops, and one that is
     * wedged is not worth waiting the full idle time for.
     */
    trouble?: {
      test: (line: string) => boolean;
      ms: number;
      /**
       * Decides sooner: once in trouble, a guest whose agent's heartbeat file
       * (see HEARTBEAT_FILE) has not changed for `quietMs` cannot report its
       * cell any more, and is ended then rather than at `ms`.
       */
      heartbeat?: { file: string; quietMs: number };
    };
  };
  /** Called for every console line, with ms since QEMU was started. */
  onLine?: (line: string, ms: number) => void;
  /**
   * A VM that is saved or restored (lib/vm/template) instead of the 9p-rooted
   * cold boot: its root, RAM, control port and monitor.
   */
  snapshot?: SnapshotWiring;
  /**
   * Runs once QEMU is started (a restored copy: load the saved state, resume,
   * hand over the job). If it fails, QEMU is killed and the boot ends
   * 'restore-failed' with the error's message.
   */
  afterSpawn?: (alive: () => boolean) => Promise<void>;
}

/** What a template VM and its restored copies have instead of the 9p root share (see lib/vm/template). */
export interface SnapshotWiring {
  /** The runtime image (lib/vm/runtime-image), the root's read-only lower layer. */
  runtimeImage: string;
  /** Guest RAM: a file the template writes (share=on) and each copy maps copy-on-write (share=off). */
  ramFile: string;
  share: boolean;
  /** The control port's unix socket: the host listens, QEMU connects. */
  controlSocket: string;
  /** QMP's unix socket: QEMU listens. */
  qmpSocket: string;
  /** Start paused, waiting for the saved state (-incoming defer). */
  incoming: boolean;
}

export type BootEnd =
  /** The guest powered off (whatever happened inside; see the run directory). */
  | 'exited'
  /** The console shows a kernel panic. */
  | 'panic'
  /** The deadline passed and QEMU was killed. */
  | 'timeout'
  /** QEMU itself failed (bad arguments, missing device, ...). */
  | 'qemu-error'
  /** Loading a saved state or resuming from it failed (BootOutcome.stderr says why). */
  | 'restore-failed';

export interface BootOutcome {
  end: BootEnd;
  qemuStatus: number | null;
  durationMs: number;
  /** First time (ms since spawn) each requested mark was seen. */
  marks: Record<string, number>;
  consoleFile: string;
  consoleTail: string[];
  stderr: string;
  /** Ended after trouble because the agent's heartbeat stopped (idle.trouble.heartbeat). */
  heartbeatStopped?: boolean;
}

/** The last non-empty line of a boot's stderr (QEMU's or a restore step's error), if any. */
export function lastStderrLine(outcome: Pick<BootOutcome, 'stderr'>): string | undefined {
  return outcome.stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-1)[0];
}

/** How often a heartbeat file is read. */
const HEARTBEAT_POLL_MS = 200;

/** A heartbeat file's content ('' while there is none). */
function readBeat(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function qemuAvailable(): boolean {
  const r = spawnSync(QEMU, ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

let versionLine: string | null = null;

/** `qemu-system-x86_64 --version`'s first line (cached): a saved VM is only restored by the QEMU that saved it. */
export function qemuVersionLine(): string {
  if (versionLine === null) {
    const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
    versionLine = r.error || r.status !== 0 ? 'unknown' : (r.stdout.split('\n')[0]?.trim() ?? 'unknown');
  }
  return versionLine;
}

export function requireQemu(): void {
  if (!qemuAvailable()) {
    throw new MmaplabError('ENOQEMU', `${QEMU} was not found: apt-get install qemu-system-x86 (or run scripts/setup-host.sh)`);
  }
}

export function kernelCmdline(extra: readonly string[] = []): string {
  return [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    'rdinit=/init',
    // No real hardware to wait for; skip what only costs time under TCG.
    'i8042.noaux',
    'i8042.nokbd',
    'tsc=reliable',
    'no_timer_check',
    // The crypto self-tests cost ~0.3 s of TCG time per boot and test
    // nothing mmaplab depends on.
    'cryptomgr.notests',
    // A soft lockup's report then holds every CPU's backtrace (in the kernel
    // log: quiet keeps them off the console), so the CPU another waited on
    // shows too. It acts only when a lockup is reported.
    'softlockup_all_cpu_backtrace=1',
    // The lockup detectors' thresholds for hardware (a soft lockup after
    // 20 s, an RCU stall after 21 s) report the host here: on the project's
    // machine, itself a VM, a guest CPU was held in one `rep stosb` of
    // clear_page_erms for 22 to 53 s while the other CPU sat idle (khugepaged,
    // stress start-up; 2026-12-03). Reported after 120 s instead: a CPU that
    // really spins is still caught, and a hang is the runner's deadline's.
    'watchdog_thresh=60',
    'rcupdate.rcu_cpu_stall_timeout=120',
    ...extra,
  ].join(' ');
}

export function qemuArgs(spec: BootSpec): string[] {
  const snap = spec.snapshot;
  const args = [
    // q35, not microvm: microvm has no HPET or ACPI PM timer, and under TCG
    // the PIT-only TSC calibration fails in some boots ("could not calculate
    // TSC khz"), after which the kernel stalls before printing anything
    // (seen in 2 of 8 microvm boots, 0 of 20 on q35). q35 costs ~0.2 s more.
    '-M',
    snap ? 'q35,smm=off,memory-backend=ram0' : 'q35,smm=off',
    '-accel',
    spec.accel,
    '-cpu',
    spec.accel === 'kvm' ? 'host' : 'max',
    '-smp',
    String(spec.cpus),
    '-m',
    String(spec.memoryMb),
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-no-reboot',
    '-serial',
    'stdio',
    '-kernel',
    spec.image.path,
    '-initrd',
    spec.initramfs,
    '-append',
    kernelCmdline([...(spec.cmdline ?? []), ...(snap ? [IMAGE_ROOT_WORD] : [])]),
  ];
  args.push(...(snap ? savedVmArgs(spec.memoryMb, snap) : hostRootArgs()));
  args.push(
    // A disk of the VM's own, empty, for what needs a real block device
    // (O_DIRECT through a driver's mapping). After the runtime image, so
    // that stays /dev/vda; the guest finds this one by its serial.
    '-drive',
    `file=${path.join(spec.runDir, SCRATCH_DISK_FILE)},format=raw,if=none,id=scratch,cache=unsafe`,
    '-device',
    `virtio-blk-pci,drive=scratch,serial=${SCRATCH_DISK_SERIAL}`,
    '-fsdev',
    `local,id=rundir,path=${spec.runDir},security_model=none`,
    '-device',
    `virtio-9p-pci,fsdev=rundir,mount_tag=${RUN_DIR_TAG}`,
  );
  // The devices the module drives, last, so that they take the next free
  // slots: the PCI device whose BAR is host memory (lib/vm/device-bar) and
  // QEMU's teaching device with a DMA engine, edu (the dma_device
  // allocator's). Neither is in a template: ivshmem's shared RAM would be
  // left out of the saved state (x-ignore-shared), and QEMU then insists
  // that the BAR sits at the same guest address on the restoring side,
  // where the guest has not placed it yet ("Mismatched GPAs"); edu has no
  // saved state at all, so a copy's edu would come up with its BARs
  // unassigned under a guest that thinks otherwise (its registers read 0).
  // A restored copy gets both anew and its agent has the guest rescan the bus.
  // edu's engine cuts addresses to its dma_mask, 28 bits by default; 32 let
  // it reach all of a guest's RAM below 4 GiB, as a 32-bit PCI device does,
  // so that the driver's own pages can be mapped for it (the module
  // measures the reach when it binds the device).
  if (!snap || snap.incoming) args.push(...deviceBarArgs(spec.runDir), '-device', `edu,dma_mask=${EDU_DMA_MASK}`);
  if (snap?.incoming) args.push('-incoming', 'defer');
  return args;
}

/**
 * The devices of a VM that is saved or restored: RAM in a file, the runtime
 * image, the control port, QMP. Everything here must be the same for a
 * template and its copies (the saved devices are matched by id and
 * address), but for sharing the RAM file, the sockets, the run
 * directory's host path and -incoming.
 */
function savedVmArgs(memoryMb: number, snap: NonNullable<BootSpec['snapshot']>): string[] {
  return [
    '-object',
    `memory-backend-file,id=ram0,size=${memoryMb}M,mem-path=${snap.ramFile},share=${snap.share ? 'on' : 'off'}`,
    '-drive',
    `file=${snap.runtimeImage},format=raw,if=none,id=rt,readonly=on`,
    '-device',
    'virtio-blk-pci,drive=rt',
    '-device',
    'virtio-serial-pci,id=vser',
    '-chardev',
    `socket,id=ctl,path=${snap.controlSocket}`,
    '-device',
    `virtserialport,bus=vser.0,nr=1,chardev=ctl,name=${CONTROL_PORT}`,
    '-qmp',
    `unix:${snap.qmpSocket},server=on,wait=off`,
    // A restored copy's kernel reseeds its random pool from a new generation id.
    '-device',
    'vmgenid,guid=auto',
  ];
}

/** A cold-booted VM's root: the host's, read-only over 9p. */
function hostRootArgs(): string[] {
  return [
    '-fsdev',
    `local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap`,
    '-device',
    `virtio-9p-pci,fsdev=hostroot,mount_tag=${HOST_ROOT_TAG}`,
  ];
}

/** The reach the VM gives edu's DMA engine: 32 bits. */
const EDU_DMA_MASK = '0xffffffff';

const PANIC_RE = /Kernel panic - not syncing/;
const TAIL_LINES = 60;

/** The file in a run directory that holds the QEMU command line, to run again by hand. */
export const QEMU_COMMAND_FILE = 'qemu-command.sh';

/** Save QEMU's command line in the run directory, quoted for sh. */
export function writeQemuCommand(runDir: string, args: readonly string[]): void {
  const quoted = [QEMU, ...args].map((a) => (/^[\w.,=:/+@%-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  fs.writeFileSync(path.join(runDir, QEMU_COMMAND_FILE), `#!/bin/sh\n${quoted.join(' ')}\n`, { mode: 0o755 });
}

type QemuChild = ChildProcessByStdio<null, Readable, Readable>;

/**
 * A running QEMU as boot() watches it: its console (written to the run
 * directory, scanned line by line for marks and a panic), its stderr, the
 * deadline and the idle clock, and what ended it.
 */
class BootWatch {
  readonly marks: Record<string, number> = {};
  readonly tail: string[] = [];
  panicked = false;
  timedOut = false;
  troubled = false;
  heartbeatStopped = false;
  stderr = '';
  partial = '';
  /** A console write that failed (full disk): QEMU is killed and boot() rejects with it. */
  writeError: Error | null = null;
  /** afterSpawn's failure, when QEMU was still running then. */
  setupError: string | null = null;
  closed = false;
  timer: NodeJS.Timeout | null = null;
  idleTimer: NodeJS.Timeout | null = null;
  heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly spec: BootSpec,
    readonly child: QemuChild,
    readonly consoleOut: number,
    readonly started: bigint,
  ) {}

  elapsed(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e6;
  }

  readonly kill = (): void => {
    this.timedOut = true;
    this.child.kill('SIGKILL');
  };

  onLine(raw: string): void {
    const { spec } = this;
    const line = raw.replace(/\r$/, '');
    const ms = this.elapsed();
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (PANIC_RE.test(line)) this.panicked = true;
    if (spec.idle && spec.idle.resetOn.some((m) => line.includes(m))) this.armIdle();
    else if (spec.idle?.trouble && !this.troubled && spec.idle.trouble.test(line)) {
      this.troubled = true;
      this.armIdle(spec.idle.trouble.ms);
      if (spec.idle.trouble.heartbeat) this.watchHeartbeat(spec.idle.trouble.heartbeat);
    }
    for (const m of spec.marks ?? []) {
      if (this.marks[m] === undefined && line.includes(m)) this.marks[m] = ms;
    }
    spec.onLine?.(line, ms);
  }

  /** A chunk of the serial console: into the console file, then its whole lines scanned. */
  onConsole(chunk: Buffer): void {
    if (this.writeError === null) {
      try {
        fs.writeSync(this.consoleOut, chunk);
      } catch (err) {
        this.writeError = err as Error; // fs.writeSync throws only Errors
        this.child.kill('SIGKILL');
      }
    }
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) this.onLine(l);
  }

  /** The console, stderr and QEMU's close, as they come. */
  listen(): void {
    // A console log that cannot be written (full disk) ends the run: QEMU is
    // killed and boot() rejects with the write's error, never an uncaught throw.
    this.child.stdout.on('data', (chunk: Buffer) => this.onConsole(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.child.on('close', () => (this.closed = true));
  }

  /** spec.afterSpawn, whose failure kills QEMU while it still runs. */
  runAfterSpawn(): void {
    const { child } = this;
    this.spec
      .afterSpawn?.(() => !this.closed && child.exitCode === null && child.signalCode === null)
      .catch((err: unknown) => {
        // QEMU's own end says more when it exited or was killed at a deadline.
        if (this.closed || this.timedOut || child.exitCode !== null || child.signalCode !== null) return;
        this.setupError = err instanceof Error ? err.message : String(err);
        child.kill('SIGKILL');
      });
  }

  /** The whole run's deadline, and the idle clock. */
  armTimers(): void {
    this.timer = setTimeout(this.kill, this.spec.timeoutMs);
    this.armIdle(undefined, this.spec.idle?.bootMs);
  }

  /** (Re)starts the idle clock: `troubleMs` after trouble, else `windowMs` (the boot's) or the idle ms. */
  armIdle(troubleMs?: number, windowMs?: number): void {
    const { spec } = this;
    if (!spec.idle) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (troubleMs === undefined && this.heartbeatTimer) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
    this.troubled = troubleMs !== undefined;
    this.idleTimer = setTimeout(this.kill, troubleMs ?? windowMs ?? spec.idle.ms);
  }

  watchHeartbeat(hb: { file: string; quietMs: number }): void {
    let last = readBeat(hb.file);
    let changed = this.elapsed();
    this.heartbeatTimer = setInterval(() => {
      const now = readBeat(hb.file);
      if (now !== last) {
        last = now;
        changed = this.elapsed();
      } else if (this.elapsed() - changed >= hb.quietMs) {
        this.heartbeatStopped = true;
        this.kill();
      }
    }, HEARTBEAT_POLL_MS);
  }

  clearTimers(): void {
    clearTimeout(this.timer ?? undefined);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
  }

  end(status: number | null): BootEnd {
    return this.setupError !== null
      ? 'restore-failed'
      : this.timedOut
        ? 'timeout'
        : this.panicked
          ? 'panic'
          : status !== 0
            ? 'qemu-error'
            : 'exited';
  }

  outcome(status: number | null, consoleFile: string): BootOutcome {
    const { setupError } = this;
    return {
      end: this.end(status),
      qemuStatus: status,
      durationMs: this.elapsed(),
      marks: this.marks,
      consoleFile,
      consoleTail: this.tail.slice(),
      ...(this.heartbeatStopped ? { heartbeatStopped: true } : {}),
      stderr: [this.stderr.trim(), ...(setupError !== null ? [setupError] : [])].filter((t) => t !== '').join('\n'),
    };
  }
}

export function boot(spec: BootSpec): Promise<BootOutcome> {
  throwIfInterrupted();
  requireQemu();
  fs.mkdirSync(spec.runDir, { recursive: true });
  makeScratchDisk(spec.runDir);
  const args = qemuArgs(spec);
  writeQemuCommand(spec.runDir, args);
  const consoleFile = path.join(spec.runDir, 'console.log');
  const consoleOut = fs.openSync(consoleFile, 'w');
  const started = process.hrtime.bigint();
  const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Ctrl-C or SIGTERM: this VM goes at once, and its end is no outcome.
  const unregister = onInterrupt(() => child.kill('SIGKILL'));
  const watch = new BootWatch(spec, child, consoleOut, started);
  watch.listen();
  watch.runAfterSpawn();
  watch.armTimers();

  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      unregister();
      watch.clearTimers();
      fs.closeSync(consoleOut);
      reject(err);
    });
    child.on('close', (status) => {
      unregister();
      // The last line without its newline is scanned first: what it arms (the idle clock) is then cleared with the rest.
      if (watch.partial !== '') watch.onLine(watch.partial);
      watch.clearTimers();
      fs.closeSync(consoleOut);
      if (watch.writeError !== null) {
        reject(watch.writeError);
        return;
      }
      if (interruptedBy() !== null) {
        reject(interruptError());
        return;
      }
      resolve(watch.outcome(status, consoleFile));
    });
  });
}
