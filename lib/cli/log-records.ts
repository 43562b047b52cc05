/**
 * A saved kernel log, whatever its shape, as kmsg records for lib/kmsg's
 * classifier. Each line is read on its own, so a file may mix shapes (a
 * console capture is kernel lines between firmware and userspace output):
 *
 *   4,1234,64098189,-;BUG: Bad page map ...      /dev/kmsg record (+ " KEY=VALUE" lines)
 *   <4>[   64.098189] BUG: Bad page map ...      dmesg -r
 *   kern  :warn  : [   64.098189] BUG: ...       dmesg -x
 *   [   64.098189] BUG: Bad page map ...         dmesg, console (also [..][  T157] with the caller id)
 *   [Tue Nov 24 15:09:12 2026] BUG: ...          dmesg -T
 *   2026-11-24T15:09:12,123456+00:00 BUG: ...    dmesg --time-format iso
 *   Nov 24 15:09:12 host kernel: BUG: ...        journalctl -k, /var/log/kern.log
 *   BUG: Bad page map ...                        dmesg -t, anything else
 *
 * Terminal escapes and carriage returns (a serial console has both) are
 * dropped first. A record's seq is the 1-based number of the line it
 * starts on, so a finding points into the file.
 */
import { tryParseRecord, unescapeKmsg, type KmsgLevel, type KmsgRecord, LEVEL_NAMES } from '../kmsg';
import { withoutEscapes } from '../util/escapes';

export type LineFormat = 'kmsg' | 'dmesg-raw' | 'dmesg-decode' | 'journal' | 'dmesg' | 'plain';

export interface ParsedLog {
  records: KmsgRecord[];
  /** How many records each shape gave (blank lines are not records). */
  formats: Partial<Record<LineFormat, number>>;
  lines: number;
}

const KMSG_HEAD = /^\d+,\d+,\d+,[^;,\s]*[^;]*;/;
const DICT_LINE = /^ [^\s=]+=/;
const RAW_PRIO = /^<(\d{1,4})>/;
const FACILITIES = 'kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res0|res1|res2|res3|local[0-7]';
const DECODE = new RegExp(`^(${FACILITIES})\\s*:\\s*(emerg|alert|crit|err|warn|notice|info|debug)\\s*:\\s?`);
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const JOURNAL = new RegExp(`^(?:${MONTH} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d|\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\S*) \\S+ kernel: ?`);
const STAMP = /^\[\s*(\d+)\.(\d+)(?:\s*<\s*[\d.]+>)?\]/;
const CALLER = /^\[\s*[TC]\d+\]/;
const CTIME = new RegExp(`^\\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\]`);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[,.]\d+(?:[+-]\d\d:?\d\d|Z)/;
const LEVEL_OF: Record<string, KmsgLevel> = { warn: 4 };

function levelFromName(name: string): KmsgLevel {
  const i = (LEVEL_NAMES as readonly string[]).indexOf(name);
  return (i >= 0 ? i : (LEVEL_OF[name] ?? 4)) as KmsgLevel;
}

/** Strips a timestamp (and the caller id after it); returns the rest and the time if it had one. */
function stripStamp(text: string): { rest: string; timestampUs: number | null; stamped: boolean } {
  const stamp = STAMP.exec(text);
  const [, seconds, fraction] = stamp ?? [];
  if (stamp && seconds !== undefined && fraction !== undefined) {
    const us = Number(seconds) * 1e6 + Number(fraction.padEnd(6, '0').slice(0, 6));
    let rest = text.slice(stamp[0].length);
    const c = CALLER.exec(rest);
    if (c) rest = rest.slice(c[0].length);
    return { rest: rest.startsWith(' ') ? rest.slice(1) : rest, timestampUs: us, stamped: true };
  }
  const m = CTIME.exec(text) ?? ISO.exec(text);
  if (m) {
    const rest = text.slice(m[0].length);
    return { rest: rest.startsWith(' ') ? rest.slice(1) : rest, timestampUs: null, stamped: true };
  }
  return { rest: text, timestampUs: null, stamped: false };
}

function record(seq: number, message: string, level: KmsgLevel, facility: number, timestampUs: number | null): KmsgRecord {
  return { seq, level, facility, timestampUs: timestampUs ?? 0, flags: '-', message, dict: {} };
}

/** One line (escapes removed) as a record of the given seq, with the shape it had. */
export function parseLogLine(line: string, seq: number): { record: KmsgRecord; format: LineFormat } {
  if (KMSG_HEAD.test(line)) {
    const r = tryParseRecord(line);
    if (r !== null) return { record: { ...r, seq }, format: 'kmsg' };
  }
  let text = line;
  let level: KmsgLevel = 4;
  let facility = 0;
  let format: LineFormat = 'plain';
  const j = JOURNAL.exec(text);
  if (j) {
    text = text.slice(j[0].length);
    format = 'journal';
  }
  const [decoded, facilityName, levelName] = DECODE.exec(text) ?? [];
  if (decoded !== undefined && facilityName !== undefined && levelName !== undefined) {
    facility = Math.max(0, FACILITIES.split('|').indexOf(facilityName));
    level = levelFromName(levelName);
    text = text.slice(decoded.length);
    format = 'dmesg-decode';
  } else {
    const p = RAW_PRIO.exec(text);
    if (p) {
      const prio = Number(p[1]);
      level = (prio & 7) as KmsgLevel;
      facility = prio >> 3;
      text = text.slice(p[0].length);
      format = 'dmesg-raw';
    }
  }
  const s = stripStamp(text);
  if (s.stamped && format === 'plain') format = 'dmesg';
  return { record: record(seq, s.rest, level, facility, s.timestampUs), format };
}

export function parseLogText(text: string): ParsedLog {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const records: KmsgRecord[] = [];
  const formats: Partial<Record<LineFormat, number>> = {};
  let last: { record: KmsgRecord; format: LineFormat } | null = null;
  lines.forEach((raw, i) => {
    const line = withoutEscapes(raw);
    if (line.trim() === '') {
      last = null;
      return;
    }
    // A dictionary line belongs to the /dev/kmsg record above it.
    if (last !== null && last.format === 'kmsg' && DICT_LINE.test(line)) {
      const eq = line.indexOf('=');
      last.record.dict[line.slice(1, eq)] = unescapeKmsg(line.slice(eq + 1));
      return;
    }
    const parsed = parseLogLine(line, i + 1);
    records.push(parsed.record);
    formats[parsed.format] = (formats[parsed.format] ?? 0) + 1;
    last = parsed;
  });
  return { records, formats, lines: lines.length };
}
