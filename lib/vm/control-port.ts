/**
 * The host end of a snapshot VM's control port (a virtio-serial port, see
 * SnapshotWiring): a unix socket this process listens on before QEMU starts,
 * so QEMU's client connection exists from the first instant and the guest's
 * agent never sees the port closed. Lines both ways, each one JSON message.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as v from 'valibot';
import { MmaplabError } from '../util/errors';
import { checkShape } from '../util/schema';

/** The virtio-serial port's name: a template's agent waits on it; a restored copy's order arrives there. */
export const CONTROL_PORT = 'mmaplab.ctl';

/**
 * The messages, each a line of JSON: their schema, from which their types
 * come. Both ends check what they read against it.
 */
export const ControlMessageSchema = v.variant('type', [
  /** Guest -> host: the template is booted and waits; the host may save it now. */
  v.object({ type: v.literal('template-ready'), uptime: v.number() }),
  /** Host -> guest: a restored copy's go, with what the saved state cannot know. */
  v.object({
    type: v.literal('resume'),
    /** The host's clock (ms since the epoch): the saved guest's clock stopped at the save. */
    epochMs: v.number(),
    /** 9p msize for mounting the run directory. */
    msize: v.number(),
  }),
  /** Guest -> host: the restored agent has its run directory and starts the job. */
  v.object({ type: v.literal('resumed'), uptime: v.number() }),
]);

export type ControlMessage = v.InferOutput<typeof ControlMessageSchema>;
export type TemplateReady = Extract<ControlMessage, { type: 'template-ready' }>;
export type ResumeOrder = Extract<ControlMessage, { type: 'resume' }>;
export type Resumed = Extract<ControlMessage, { type: 'resumed' }>;

/**
 * One line of the port: its message; null for a line that is not JSON
 * (noise); ERESTORE naming the place for JSON that is not a message.
 */
export function parseControlLine(line: string): ControlMessage | null {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return null;
  }
  return checkShape(ControlMessageSchema, data, 'a control port message', 'ERESTORE');
}

export class ControlPort {
  private conn: net.Socket | null = null;
  private buf = '';
  private readonly received: ControlMessage[] = [];
  /** A line that was JSON but no message: what `expect` throws instead of waiting on. */
  private problem: MmaplabError | null = null;
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
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      try {
        const m = parseControlLine(line);
        if (m !== null) this.received.push(m);
      } catch (err) {
        if (!(err instanceof MmaplabError)) throw err;
        this.problem ??= err;
      }
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
      if (this.problem !== null) throw this.problem;
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
