/**
 * One /dev/kmsg record (Documentation/ABI/testing/dev-kmsg):
 *
 *   PRIO,SEQ,TIMESTAMP_US,FLAGS[,more...];MESSAGE\n
 *    KEY=VALUE\n            (zero or more dictionary lines, each starting with a space)
 *
 * PRIO is (facility << 3) | level. The kernel escapes every byte of MESSAGE and
 * VALUE that is below 0x20, at or above 0x7f, or a backslash as "\xNN", so a
 * record's first line always ends at the first newline and the whole record is
 * ASCII.
 *
 * Error policy: parseRecord() throws a MmaplabError with code 'EKMSGRECORD'
 * (KMSG_ERRORS.malformed; the message names the defect). tryParseRecord() is
 * the same parser returning null instead, for readers that count and skip
 * garbage rather than stop on it.
 */

import { MmaplabError } from '../util/errors';
import { KMSG_ERRORS } from './errors';

export type KmsgLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** syslog level names, indexed by level (KERN_EMERG = 0 ... KERN_DEBUG = 7). */
export const LEVEL_NAMES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type KmsgLevelName = (typeof LEVEL_NAMES)[number];

/** Facility 0 is the kernel; records written to /dev/kmsg by userspace default to 1 (user). */
export const FACILITY_KERNEL = 0;
export const FACILITY_USER = 1;

export interface KmsgRecord {
  /** Sequence number: consecutive, starts at 0 at boot; a gap means records were overwritten. */
  seq: number;
  level: KmsgLevel;
  facility: number;
  /** Microseconds since boot (local_clock), as printed by the kernel. */
  timestampUs: number;
  /** '-' normally, 'c' for a continuation fragment on old kernels. */
  flags: string;
  /** Message text with \xNN escapes decoded (UTF-8). */
  message: string;
  /** Dictionary lines, e.g. { SUBSYSTEM: 'virtio', DEVICE: '+virtio:virtio1' }. */
  dict: Record<string, string>;
}

const UINT = /^\d+$/;
const FLAGS = /^[^\s,;]+$/;
const DICT_KEY = /^[^\s=]+$/;
/** PRIO is at most 10 bits: LOG_FACMASK (0x3f8) | LOG_PRIMASK (7). */
const PRIO_MAX = 0x3ff;

function malformed(why: string, raw: string): MmaplabError {
  const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  return new MmaplabError(
    KMSG_ERRORS.malformed,
    `not a /dev/kmsg record (${why}): ${JSON.stringify(shown)}; ` +
      'expected "PRIO,SEQ,TIMESTAMP_US,FLAGS;MESSAGE" optionally followed by " KEY=VALUE" lines',
    { raw: shown },
  );
}

function parseUint(field: string, what: string, raw: string): number {
  if (!UINT.test(field)) throw malformed(`${what} ${JSON.stringify(field)} is not a decimal number`, raw);
  const n = Number(field);
  if (!Number.isSafeInteger(n)) throw malformed(`${what} ${field} is too large`, raw);
  return n;
}

/**
 * Decode the kernel's \xNN escapes. Escaped bytes are reassembled and decoded
 * as UTF-8, so a multi-byte character the kernel escaped byte by byte comes back
 * whole; invalid UTF-8 becomes U+FFFD. A backslash not followed by xNN is kept
 * as is (the kernel never produces one: it escapes '\' as \x5c).
 */
export function unescapeKmsg(text: string): string {
  if (!text.includes('\\x')) return text;
  const parts: Buffer[] = [];
  let literalStart = 0;
  let i = 0;
  while (i < text.length) {
    if (text[i] === '\\' && text[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      if (i > literalStart) parts.push(Buffer.from(text.slice(literalStart, i), 'utf8'));
      parts.push(Buffer.from([parseInt(text.slice(i + 2, i + 4), 16)]));
      i += 4;
      literalStart = i;
    } else {
      i += 1;
    }
  }
  if (literalStart < text.length) parts.push(Buffer.from(text.slice(literalStart), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}

/** The kernel's escaping: bytes < 0x20, >= 0x7f and '\' become \xNN (UTF-8 bytes of the text). */
export function escapeKmsg(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte < 0x20 || byte >= 0x7f || byte === 0x5c) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

/**
 * Parse one record as returned by a single read() of /dev/kmsg (or one record
 * of a kmsg text file). A trailing newline and CR line endings are accepted.
 * Throws MmaplabError('EKMSGRECORD').
 */
export function parseRecord(raw: string): KmsgRecord {
  const lines = raw.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const head = lines[0] ?? '';
  if (head === '') throw malformed('empty', raw);

  const semi = head.indexOf(';');
  if (semi < 0) throw malformed("no ';' between prefix and message", raw);
  const fields = head.slice(0, semi).split(',');
  if (fields.length < 4) throw malformed(`prefix has ${fields.length} fields, needs at least 4`, raw);
  const [prioField, seqField, tsField, flagsField] = fields as [string, string, string, string];

  const prio = parseUint(prioField, 'priority', raw);
  if (prio > PRIO_MAX) throw malformed(`priority ${prio} is out of range`, raw);
  const seq = parseUint(seqField, 'sequence number', raw);
  const timestampUs = parseUint(tsField, 'timestamp', raw);
  if (!FLAGS.test(flagsField)) throw malformed(`flags ${JSON.stringify(flagsField)} are invalid`, raw);

  const dict: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (!line.startsWith(' ')) throw malformed('a line after the message does not start with a space', raw);
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(1, eq);
    if (!DICT_KEY.test(key)) throw malformed(`dictionary line ${JSON.stringify(line)} is not " KEY=VALUE"`, raw);
    dict[key] = unescapeKmsg(line.slice(eq + 1));
  }

  return {
    seq,
    level: (prio & 7) as KmsgLevel,
    facility: prio >> 3,
    timestampUs,
    flags: flagsField,
    message: unescapeKmsg(head.slice(semi + 1)),
    dict,
  };
}

/** parseRecord, returning null for malformed input instead of throwing. */
export function tryParseRecord(raw: string): KmsgRecord | null {
  try {
    return parseRecord(raw);
  } catch (err) {
    if (err instanceof MmaplabError && err.code === KMSG_ERRORS.malformed) return null;
    throw err;
  }
}

/** Serialise a record back to /dev/kmsg format (inverse of parseRecord), ending in '\n'. */
export function formatRecord(r: KmsgRecord): string {
  const head = `${(r.facility << 3) | r.level},${r.seq},${r.timestampUs},${r.flags};${escapeKmsg(r.message)}\n`;
  const dict = Object.entries(r.dict).map(([k, v]) => ` ${k}=${escapeKmsg(v)}\n`);
  return head + dict.join('');
}

/** "[   12.345678] message", the way dmesg prints a record. */
export function formatRecordHuman(r: KmsgRecord): string {
  const secs = Math.floor(r.timestampUs / 1e6);
  const micros = String(r.timestampUs % 1e6).padStart(6, '0');
  return `[${String(secs).padStart(5, ' ')}.${micros}] ${r.message}`;
}
