/**
 * lib/kmsg against this machine's real /dev/kmsg (needs root, like the guest
 * agent). These do not skip: a host where /dev/kmsg cannot be read or written
 * fails them with the reason, because the guest relies on both.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { KMSG_ERRORS, KMSG_PATH, FACILITY_USER, currentSeq, readSince, writeKmsg } from '../../lib/kmsg';
import { MmaplabError } from '../../lib/util/errors';
import { at } from '../../lib/util/at';

function writeOrExplain(message: string): void {
  try {
    writeKmsg(message);
  } catch (err) {
    const errno = err instanceof MmaplabError ? String(err.details['errno']) : String(err);
    assert.fail(
      `writing to ${KMSG_PATH} failed (${errno}): the kmsg reader tests and the guest agent's ` +
        'cell markers need write access to /dev/kmsg (root, and printk_devkmsg not "off")',
    );
  }
}

/** Raw text of the record holding `needle`, read straight from the device. */
function rawRecordContaining(needle: string): string | undefined {
  const fd = fs.openSync(KMSG_PATH, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') continue;
        return undefined; // EAGAIN: end of the log
      }
      const raw = buf.toString('latin1', 0, n);
      if (raw.includes(needle)) return raw;
    }
  } finally {
    fs.closeSync(fd);
  }
}

describe('kmsg reader on this host /dev/kmsg', function () {
  this.timeout(10_000);

  it('currentSeq() returns the next sequence number without blocking', () => {
    const t0 = Date.now();
    const seq = currentSeq();
    assert.ok(Number.isSafeInteger(seq) && seq >= 0, String(seq));
    assert.ok(Date.now() - t0 < 5_000, 'draining the ring buffer took too long');
  });

  it('readSince(currentSeq()) returns a (usually empty) window without hanging', () => {
    const since = currentSeq();
    const w = readSince(since);
    assert.ok(Array.isArray(w.records));
    assert.ok(w.records.every((r) => r.seq >= since));
    assert.equal(w.since, since);
    assert.ok(w.nextSeq >= since);
    assert.equal(w.lost, 0);
    assert.equal(w.malformed, 0);
    assert.equal(w.truncated, false);
  });

  it('a line written to /dev/kmsg shows up in the next window, as facility user at the given level', () => {
    const since = currentSeq();
    const marker = `mmaplab-test: marker ${randomBytes(6).toString('hex')}`;
    writeOrExplain(marker);
    const w = readSince(since);
    const found = w.records.filter((r) => r.message === marker);
    assert.equal(found.length, 1, `marker not found among ${w.records.length} record(s) since seq ${since}`);
    const record = at(found, 0, 'the marker record');
    assert.equal(record.facility, FACILITY_USER);
    assert.equal(record.level, 5);
    assert.ok(currentSeq() > record.seq);
    assert.equal(
      readSince(record.seq + 1).records.some((r) => r.message === marker),
      false,
    );
  });

  it('the kernel escapes tabs and UTF-8 in a record and the reader decodes them back', () => {
    const since = currentSeq();
    const id = randomBytes(6).toString('hex');
    const marker = `mmaplab-test: escapes ${id}\tcheck \u2713`;
    writeOrExplain(marker);
    const raw = rawRecordContaining(`escapes ${id}`);
    assert.ok(raw !== undefined, 'record not found in the raw device output');
    assert.ok(raw.includes('\\x09check \\xe2\\x9c\\x93'), `kernel escaping not as expected: ${JSON.stringify(raw)}`);
    assert.ok(readSince(since).records.some((r) => r.message === marker));
  });

  it('a window still holds what was logged after its start when a later currentSeq() read it first', () => {
    const since = currentSeq();
    const first = `mmaplab-test: outer ${randomBytes(6).toString('hex')}`;
    writeOrExplain(first);
    const inner = currentSeq();
    const second = `mmaplab-test: inner ${randomBytes(6).toString('hex')}`;
    writeOrExplain(second);
    const outer = readSince(since).records.map((r) => r.message);
    assert.ok(outer.includes(first) && outer.includes(second), 'the outer window lost a record the inner read');
    assert.deepEqual(
      readSince(inner)
        .records.map((r) => r.message)
        .filter((m) => m.startsWith('mmaplab-test:')),
      [second],
    );
    assert.equal(readSince(inner).lost, 0);
  });

  it('readSince(0) starts at the oldest record the ring buffer still holds', () => {
    currentSeq();
    // The first record a fresh descriptor returns is the oldest in the ring.
    const raw = rawRecordContaining(',');
    const oldest = raw === undefined ? undefined : Number(raw.split(',')[1]);
    assert.ok(oldest !== undefined && Number.isSafeInteger(oldest), 'no record in the ring buffer');
    const w = readSince(0);
    assert.ok(w.records.length > 0);
    const first = at(w.records, 0, 'the first record of the window');
    assert.ok(first.seq <= oldest, `window starts at ${first.seq}, the ring at ${oldest}`);
  });

  it('a window starting in the future is empty and loses nothing', () => {
    const future = currentSeq() + 1_000_000;
    const w = readSince(future);
    assert.deepEqual(w.records, []);
    assert.equal(w.lost, 0);
    assert.equal(w.nextSeq, future);
  });

  it('rejects a negative start and reports an unopenable device with EKMSGOPEN', () => {
    assert.throws(() => readSince(-1), RangeError);
    assert.throws(
      () => readSince(0, { path: '/nonexistent/kmsg' }),
      (err: unknown) => err instanceof MmaplabError && err.code === KMSG_ERRORS.open && /ENOENT/.test(err.message),
    );
  });
});
