/**
 * `mmaplab check --setup FILE`: what must happen on a freshly opened
 * descriptor of the user's device before a mapping works (an ioctl that
 * allocates the buffer, data written first). A JSON file:
 *
 *   { "steps": [
 *       { "ioctl": "0x40086d01", "arg": "0040000000000000" },
 *       { "ioctl": 27905 },
 *       { "write": "68656c6c6f" }
 *   ] }
 *
 * ioctl: the request number (a number, or a string in hex or decimal);
 * arg: the bytes the argument points to, in hex (absent: the ioctl gets 0,
 * as an _IO request does). write: bytes written with write(2), in hex.
 * Every step runs, in order, on every descriptor a scenario opens.
 */
import * as fs from 'node:fs';
import { MmaplabError } from '../util/errors';

export type SetupStep = { ioctl: number; arg: string | null } | { write: string };

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function bad(file: string, where: string, what: string): MmaplabError {
  return new MmaplabError('EUSAGE', `--setup ${file}: ${where}: ${what}`);
}

function requestNumber(v: unknown, file: string, where: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^(0x[0-9a-fA-F]+|\d+)$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw bad(file, where, `"ioctl" is a request number below 2^32 (a number, or "0x..." / decimal in a string), got ${JSON.stringify(v)}`);
  }
  return n;
}

function hexBytes(v: unknown, key: string, file: string, where: string): string {
  if (typeof v !== 'string' || !HEX.test(v) || v.length === 0) {
    throw bad(file, where, `"${key}" is bytes in hex, two digits a byte, at least one byte, got ${JSON.stringify(v)}`);
  }
  return v.toLowerCase();
}

/** One step of the file, checked; `where` names it in an error ("step 2"). */
export function checkStep(v: unknown, file: string, where: string): SetupStep {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(file, where, 'a step is an object');
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  if ('write' in o) {
    if (keys.join() !== 'write') throw bad(file, where, `a write step has only "write", got ${keys.join(', ')}`);
    return { write: hexBytes(o['write'], 'write', file, where) };
  }
  if ('ioctl' in o) {
    const extra = keys.filter((k) => k !== 'ioctl' && k !== 'arg');
    if (extra.length > 0) throw bad(file, where, `an ioctl step has "ioctl" and "arg" only, got ${extra.join(', ')}`);
    return { ioctl: requestNumber(o['ioctl'], file, where), arg: o['arg'] === undefined ? null : hexBytes(o['arg'], 'arg', file, where) };
  }
  throw bad(file, where, `a step is {"ioctl": ..., "arg": ...} or {"write": ...}, got keys ${keys.join(', ') || 'none'}`);
}

/** The setup file's steps, checked; a usage error names the step and what is wrong. */
export function parseSetup(text: string, file: string): SetupStep[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad(file, 'not JSON', (err as Error).message);
  }
  const steps = (data as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) throw bad(file, 'the top level', 'an object with a "steps" array');
  return steps.map((s, i) => checkStep(s, file, `step ${i + 1}`));
}

export function readSetup(file: string): SetupStep[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MmaplabError('EUSAGE', `--setup ${file}: cannot read it: ${(err as Error).message}`);
  }
  return parseSetup(text, file);
}

/** One line for people: "ioctl 0x40086d01 with 8 bytes", "write 5 bytes". */
export function describeStep(s: SetupStep): string {
  if ('write' in s) return `write ${s.write.length / 2} bytes`;
  return `ioctl 0x${s.ioctl.toString(16)}${s.arg === null ? '' : ` with ${s.arg.length / 2} bytes`}`;
}
