/**
 * The host end of a snapshot VM's control port (a virtio-serial port, see
 * SnapshotWiring): a unix socket this process listens on before QEMU starts,
 * so QEMU's client connection exists from the first instant and the guest's
 * agent never sees the port closed. Lines both ways, each one JSON message.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { MmaplabError } from '../util/errors';

/** The virtio-serial port's name: a template's agent waits on it; a restored copy's order arrives there. */
export const CONTROL_PORT = 'mmaplab.ctl';

/** Guest -> host: the template is booted and waits; the host may save it now. */
export interface TemplateReady {
  type: 'template-ready';
  uptime: number;
}

/** Host -> guest: a restored copy's go, with what the saved state cannot know. */
export interface ResumeOrder {
  type: 'resume';
  /** The host's clock (ms since the epoch): the saved guest's clock stopped at the save. */
  epochMs: number;
  /** 9p msize for mounting the run directory. */
  msize: number;
}

/** Guest -> host: the restored agent has its run directory and starts the job. */
export interface Resumed {
  type: 'resumed';
  uptime: number;
}

export type ControlMessage = TemplateReady | ResumeOrder | Resumed;

export function parseControlLine(line: string): ControlMessage | null {
  try {
    const m = JSON.parse(line) as { type?: unknown };
    return m !== null && typeof m === 'object' && typeof m.type === 'string' ? (m as ControlMessage) : null;
  } catch {
    return null;
  }
}

export class ControlPort {
  private conn: net.Socket | null = null;
  private buf = '';
  private readonly received: ControlMessage[] = [];
  private wake: Array<() => void> = [];

  private constructor(
    readonly socket: string,
    private readonly server: net.Server,
  ) {
    server.on('connection', (c) => {
      this.conn = c;
      c.setEncoding('utf8');
      c.on('data', (d: string) => this.onData(d));
      c.on('error', () => undefined);
      c.on('close', () => this.poke());
      this.poke();
    });
  }

  /** Listens on `socket` (a stale file there is removed). */
  static async listen(socket: string): Promise<ControlPort> {
    fs.rmSync(socket, { force: true });
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, resolve);
    });
    return new ControlPort(socket, server);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const m = parseControlLine(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
      if (m !== null) this.received.push(m);
    }
    this.poke();
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The first message of `type`, waiting up to timeoutMs while `alive()` holds. */
  async expect<T extends ControlMessage['type']>(
    type: T,
    timeoutMs: number,
    alive: () => boolean,
  ): Promise<Extract<ControlMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.received.find((x): x is Extract<ControlMessage, { type: T }> => x.type === type);
      if (m) return m;
      if (!alive()) throw new MmaplabError('ERESTORE', `the VM ended before its agent said ${type}`);
      if (Date.now() > deadline) throw new MmaplabError('ERESTORE', `no ${type} from the agent within ${timeoutMs} ms`);
      await this.waitForChange(Math.min(250, Math.max(1, deadline - Date.now())));
    }
  }

  /** Sends one message, once QEMU has connected (it does at its start). */
  async send(m: ControlMessage, timeoutMs: number, alive: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.conn === null) {
      if (!alive()) throw new MmaplabError('ERESTORE', 'the VM ended before QEMU connected its control port');
      if (Date.now() > deadline) throw new MmaplabError('ERESTORE', `QEMU did not connect its control port in ${timeoutMs} ms`);
      await this.waitForChange(50);
    }
    this.conn.write(`${JSON.stringify(m)}\n`);
  }

  close(): void {
    this.conn?.destroy();
    this.server.close();
    fs.rmSync(this.socket, { force: true });
  }
}
