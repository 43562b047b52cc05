/**
 * Windows of the kernel log, read from /dev/kmsg.
 *
 * Each read() of /dev/kmsg returns exactly one record. A fresh open starts at
 * the oldest record still in the ring buffer. With O_NONBLOCK, EAGAIN means
 * "no more records"; EPIPE means the ring buffer wrapped under the reader and
 * records were overwritten: the kernel has already moved the reader on to the
 * oldest surviving record, so reading simply continues. Sequence numbers are
 * consecutive, so what was lost is counted exactly from the gaps.
 *
 * Node has no lseek(SEEK_END) for /dev/kmsg, so the first read of a process
 * drains the whole ring buffer (a few thousand records at most with Debian's
 * 128 KiB CONFIG_LOG_BUF_SHIFT=17). The descriptor then stays open and each
 * later currentSeq() or readSince() reads only what the kernel logged since
 * (a Follower per path): under TCG a whole-ring drain costs tens of
 * milliseconds, and a cell needs two or three of them. The records read are
 * kept (the newest RECENT_MAX), so a window can start at any sequence number
 * handed out before; one older than what is kept is read by a fresh drain.
 *
 * A cell's window is then: `const since = currentSeq(); ...run...;
 * const w = readSince(since);`.
 */

import * as fs from 'node:fs';
import { at } from '../util/at';
import { MmaplabError } from '../util/errors';
import { KMSG_ERRORS } from './errors';
import { KmsgRecord, parseRecord, tryParseRecord, KmsgLevel } from './record';

export const KMSG_PATH = '/dev/kmsg';
/** Large enough for any record (the kernel's CONSOLE_EXT_LOG_MAX is 8192). */
export const KMSG_RECORD_MAX = 8192;
/** Stop draining after this many records, so a log storm cannot keep a reader busy forever. */
export const DEFAULT_MAX_RECORDS = 1_000_000;

/** The records of one window and what is known to be missing from it. Plain data. */
export interface KmsgWindow {
  /** The first sequence number the window asked for. */
  since: number;
  /** Sequence number to start the next window at (last seen seq + 1, or `since`). */
  nextSeq: number;
  /** Records with seq >= since, in sequence order. */
  records: KmsgRecord[];
  /** Records in [since, nextSeq) that were overwritten before they could be read. */
  lost: number;
  /** How many times read() reported EPIPE while the window was open (the ring buffer wrapped under the reader). */
  overruns: number;
  /** Records (or text chunks) that were not in kmsg format and were skipped. */
  malformed: number;
  /** True if reading stopped at maxRecords before the log was drained. */
  truncated: boolean;
}

export interface KmsgReadOptions {
  /** Device to read; default /dev/kmsg. */
  path?: string;
  /** Safety cap on records read per call; default DEFAULT_MAX_RECORDS. */
  maxRecords?: number;
}

interface Drained {
  /** Raw record texts, in read order. */
  raw: string[];
  overruns: number;
  truncated: boolean;
}

const SEQ_OF = /^\d+,(\d+),/;

/** The sequence number of a raw record, from its prefix alone (cheap), or null. */
function seqOf(raw: string): number | null {
  const m = SEQ_OF.exec(raw);
  return m ? Number(m[1]) : null;
}

function openKmsg(path: string, flags: number): number {
  try {
    return fs.openSync(path, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    const hint =
      code === 'EACCES' || code === 'EPERM'
        ? 'run as root, or set kernel.dmesg_restrict=0'
        : code === 'ENOENT'
          ? 'is /dev mounted (devtmpfs)?'
          : 'check that it is the kmsg character device';
    throw new MmaplabError(KMSG_ERRORS.open, `cannot open ${path}: ${code} (${hint})`, { path, errno: code });
  }
}

const RECORD_BUFFER = Buffer.alloc(KMSG_RECORD_MAX);

/** Read every record currently in the ring buffer, one read() per record, without blocking. */
function drain(path: string, maxRecords: number): Drained {
  const fd = openKmsg(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    return readAvailable(fd, path, maxRecords);
  } finally {
    fs.closeSync(fd);
  }
}

/** The records `fd` has not returned yet, one read() per record, without blocking. */
function readAvailable(fd: number, path: string, maxRecords: number): Drained {
  const buf = RECORD_BUFFER;
  const raw: string[] = [];
  let overruns = 0;
  while (raw.length < maxRecords) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') return { raw, overruns, truncated: false };
      if (code === 'EPIPE') {
        overruns += 1;
        continue;
      }
      if (code === 'EINTR') continue;
      throw new MmaplabError(KMSG_ERRORS.io, `read ${path}: ${code ?? String(err)}`, { path, errno: code });
    }
    if (n === 0) return { raw, overruns, truncated: false };
    // The kernel escapes non-ASCII, so a record is ASCII and utf8 decoding is lossless.
    raw.push(buf.toString('utf8', 0, n));
  }
  return { raw, overruns, truncated: true };
}

/** Records a Follower keeps for windows that start before its last read. */
export const RECENT_MAX = 16_384;

/**
 * One open /dev/kmsg descriptor that reads on from where it stopped, and
 * the records it read (the newest RECENT_MAX). `floor` is the lowest
 * sequence number from which every record it saw is still kept. EPIPEs
 * (the ring wrapped under the reader) and records without a sequence number
 * are remembered with `next` as it was before the read that met them, so a
 * window counts those met while it was open.
 */
class Follower {
  private fd: number | null = null;
  private recent: string[] = [];
  private recentSeqs: number[] = [];
  private floor = 0;
  private next = 0;
  /** `next` before each read that met an EPIPE, once per EPIPE. */
  private overrunsAt: number[] = [];
  /** `next` before each read that met a record with no sequence number, once per record. */
  private malformedAt: number[] = [];

  constructor(private readonly path: string) {}

  /** Reads what is new; says whether maxRecords cut it short. */
  pull(maxRecords: number): { truncated: boolean } {
    if (this.fd === null) this.fd = openKmsg(this.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    let got: Drained;
    try {
      got = readAvailable(this.fd, this.path, maxRecords);
    } catch (err) {
      // Reopened next time, from the oldest record: what was read stays, and is not read twice.
      this.close();
      throw err;
    }
    const at = this.next;
    for (let i = 0; i < got.overruns; i++) this.overrunsAt.push(at);
    for (const raw of got.raw) {
      const seq = seqOf(raw);
      if (seq === null) this.malformedAt.push(at);
      if (seq === null || seq < this.next) continue;
      this.recent.push(raw);
      this.recentSeqs.push(seq);
      this.next = seq + 1;
    }
    if (this.recent.length > RECENT_MAX) {
      const cut = this.recent.length - RECENT_MAX;
      this.recent.splice(0, cut);
      this.recentSeqs.splice(0, cut);
      this.floor = this.recentSeqs[0] ?? this.next;
      this.overrunsAt = this.overrunsAt.filter((n) => n >= this.floor);
      this.malformedAt = this.malformedAt.filter((n) => n >= this.floor);
    }
    return { truncated: got.truncated };
  }

  /** The sequence number after the newest record read (0 before any). */
  nextSeq(): number {
    return this.next;
  }

  /**
   * The kept records with seq >= since, with the EPIPEs and malformed
   * records met since then; null when some of those records are no longer kept.
   */
  since(since: number): { raw: string[]; overruns: number; malformed: number } | null {
    if (since < this.floor) return null;
    let lo = 0;
    let hi = this.recentSeqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at(this.recentSeqs, mid, 'a kept seq') < since) lo = mid + 1;
      else hi = mid;
    }
    const after = (n: number): boolean => n >= since;
    return {
      raw: this.recent.slice(lo),
      overruns: this.overrunsAt.filter(after).length,
      malformed: this.malformedAt.filter(after).length,
    };
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

const followers = new Map<string, Follower>();

function followerOf(path: string): Follower {
  let f = followers.get(path);
  if (f === undefined) {
    f = new Follower(path);
    followers.set(path, f);
  }
  return f;
}

/**
 * Build a window from records already in sequence order. Pure: the device
 * reader and the text reader share it. `lost` counts the sequence numbers in
 * [since, last] that no record carries.
 */
export function windowFrom(
  records: readonly KmsgRecord[],
  since: number,
  counters: { overruns?: number; malformed?: number; truncated?: boolean } = {},
): KmsgWindow {
  const inWindow = records.filter((r) => r.seq >= since).sort((a, b) => a.seq - b.seq);
  let lost = 0;
  let expected = since;
  for (const r of inWindow) {
    if (r.seq > expected) lost += r.seq - expected;
    expected = r.seq + 1;
  }
  const lastSeen = records.reduce((max, r) => Math.max(max, r.seq + 1), 0);
  return {
    since,
    nextSeq: Math.max(since, lastSeen),
    records: inWindow,
    lost,
    overruns: counters.overruns ?? 0,
    malformed: counters.malformed ?? 0,
    truncated: counters.truncated ?? false,
  };
}

/** The sequence number the next record the kernel logs will get. */
export function currentSeq(options: KmsgReadOptions = {}): number {
  const f = followerOf(options.path ?? KMSG_PATH);
  f.pull(options.maxRecords ?? DEFAULT_MAX_RECORDS);
  return f.nextSeq();
}

/** Every record with seq >= since still in the ring buffer, and what is missing. */
export function readSince(since: number, options: KmsgReadOptions = {}): KmsgWindow {
  if (!Number.isSafeInteger(since) || since < 0) {
    throw new RangeError(`readSince: since must be a non-negative integer, got ${since}`);
  }
  const path = options.path ?? KMSG_PATH;
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
  const f = followerOf(path);
  const { truncated } = f.pull(maxRecords);
  const kept = f.since(since);
  const drained: Drained = kept === null ? drain(path, maxRecords) : { raw: kept.raw, overruns: kept.overruns, truncated };
  const records: KmsgRecord[] = [];
  let malformed = kept?.malformed ?? 0;
  let lastSeen = 0;
  for (const raw of drained.raw) {
    const seq = seqOf(raw);
    if (seq !== null) lastSeen = Math.max(lastSeen, seq + 1);
    if (seq !== null && seq < since) continue; // not ours: skip the full parse
    const record = tryParseRecord(raw);
    if (record === null) malformed += 1;
    else records.push(record);
  }
  const window = windowFrom(records, since, {
    overruns: drained.overruns,
    malformed,
    truncated: drained.truncated,
  });
  window.nextSeq = Math.max(window.nextSeq, lastSeen);
  return window;
}

/**
 * Log a line to the kernel log through /dev/kmsg (as the `echo ... >
 * /dev/kmsg` of a shell): facility user, the given level. Used to mark cell
 * boundaries in the log. The kernel rate-limits such writes (printk_devkmsg,
 * a burst of 10 per 5 s by default): write markers, not logs.
 */
export function writeKmsg(message: string, level: KmsgLevel = 5, path: string = KMSG_PATH): void {
  const fd = openKmsg(path, fs.constants.O_WRONLY);
  try {
    fs.writeSync(fd, `<${level}>${message}\n`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MmaplabError(KMSG_ERRORS.io, `write ${path}: ${code ?? String(err)}`, { path, errno: code });
  } finally {
    fs.closeSync(fd);
  }
}

/** A chunk of a kmsg text file that is not a record. */
export interface RejectedChunk {
  /** 1-based line number of the chunk's first line. */
  line: number;
  text: string;
  why: string;
}

export interface ParsedKmsgText {
  records: KmsgRecord[];
  rejected: RejectedChunk[];
}

/**
 * Parse a text made of many /dev/kmsg records, one after another, as saved by
 * `cat /dev/kmsg > file` or by the guest agent. A line starting with a space
 * continues the record before it (a dictionary line); blank lines are ignored.
 * Garbage is collected in `rejected`, never thrown.
 */
export function parseKmsgText(text: string): ParsedKmsgText {
  const lines = text.split('\n');
  const records: KmsgRecord[] = [];
  const rejected: RejectedChunk[] = [];
  let chunk: string[] = [];
  let chunkLine = 0;

  const flush = (): void => {
    if (chunk.length === 0) return;
    const raw = chunk.join('\n');
    try {
      records.push(parseRecord(raw));
    } catch (err) {
      if (!(err instanceof MmaplabError)) throw err;
      rejected.push({ line: chunkLine, text: raw, why: err.message });
    }
    chunk = [];
  };

  lines.forEach((rawLine, index) => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') {
      flush();
    } else if (line.startsWith(' ') && chunk.length > 0) {
      chunk.push(line);
    } else {
      flush();
      chunk = [line];
      chunkLine = index + 1;
    }
  });
  flush();
  return { records, rejected };
}

/** Read a kmsg text file (see parseKmsgText). */
export function readKmsgFile(path: string): ParsedKmsgText {
  return parseKmsgText(fs.readFileSync(path, 'utf8'));
}

/**
 * A window over a kmsg text: records with seq >= since (default: the text's
 * first record, so a saved window does not count the records before it as lost).
 */
export function windowFromText(text: string, since?: number): KmsgWindow {
  const parsed = parseKmsgText(text);
  const first = parsed.records.reduce((min, r) => Math.min(min, r.seq), Number.POSITIVE_INFINITY);
  const start = since ?? (Number.isFinite(first) ? first : 0);
  return windowFrom(parsed.records, start, { malformed: parsed.rejected.length });
}
