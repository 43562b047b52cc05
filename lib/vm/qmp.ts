/**
 * A QEMU Machine Protocol client over a unix socket: one command at a time,
 * which is all saving and restoring a VM needs (lib/vm/template).
 */
import * as net from 'node:net';
import * as v from 'valibot';
import { MmaplabError } from '../util/errors';
import { checkShape } from '../util/schema';

/** What a QMP command returned: an object, a list or nothing, as QEMU's schema says. */
export type QmpReturn = Record<string, unknown>;

interface Waiter {
  resolve: (v: QmpReturn) => void;
  reject: (e: Error) => void;
}

/** A member of a QMP reply as text: a string as it is, `fallback` when absent or null, any other value as JSON. */
export function qmpText(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What QEMU sends on QMP: each a line of JSON, told apart by its key. */
const QMP_MESSAGES = {
  greeting: v.object({ QMP: v.record(v.string(), v.unknown()) }),
  event: v.object({ event: v.string() }),
  error: v.object({ error: v.object({ class: v.string(), desc: v.string() }) }),
  return: v.object({ return: v.unknown() }),
};
const QmpMessageSchema = v.union(Object.values(QMP_MESSAGES), 'a QMP greeting, event, error or return');

type QmpKind = keyof typeof QMP_MESSAGES;

/** Which message it is, by its key: QMP, event, error, return, in that order. */
function qmpKind(msg: object): QmpKind | undefined {
  if ('QMP' in msg) return 'greeting';
  if ('event' in msg) return 'event';
  if ('error' in msg) return 'error';
  return 'return' in msg ? 'return' : undefined;
}

/**
 * One QMP message line: a greeting, an event, a return or an error; null
 * for a line that is not JSON (nothing QMP sends); ERESTORE naming the
 * place for JSON that is not a QMP message.
 */
export function parseQmpLine(line: string): { kind: QmpKind; body: QmpReturn } | null {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return null;
  }
  const kind = typeof data === 'object' && data !== null ? qmpKind(data) : undefined;
  checkShape(kind === undefined ? QmpMessageSchema : QMP_MESSAGES[kind], data, 'a QMP message', 'ERESTORE');
  const msg = data as Record<string, unknown>;
  if (kind === 'greeting' || kind === 'event') return { kind, body: msg };
  if (kind === 'error') return { kind, body: msg['error'] as QmpReturn };
  const ret = msg['return'];
  return { kind: 'return', body: ret !== null && typeof ret === 'object' && !Array.isArray(ret) ? (ret as QmpReturn) : {} };
}

export class Qmp {
  private buf = '';
  private waiting: Waiter | null = null;
  private greeting: Waiter | null = null;
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => {
      this.closed = true;
      for (const w of [this.waiting, this.greeting]) w?.reject(new Error('the QMP connection closed (QEMU exited)'));
      this.waiting = null;
      this.greeting = null;
    });
    sock.on('error', () => undefined);
  }

  /** Connects (QEMU creates the socket shortly after it starts) and leaves capability negotiation. */
  static async connect(file: string, timeoutMs: number, alive: () => boolean): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(file);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const q = new Qmp(sock);
        try {
          await q.greeted(Math.max(1, deadline - Date.now()));
          await q.exec('qmp_capabilities');
        } catch (err) {
          q.close();
          throw err;
        }
        return q;
      } catch (err) {
        if (!alive()) throw new MmaplabError('ERESTORE', 'QEMU exited before its monitor answered');
        if (Date.now() > deadline) {
          throw new MmaplabError('ERESTORE', `no QMP monitor at ${file} within ${timeoutMs} ms: ${String(err)}`);
        }
        await sleep(10);
      }
    }
  }

  /** Waits for QEMU's greeting; rejects if the connection closes first or `ms` pass. */
  private greeted(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.greeting = null;
        reject(new Error(`no QMP greeting in ${ms} ms`));
      }, ms);
      this.greeting = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line === '') continue;
      let msg: ReturnType<typeof parseQmpLine>;
      try {
        msg = parseQmpLine(line);
      } catch (err) {
        // JSON that is not QMP: whoever waits gets why
        for (const w of [this.greeting, this.waiting]) w?.reject(err as Error);
        this.greeting = null;
        this.waiting = null;
        continue;
      }
      if (msg === null) continue; // not JSON: nothing QMP sends
      if (msg.kind === 'greeting') {
        this.greeting?.resolve({});
        this.greeting = null;
      } else if (msg.kind === 'event') continue;
      else if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        if (msg.kind === 'error') w.reject(new Error(`QMP: ${qmpText(msg.body['desc'], JSON.stringify(msg.body))}`));
        else w.resolve(msg.body);
      }
    }
  }

  exec(command: string, args?: Record<string, unknown>): Promise<QmpReturn> {
    if (this.closed) return Promise.reject(new Error('the QMP connection closed (QEMU exited)'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
