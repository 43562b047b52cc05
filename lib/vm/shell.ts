/**
 * `mmaplab shell`: one kernel booted cold with mmaplab.ko loaded and an
 * interactive shell on the guest's serial console, for a driver author who
 * wants to poke at a hazard by hand. The guest's root is the host's own
 * (read-only over 9p, with a tmpfs on top), so the checkout and the host's
 * tools are there; the module is loaded with allow_hazards=1 (the VM is
 * disposable). QEMU's serial is multiplexed with its monitor on the
 * terminal (Ctrl-A c switches, Ctrl-A x quits); leaving the shell powers
 * the guest off. `gdbPort` opens QEMU's gdb stub there and boots with
 * nokaslr, so vmlinux's symbols match.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../paths';
import { ensureInitramfs } from './initramfs';
import type { Kernel } from './kernels';
import { QEMU, qemuArgs, requireQemu, writeQemuCommand, type Accel } from './qemu';
import { makeScratchDisk } from './scratch-disk';
import { GUEST_SCRIPT } from './job';
import { DEFAULT_VM } from './session';
import { ensureBootImage } from './vmlinux';

/** The guest shell's prompt (a scripted session waits for it). */
export const SHELL_PROMPT = 'mmaplab-guest# ';

export interface ShellOptions {
  accel: Accel;
  runDir: string;
  /** QEMU's gdb stub on this TCP port (and nokaslr); null for none. */
  gdbPort: number | null;
  /** The terminal's size, passed to the guest's tty. */
  columns?: number;
  rows?: number;
}

/** guest.sh for a shell: load the module, say what is where, hand the serial console to bash. */
export function shellScript(kernel: Kernel, ko: string, o: Pick<ShellOptions, 'columns' | 'rows'>): string {
  const size = o.columns !== undefined && o.rows !== undefined ? `stty cols ${o.columns} rows ${o.rows} </dev/ttyS0\n` : '';
  return [
    '#!/bin/sh',
    `insmod ${JSON.stringify(ko)} allow_hazards=1 || echo "mmaplab shell: insmod failed"`,
    `cd ${JSON.stringify(REPO_ROOT)}`,
    `echo "mmaplab shell on ${kernel.release}: mmaplab.ko loaded with allow_hazards=1, /dev/mmaplab is there."`,
    'echo "The host root is read-only underneath a tmpfs; this checkout is the current directory."',
    'echo "dmesg shows the kernel log. Leave the shell (exit) to power off; Ctrl-A x quits QEMU at once."',
    `${size}export TERM=\${TERM:-vt100} PS1=${JSON.stringify(SHELL_PROMPT)} HOME=/root`,
    'exec setsid -c /bin/bash --norc --noprofile -i </dev/ttyS0 >/dev/ttyS0 2>&1',
    '',
  ].join('\n');
}

/** QEMU's arguments for the shell: the boot's own, with the monitor on the serial line and the gdb stub. */
export function shellQemuArgs(kernel: Kernel, o: ShellOptions): string[] {
  const args = qemuArgs({
    image: ensureBootImage(kernel),
    initramfs: ensureInitramfs(kernel),
    runDir: o.runDir,
    accel: o.accel,
    cpus: DEFAULT_VM.cpus,
    memoryMb: DEFAULT_VM.memoryMb,
    timeoutMs: 0,
    // Warnings too on the console (quiet shows errors only), and symbols that match vmlinux under gdb.
    cmdline: [...(kernel.cmdline ?? []), 'loglevel=5', ...(o.gdbPort !== null ? ['nokaslr'] : [])],
  });
  const serial = args.indexOf('-serial');
  if (serial >= 0) args[serial + 1] = 'mon:stdio';
  if (o.gdbPort !== null) args.push('-gdb', `tcp::${o.gdbPort}`);
  return args;
}

/** Boot the shell VM; QEMU gets `stdio` (the user's terminal, or pipes for a scripted session). */
export function startShell(kernel: Kernel, ko: string, o: ShellOptions, stdio: StdioOptions = 'inherit'): ChildProcess {
  requireQemu();
  fs.mkdirSync(o.runDir, { recursive: true });
  fs.writeFileSync(path.join(o.runDir, GUEST_SCRIPT), shellScript(kernel, ko, o), { mode: 0o755 });
  makeScratchDisk(o.runDir);
  const args = shellQemuArgs(kernel, o);
  writeQemuCommand(o.runDir, args);
  return spawn(QEMU, args, { stdio });
}
