/**
 * The guest end of the control port (lib/vm/control-port is the host's): a
 * template's agent finds the virtio-serial port by name, says it is ready
 * and blocks reading; the VM is saved in that read, and every restored copy
 * wakes up in it with its own order.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { CONTROL_PORT, parseControlLine, type ControlMessage } from '../vm/control-port';
import { MmaplabError } from '../util/errors';
import { sleepSync } from '../util/sleep';

const PORTS_DIR = '/sys/class/virtio-ports';
/** The port's name arrives from the host after the driver probes: how long to look for it. */
const FIND_PORT_MS = 30_000;

/** /dev/vportNpM of the port called `name` (no udev here: found through sysfs, made by devtmpfs). */
export function findPort(name: string = CONTROL_PORT, dir: string = PORTS_DIR): string {
  const deadline = Date.now() + FIND_PORT_MS;
  for (;;) {
    let ports: string[] = [];
    try {
      ports = fs.readdirSync(dir);
    } catch {
      // the class appears with the first port
    }
    for (const p of ports) {
      try {
        if (fs.readFileSync(`${dir}/${p}/name`, 'utf8').trim() === name) return `/dev/${p}`;
      } catch {
        // its name is not set yet
      }
    }
    if (Date.now() > deadline) {
      throw new MmaplabError('ERESTORE', `no virtio-serial port named ${name} in ${dir} (${ports.join(' ') || 'none'})`);
    }
    sleepSync(50);
  }
}

export class GuestControl {
  private pending = '';
  private readonly fd: number;

  constructor(device: string = findPort()) {
    this.fd = fs.openSync(device, 'r+');
  }

  send(m: ControlMessage): void {
    fs.writeSync(this.fd, `${JSON.stringify(m)}\n`);
  }

  /**
   * The next message of `type`, blocking. A read of 0 means the host side is
   * not connected (it always is, but for a moment around a restore): wait.
   */
  receive<T extends ControlMessage['type']>(type: T): Extract<ControlMessage, { type: T }> {
    const buf = Buffer.alloc(4096);
    for (;;) {
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        const m = parseControlLine(this.pending.slice(0, nl));
        this.pending = this.pending.slice(nl + 1);
        if (m !== null && m.type === type) return m as Extract<ControlMessage, { type: T }>;
      }
      const n = fs.readSync(this.fd, buf, 0, buf.length, null);
      if (n === 0) sleepSync(10);
      else this.pending += buf.toString('utf8', 0, n);
    }
  }
}

/**
 * A restored copy's first steps, in one shell: set the wall clock (it
 * stopped at the save), mount the copy's own run directory over 9p (never
 * mounted in the template: a mounted 9p export blocks saving) and rescan
 * the PCI bus for the devices the template did not have (lib/vm/qemu: the
 * BAR of host memory for the pci_bar allocator, edu for dma_device). A shell started in the
 * template instead was tried: the copy came up no sooner.
 */
export function resumeSteps(epochMs: number, tag: string, at: string, msize: number): void {
  const opts = `trans=virtio,version=9p2000.L,msize=${msize},cache=none`;
  const script =
    `date -s @${Math.round(epochMs / 1000)} >/dev/null && mount -t 9p -o ${opts} ${tag} ${at} && ` + 'echo 1 > /sys/bus/pci/rescan';
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new MmaplabError(
      'ERESTORE',
      `cannot set the clock, mount the run directory and rescan the PCI bus: ${r.error?.message ?? (r.stderr.trim() || `status ${r.status}`)}`,
    );
  }
}
