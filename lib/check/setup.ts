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
import * as v from 'valibot';
import { MmaplabError } from '../util/errors';
import { parseJson, parseShape } from '../util/schema';
import type { SetupStep } from './schema';

/** A step once read travels in job.json: ./schema defines it. */
export type { SetupStep } from './schema';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const HEX_BYTES = 'bytes in hex, two digits a byte, at least one byte';
const REQUEST = 'a request number below 2^32 (a number, or "0x..." or decimal in a string)';

/** The request number of an "ioctl" (a number, or a string in hex or decimal); NaN when it is none. */
function requestNumber(r: number | string): number {
  return typeof r === 'number' ? r : /^(0x[0-9a-fA-F]+|\d+)$/.test(r) ? Number(r) : NaN;
}

const WriteStep = v.pipe(
  v.strictObject({ write: v.string() }),
  // checked on the step, the error put on the key
  v.forward(
    v.check((o) => HEX.test(o.write), HEX_BYTES),
    ['write'],
  ),
  v.transform((o): SetupStep => ({ write: o.write.toLowerCase() })),
);

const IoctlStep = v.pipe(
  // No "write": a step with one is a write step (the variant below picks by it).
  v.strictObject({
    write: v.optional(v.never()),
    ioctl: v.pipe(
      v.union([v.number(), v.string()], REQUEST),
      v.check((r) => {
        const n = requestNumber(r);
        return Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
      }, REQUEST),
    ),
    arg: v.optional(v.string()),
  }),
  v.forward(
    v.check((o) => o.arg === undefined || HEX.test(o.arg), HEX_BYTES),
    ['arg'],
  ),
  v.transform((o): SetupStep => ({ ioctl: requestNumber(o.ioctl), arg: o.arg === undefined ? null : o.arg.toLowerCase() })),
);

/**
 * The file: {"steps": [...]}, a step with "write" a write step, any other an
 * ioctl step. Read into SetupSteps: the request a number, the bytes in
 * lower case, an absent arg null.
 */
const SetupFileSchema = v.object({ steps: v.array(v.variant('write', [WriteStep, IoctlStep])) });

/** The setup file's steps, checked; a usage error names the place and what is wrong ('--setup F: steps[1].ioctl: expected ...'). */
export function parseSetup(text: string, file: string): SetupStep[] {
  const source = `--setup ${file}`;
  return parseShape(SetupFileSchema, parseJson(text, source, 'EUSAGE'), source, 'EUSAGE').steps;
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
