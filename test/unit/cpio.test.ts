/**
 * lib/vm/cpio without the cpio tool: the newc archives the kernel unpacks as
 * an initramfs, checked field by field and byte by byte.
 */
import { strict as assert } from 'node:assert';
import { readCpio, writeCpio, type CpioEntry } from '../../lib/vm/cpio';
import { at } from '../../lib/util/at';

const HEADER_LEN = 110;

interface RawRecord {
  offset: number;
  magic: string;
  fields: number[];
  name: string;
  nameEnd: number;
  dataStart: number;
  dataEnd: number;
}

const FIELD = {
  ino: 0,
  mode: 1,
  uid: 2,
  gid: 3,
  nlink: 4,
  mtime: 5,
  filesize: 6,
  devmajor: 7,
  devminor: 8,
  rdevmajor: 9,
  rdevminor: 10,
  namesize: 11,
  check: 12,
} as const;

/** Walks the archive independently of readCpio, keeping every offset. */
function rawRecords(buf: Buffer): RawRecord[] {
  const out: RawRecord[] = [];
  let off = 0;
  for (;;) {
    assert.ok(off + HEADER_LEN <= buf.length, `archive ends at ${buf.length} without a TRAILER!!! entry`);
    const head = buf.toString('ascii', off, off + HEADER_LEN);
    const fields: number[] = [];
    for (let i = 0; i < 13; i++) fields.push(parseInt(head.slice(6 + i * 8, 14 + i * 8), 16));
    const nameSize = at(fields, FIELD.namesize, 'the namesize field');
    const nameEnd = off + HEADER_LEN + nameSize;
    const dataStart = Math.ceil(nameEnd / 4) * 4;
    const dataEnd = dataStart + at(fields, FIELD.filesize, 'the filesize field');
    const name = buf.toString('utf8', off + HEADER_LEN, nameEnd - 1);
    out.push({ offset: off, magic: head.slice(0, 6), fields, name, nameEnd, dataStart, dataEnd });
    if (name === 'TRAILER!!!') return out;
    off = Math.ceil(dataEnd / 4) * 4;
  }
}

const SAMPLE: CpioEntry[] = [
  { kind: 'dir', path: 'bin' },
  { kind: 'file', path: 'bin/busybox', data: Buffer.from('\x7fELF fake busybox'), mode: 0o755 },
  { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
  { kind: 'dir', path: 'etc', mode: 0o700 },
  { kind: 'file', path: 'etc/motd', data: Buffer.from('hello\n') },
];

describe('cpio writer and reader', () => {
  it('readCpio returns what writeCpio wrote: directory, file and symlink, in order', () => {
    const entries = readCpio(writeCpio(SAMPLE));
    assert.deepEqual(
      entries.map((e) => ({ name: e.name, mode: e.mode, data: e.data.toString('latin1') })),
      [
        { name: 'bin', mode: 0o040755, data: '' },
        { name: 'bin/busybox', mode: 0o100755, data: '\x7fELF fake busybox' },
        { name: 'bin/sh', mode: 0o120777, data: 'busybox' },
        { name: 'etc', mode: 0o040700, data: '' },
        { name: 'etc/motd', mode: 0o100644, data: 'hello\n' },
      ],
    );
  });

  it('a file keeps binary data byte for byte, including NULs and high bytes', () => {
    const data = Buffer.from(Array.from({ length: 257 }, (_, i) => (i * 37) & 0xff));
    const [entry] = readCpio(writeCpio([{ kind: 'file', path: 'blob', data }]));
    assert.ok(entry);
    assert.ok(entry.data.equals(data));
  });

  it('writeCpio writes magic 070701, type and permission bits, nlink and sizes as 8 hex digits', () => {
    const buf = writeCpio(SAMPLE);
    const recs = rawRecords(buf);
    assert.deepEqual(
      recs.map((r) => r.magic),
      ['070701', '070701', '070701', '070701', '070701', '070701'],
    );
    const byName = new Map(recs.map((r) => [r.name, r.fields]));
    assert.equal(byName.get('bin')?.[FIELD.mode], 0o040755);
    assert.equal(byName.get('bin')?.[FIELD.nlink], 2, 'a directory has nlink 2');
    assert.equal(byName.get('bin/busybox')?.[FIELD.mode], 0o100755);
    assert.equal(byName.get('bin/busybox')?.[FIELD.nlink], 1);
    assert.equal(byName.get('bin/busybox')?.[FIELD.filesize], '\x7fELF fake busybox'.length);
    assert.equal(byName.get('bin/busybox')?.[FIELD.namesize], 'bin/busybox'.length + 1, 'namesize counts the NUL');
    assert.equal(byName.get('bin/sh')?.[FIELD.mode], 0o120777);
    assert.equal(byName.get('bin/sh')?.[FIELD.filesize], 'busybox'.length, 'a symlink stores its target as data');
    assert.equal(byName.get('etc/motd')?.[FIELD.mode], 0o100644, 'files default to 0644');
    // Fields are lower-case hex, zero-padded: the 2nd header's mode field is literal text.
    const second = at(recs, 1, 'the second record');
    assert.equal(buf.toString('ascii', second.offset + 14, second.offset + 22), '000081ed');
  });

  it('writeCpio gives every entry its own inode number and zero uid, gid, mtime and check', () => {
    const recs = rawRecords(writeCpio(SAMPLE)).filter((r) => r.name !== 'TRAILER!!!');
    const inodes = recs.map((r) => r.fields[FIELD.ino]);
    assert.equal(new Set(inodes).size, recs.length);
    assert.ok(!inodes.includes(0));
    for (const r of recs) {
      assert.equal(r.fields[FIELD.uid], 0, r.name);
      assert.equal(r.fields[FIELD.gid], 0, r.name);
      assert.equal(r.fields[FIELD.mtime], 0, `${r.name}: mtime fixed for reproducible archives`);
      assert.equal(r.fields[FIELD.check], 0, r.name);
    }
  });

  it('writeCpio pads name and data to 4 bytes, with zero bytes', () => {
    // Name lengths 1..4 and data lengths 0..5 hit every padding amount.
    const entries: CpioEntry[] = [];
    for (let n = 1; n <= 4; n++) {
      for (let d = 0; d <= 5; d++) {
        entries.push({ kind: 'file', path: String.fromCharCode(97 + d).repeat(n), data: Buffer.alloc(d, 0x41) });
      }
    }
    const buf = writeCpio(entries);
    assert.equal(buf.length % 4, 0, 'archive length is a multiple of 4');
    for (const r of rawRecords(buf)) {
      assert.equal(r.offset % 4, 0, `${r.name}: header starts 4-aligned`);
      assert.equal(r.dataStart % 4, 0, `${r.name}: data starts 4-aligned`);
      assert.ok(
        buf.subarray(r.nameEnd, r.dataStart).every((b) => b === 0),
        `${r.name}: name padding is zeros`,
      );
      const next = Math.ceil(r.dataEnd / 4) * 4;
      assert.ok(
        buf.subarray(r.dataEnd, next).every((b) => b === 0),
        `${r.name}: data padding is zeros`,
      );
      assert.equal(buf[r.nameEnd - 1], 0, `${r.name}: name is NUL-terminated`);
    }
  });

  it('writeCpio ends with a TRAILER!!! entry of size 0, even for no entries', () => {
    for (const entries of [SAMPLE, []]) {
      const buf = writeCpio(entries);
      const recs = rawRecords(buf);
      const last = at(recs, recs.length - 1, 'the last record');
      assert.equal(last.name, 'TRAILER!!!');
      assert.equal(last.fields[FIELD.filesize], 0);
      assert.equal(Math.ceil(last.dataEnd / 4) * 4, buf.length, 'nothing after the trailer');
    }
    assert.deepEqual(readCpio(writeCpio([])), []);
  });

  it('writeCpio produces exactly the bytes of a hand-assembled one-file archive', () => {
    const expected = Buffer.concat([
      // "a" = "hi", mode 0100644
      Buffer.from(
        '070701' +
          '00000001' + // ino
          '000081a4' + // mode: S_IFREG | 0644
          '00000000' + // uid
          '00000000' + // gid
          '00000001' + // nlink
          '00000000' + // mtime
          '00000002' + // filesize
          '00000000' + // devmajor
          '00000000' + // devminor
          '00000000' + // rdevmajor
          '00000000' + // rdevminor
          '00000002' + // namesize: "a\0"
          '00000000', // check
        'ascii',
      ),
      Buffer.from('a\0', 'ascii'), // 110 + 2 = 112: already aligned
      Buffer.from('hi\0\0', 'ascii'), // 2 bytes of data + 2 of padding
      // trailer
      Buffer.from(
        '070701' +
          '00000000' + // ino
          '00000000' + // mode
          '00000000' +
          '00000000' +
          '00000001' + // nlink
          '00000000' +
          '00000000' + // filesize
          '00000000' +
          '00000000' +
          '00000000' +
          '00000000' +
          '0000000b' + // namesize: "TRAILER!!!\0" = 11
          '00000000',
        'ascii',
      ),
      Buffer.from('TRAILER!!!\0\0\0\0', 'ascii'), // 110 + 11 = 121, padded to 124
    ]);
    assert.equal(expected.length, 240);
    const actual = writeCpio([{ kind: 'file', path: 'a', data: Buffer.from('hi') }]);
    assert.equal(actual.toString('latin1'), expected.toString('latin1'));
  });

  it('writeCpio strips leading slashes from paths', () => {
    const [entry] = readCpio(writeCpio([{ kind: 'dir', path: '/lib' }]));
    assert.equal(entry?.name, 'lib');
  });

  it('writeCpio rejects a duplicate path, also when it differs only by a leading slash', () => {
    assert.throws(
      () =>
        writeCpio([
          { kind: 'dir', path: 'etc' },
          { kind: 'file', path: 'etc', data: Buffer.alloc(0) },
        ]),
      { name: 'RangeError', message: 'duplicate cpio path: etc' },
    );
    assert.throws(
      () =>
        writeCpio([
          { kind: 'dir', path: 'etc' },
          { kind: 'dir', path: '/etc' },
        ]),
      /duplicate cpio path/,
    );
  });

  for (const bad of ['', '/', '..', 'a/../b', '.', './init', 'a//b', 'lib/']) {
    it(`writeCpio rejects the path ${JSON.stringify(bad)}`, () => {
      assert.throws(() => writeCpio([{ kind: 'dir', path: bad }]), {
        name: 'RangeError',
        message: `invalid cpio path: ${JSON.stringify(bad)}`,
      });
    });
  }

  it('readCpio rejects bad magic and truncated archives', () => {
    const good = writeCpio([{ kind: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n') }]);
    const bad = Buffer.from(good);
    bad.write('070707', 0, 'ascii'); // the old "odc" format
    assert.throws(() => readCpio(bad), /bad cpio magic at 0/);
    assert.throws(() => readCpio(good.subarray(0, 100)), /truncated cpio header/);
    assert.throws(() => readCpio(good.subarray(0, 116)), /truncated cpio data for init/);
    assert.throws(() => readCpio(good.subarray(0, good.length - 124)), /truncated cpio header/, 'no trailer');
  });
});
