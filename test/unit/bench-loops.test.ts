/**
 * The native loops the benchmarks time (readAll, fill) and the anonymous
 * baseline mapping, on the host: they need the addon, not the device.
 */
import { strict as assert } from 'node:assert';
import { mapAnonymous } from '../../lib/device';
import { native, nativeConstants } from '../../lib/device/native';
import { assertArgError } from './device-asserts';

/** What readAll() returns: the wrapping 64-bit sum of the little-endian words, folded to 32 bits. */
function expectedChecksum(bytes: Uint8Array, passes: number): number {
  let sum = 0n;
  const whole = bytes.length - (bytes.length % 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < whole; i += 8) sum += view.getBigUint64(i, true);
  for (const byte of bytes.subarray(whole)) sum += BigInt(byte);
  sum = (sum * BigInt(passes)) & 0xffff_ffff_ffff_ffffn;
  return Number((sum ^ (sum >> 32n)) & 0xffff_ffffn);
}

describe('bench loops and the anonymous baseline (lib/device/mapping.ts)', () => {
  let page: number;
  before(() => {
    page = nativeConstants().PAGE_SIZE;
  });

  it('mapAnonymous() maps shared, zeroed, read-write memory', () => {
    const m = mapAnonymous(4 * page);
    try {
      assert.equal(m.length, 4 * page);
      assert.equal(m.private, false);
      assert.equal(m.prot, 'rw');
      assert.ok(new Uint8Array(m.buffer).every((b) => b === 0));
      assert.equal(m.readAll(), 0);
    } finally {
      m.unmap();
    }
    assert.equal(m.unmapped, true);
  });

  it('mapAnonymous({ populate: true }) has every page resident before any touch', () => {
    const m = mapAnonymous(8 * page, { populate: true });
    try {
      assert.equal(m.residentPages(), 8);
    } finally {
      m.unmap();
    }
  });

  it('fill() sets every byte, and readAll() sums what it reads, pass after pass', () => {
    const m = mapAnonymous(2 * page);
    try {
      m.fill(0x5a);
      const bytes = new Uint8Array(m.buffer);
      assert.ok(bytes.every((b) => b === 0x5a));
      assert.equal(m.readAll(), expectedChecksum(bytes, 1));
      assert.equal(m.readAll(3), expectedChecksum(bytes, 3));
      m.fill(1, 4);
      assert.ok(bytes.every((b) => b === 1));
      assert.equal(m.readAll(0), 0, 'no pass reads nothing');
    } finally {
      m.unmap();
    }
  });

  it('the loops take any ArrayBuffer, odd lengths included', () => {
    const ab = new ArrayBuffer(13);
    native().fillAll(ab, 7, 1);
    const bytes = new Uint8Array(ab);
    assert.ok(bytes.every((b) => b === 7));
    assert.equal(native().readAll(ab, 2), expectedChecksum(bytes, 2));
  });

  it('bad arguments are errors, not crashes', () => {
    const m = mapAnonymous(page);
    try {
      assertArgError(() => m.fill(256), 'ERR_OUT_OF_RANGE');
      assertArgError(() => m.fill(1.5), 'ERR_OUT_OF_RANGE');
      assertArgError(() => m.fill('a' as never), 'ERR_INVALID_ARG_TYPE');
      assertArgError(() => m.readAll(-1), 'ERR_OUT_OF_RANGE');
      assertArgError(() => native().fillAll(m.buffer, 300, 1), 'ERR_INVALID_ARG_VALUE');
      assertArgError(() => native().readAll({} as never, 1), 'ERR_INVALID_ARG_TYPE');
      assertArgError(() => mapAnonymous(0), 'ERR_OUT_OF_RANGE');
      assertArgError(() => mapAnonymous(page, { populate: 1 as never }), 'ERR_INVALID_ARG_TYPE');
    } finally {
      m.unmap();
    }
  });

  it('an unmapped mapping reads and fills nothing', () => {
    const m = mapAnonymous(page);
    m.unmap();
    assert.equal(m.readAll(), 0);
    m.fill(1);
  });
});
