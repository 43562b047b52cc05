/**
 * lib/kmsg without a kernel: record parsing, kmsg text windows, signature
 * classification of realistic 6.1 / 6.12 reports (test/fixtures/kmsg), and
 * taint decoding.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CONTEXT_LINES,
  FINDING_KINDS,
  Finding,
  FindingKind,
  KMSG_ERRORS,
  KmsgRecord,
  SIGNATURES,
  TAINT_FLAGS,
  TROUBLE_BITS,
  MODULE_OWN_MASK,
  UNRECOGNISED_FRAME,
  analyzeWindow,
  classify,
  classifyWindow,
  compareSeverity,
  decodeTaint,
  describeFinding,
  diffTaint,
  escapeKmsg,
  formatRecord,
  parseKmsgText,
  parseRecord,
  parseTaintString,
  readKmsgFile,
  readTaint,
  summarize,
  taintGained,
  taintString,
  troubleFlags,
  tryParseRecord,
  unescapeKmsg,
  windowFrom,
  windowFromText,
} from '../../lib/kmsg';
import { MmaplabError } from '../../lib/util/errors';
import { FAMILY_FIXTURES, assertFamilyFindings } from './kmsg-families';
import { at } from '../../lib/util/at';

/** dist/test/unit -> repo root; fixtures are not compiled, they stay in test/. */
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'kmsg');

function fixture(name: string): KmsgRecord[] {
  const parsed = readKmsgFile(path.join(FIXTURES, name));
  assert.deepEqual(parsed.rejected, [], `${name} has chunks that are not kmsg records`);
  return parsed.records;
}

/** Records from bare messages, numbered from seq 100, kernel facility, level 4. */
function records(...messages: string[]): KmsgRecord[] {
  return messages.map((message, i) => ({
    seq: 100 + i,
    level: 4,
    facility: 0,
    timestampUs: 1_000_000 + i,
    flags: '-',
    message,
    dict: {},
  }));
}

function kinds(findings: readonly Finding[]): FindingKind[] {
  return findings.map((f) => f.kind);
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof MmaplabError && err.code === code);
}

describe('kmsg record', () => {
  it('splits PRIO into facility and level and reads seq, timestamp, flags and message', () => {
    const r = parseRecord('6,1234,5678901,-;virtio_net virtio0 enp0s2: renamed from eth0\n');
    assert.deepEqual(r, {
      seq: 1234,
      level: 6,
      facility: 0,
      timestampUs: 5678901,
      flags: '-',
      message: 'virtio_net virtio0 enp0s2: renamed from eth0',
      dict: {},
    });
    const user = parseRecord('12,7,8,-;written from userspace');
    assert.equal(user.facility, 1);
    assert.equal(user.level, 4);
    assert.equal(parseRecord('30,7,8,-;systemd').facility, 3);
  });

  it('ignores prefix fields after FLAGS (e.g. caller=) and keeps ";" inside the message', () => {
    const r = parseRecord('4,9,10,c,caller=T231;a;b;c');
    assert.equal(r.flags, 'c');
    assert.equal(r.message, 'a;b;c');
  });

  it('decodes \\xNN escapes: control characters, backslash and multi-byte UTF-8', () => {
    const r = parseRecord('6,1,2,-;tab\\x09here, nl\\x0aline, bs \\x5c, check \\xe2\\x9c\\x93');
    assert.equal(r.message, 'tab\there, nl\nline, bs \\, check \u2713');
    assert.equal(unescapeKmsg('no escapes'), 'no escapes');
    assert.equal(unescapeKmsg('bare \\ and \\xZZ stay'), 'bare \\ and \\xZZ stay');
  });

  it('escapes exactly the bytes the kernel escapes, so formatRecord round-trips', () => {
    assert.equal(escapeKmsg('a\tb\\c\u2713'), 'a\\x09b\\x5cc\\xe2\\x9c\\x93');
    const r: KmsgRecord = {
      seq: 42,
      level: 3,
      facility: 0,
      timestampUs: 99,
      flags: '-',
      message: 'odd\tmessage \u00e9 \\ end',
      dict: { SUBSYSTEM: 'misc', DEVICE: 'c10:122' },
    };
    assert.deepEqual(parseRecord(formatRecord(r)), r);
  });

  it('reads " KEY=VALUE" continuation lines into dict, unescaping values', () => {
    const r = parseRecord(
      '6,410,1523411,-;virtio_blk virtio1: [vda] 2097152 512-byte logical blocks\n SUBSYSTEM=virtio\n DEVICE=+virtio:virtio1\n X=a\\x3db\n',
    );
    assert.equal(r.message, 'virtio_blk virtio1: [vda] 2097152 512-byte logical blocks');
    assert.deepEqual(r.dict, { SUBSYSTEM: 'virtio', DEVICE: '+virtio:virtio1', X: 'a=b' });
  });

  it('accepts CRLF line endings and an empty message', () => {
    const r = parseRecord('6,5,6,-;\r\n SUBSYSTEM=pci\r\n');
    assert.equal(r.message, '');
    assert.deepEqual(r.dict, { SUBSYSTEM: 'pci' });
  });

  const garbage: Array<[string, string]> = [
    ['empty input', ''],
    ['no prefix', 'hello world'],
    ['three prefix fields', '6,1,2;msg'],
    ['non-numeric priority', 'x,1,2,-;msg'],
    ['negative sequence number', '6,-1,2,-;msg'],
    ['priority beyond 10 bits', '9999,1,2,-;msg'],
    ['sequence number beyond 2^53', '6,99999999999999999999,2,-;msg'],
    ['empty flags', '6,1,2,;msg'],
    ['a second line without the leading space', '6,1,2,-;msg\nSUBSYSTEM=pci'],
    ['a dictionary line without "="', '6,1,2,-;msg\n SUBSYSTEM'],
  ];
  for (const [what, raw] of garbage) {
    it(`rejects ${what} with EKMSGRECORD (tryParseRecord: null)`, () => {
      throwsCode(() => parseRecord(raw), KMSG_ERRORS.malformed);
      assert.equal(tryParseRecord(raw), null);
    });
  }
});

describe('kmsg text and windows', () => {
  it('parses every fixture completely, with consecutive sequence numbers', () => {
    for (const name of fs.readdirSync(FIXTURES).filter((n) => n.endsWith('.txt'))) {
      const rs = fixture(name);
      assert.ok(rs.length > 0, name);
      rs.forEach((r, i) => assert.equal(r.seq, at(rs, 0, 'the first record').seq + i, `${name}: seq gap at record ${i}`));
    }
  });

  it('keeps dictionary lines with their record and decodes escapes in a saved window', () => {
    const rs = fixture('clean-6.1.txt');
    assert.deepEqual(at(rs, 0, 'the first record').dict, { SUBSYSTEM: 'virtio', DEVICE: '+virtio:virtio1' });
    const marker = rs.find((r) => r.message.startsWith('mmaplab-test:'));
    assert.equal(marker?.message, 'mmaplab-test: cell kmalloc-4k\tremap_pfn_range\tbasic: done \u2713');
    assert.equal(marker?.facility, 1);
    assert.equal(marker?.level, 5);
  });

  it('collects garbage chunks with their line numbers and keeps parsing after them', () => {
    const text = [
      ' SUBSYSTEM=orphan',
      '6,1,10,-;first',
      'this line is not a record',
      '',
      '6,2,20,-;second',
      ' DEVICE=+pci:0000:00:02.0',
      '6,three,30,-;bad seq',
      '6,4,40,-;fourth',
    ].join('\n');
    const parsed = parseKmsgText(text);
    assert.deepEqual(
      parsed.records.map((r) => r.message),
      ['first', 'second', 'fourth'],
    );
    assert.deepEqual(at(parsed.records, 1, 'the second record').dict, { DEVICE: '+pci:0000:00:02.0' });
    assert.deepEqual(
      parsed.rejected.map((r) => r.line),
      [1, 3, 7],
    );
    assert.ok(parsed.rejected.every((r) => r.why.includes('not a /dev/kmsg record')));
  });

  it('a window keeps records with seq >= since and counts sequence gaps as lost', () => {
    const text = ['6,10,1,-;a', '6,11,2,-;b', '6,14,3,-;e', '6,15,4,-;f'].join('\n');
    const w = windowFromText(text, 11);
    assert.deepEqual(
      w.records.map((r) => r.seq),
      [11, 14, 15],
    );
    assert.equal(w.lost, 2);
    assert.equal(w.nextSeq, 16);
    assert.equal(windowFromText(text).since, 10, 'default since is the first record');
    assert.equal(windowFromText(text, 5).lost, 5 + 2, 'records before the oldest surviving one are lost');
    assert.equal(windowFromText(text, 40).records.length, 0);
    assert.equal(windowFromText(text, 40).nextSeq, 40);
    assert.equal(windowFromText('6,1,1,-;ok\njunk\n').malformed, 1);
  });

  it('windowFrom orders records and carries the reader counters', () => {
    const w = windowFrom(records('x', 'y').reverse(), 100, { overruns: 1, malformed: 2, truncated: true });
    assert.deepEqual(
      w.records.map((r) => r.seq),
      [100, 101],
    );
    assert.equal(w.overruns, 1);
    assert.equal(w.malformed, 2);
    assert.equal(w.truncated, true);
    assert.equal(w.lost, 0);
  });
});

describe('kmsg signature table', () => {
  it('lists exactly the named groups of each pattern as its captures', () => {
    for (const spec of [...SIGNATURES, UNRECOGNISED_FRAME, ...CONTEXT_LINES]) {
      const groups = [...spec.pattern.source.matchAll(/\(\?<([A-Za-z_]\w*)>/g)].map((m) => m[1]);
      const name = 'kind' in spec ? `${spec.kind} ${spec.signature}` : spec.name;
      assert.deepEqual(groups.sort(), [...spec.captures].sort(), name);
    }
  });

  it('has at least one signature for every finding kind, each anchored at the message start', () => {
    for (const kind of FINDING_KINDS)
      assert.ok(
        SIGNATURES.some((s) => s.kind === kind),
        kind,
      );
    for (const s of [...SIGNATURES, UNRECOGNISED_FRAME]) assert.ok(s.pattern.source.startsWith('^'), s.signature);
  });

  // One real-format line per kind (formats of 6.1 and 6.12; see signatures.ts).
  const samples: Array<[FindingKind, string, Record<string, string>]> = [
    ['bad-page-state', 'BUG: Bad page state in process kworker/1:2  pfn:04a1f', { process: 'kworker/1:2', pfn: '04a1f' }],
    ['bad-page-state', 'BUG: Bad page state: 12 messages suppressed', { suppressed: '12' }],
    ['bad-page-map', 'BUG: Bad page map in process node  pte:8000000104c1b025 pmd:10a6c5067', { process: 'node', pte: '8000000104c1b025' }],
    ['bad-rss-counter', 'BUG: Bad rss-counter state mm:00000000d6a54c1e type:MM_FILEPAGES val:1', { type: 'MM_FILEPAGES', val: '1' }],
    ['bad-rss-counter', 'BUG: Bad rss-counter state mm:ffff88020813c380 idx:1 val:-1', { idx: '1', val: '-1' }],
    ['nonzero-pgtables-bytes', 'BUG: non-zero pgtables_bytes on freeing mm: 4096', { bytes: '4096' }],
    ['kernel-bug', 'kernel BUG at mm/memory.c:2220!', { file: 'mm/memory.c', lineno: '2220' }],
    ['page-fault-oops', 'BUG: unable to handle page fault for address: ffffc90000a3d000', { address: 'ffffc90000a3d000' }],
    ['null-deref', 'BUG: kernel NULL pointer dereference, address: 0000000000000008', { address: '0000000000000008' }],
    [
      'gpf',
      'general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#2] PREEMPT SMP NOPTI',
      { address: '0xdead000000000100' },
    ],
    ['oops', 'Oops: 0002 [#1] PREEMPT SMP NOPTI', { what: 'Oops', code: '0002', oops: '1' }],
    ['oops', 'Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI', { what: 'Oops', code: '0002', oops: '1' }],
    ['oops', 'Oops: invalid opcode: 0000 [#3] PREEMPT SMP NOPTI', { what: 'invalid opcode', oops: '3' }],
    [
      'warning',
      'WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:5534 __alloc_pages+0x2b1/0x330',
      { cpu: '0', pid: '1', file: 'mm/page_alloc.c', lineno: '5534', func: '__alloc_pages+0x2b1/0x330' },
    ],
    ['warning', 'WARNING: CPU: 1 PID: 77 at mmaplab_fault+0x12/0x40 [mmaplab]', { func: 'mmaplab_fault+0x12/0x40', module: 'mmaplab' }],
    ['list-corruption', 'list_del corruption, ffff8880062c1e48->next is LIST_POISON1 (dead000000000100)', { op: 'list_del' }],
    [
      'list-corruption',
      'list_add corruption. prev->next should be next (ffff888004c3a6e8), but was 0000000000000000. (prev=ffff888005f0b2c0).',
      { op: 'list_add' },
    ],
    ['refcount', 'refcount_t: underflow; use-after-free.', { problem: 'underflow; use-after-free' }],
    ['vfree', 'Trying to vfree() nonexistent vm area (00000000c7e1f8a2)', { problem: 'nonexistent vm area', address: '00000000c7e1f8a2' }],
    [
      'pat',
      'x86/PAT: node:245 map pfn expected mapping type uncached-minus for [mem 0x10a3b1000-0x10a3b1fff], got write-back',
      { process: 'node', pid: '245' },
    ],
    ['pat', 'x86/PAT: memtype_reserve failed [mem 0xfd000000-0xfdffffff], track write-combining, req write-back', {}],
    [
      'kfence',
      'BUG: KFENCE: use-after-free read in mmaplab_fault+0x2c/0x90 [mmaplab]',
      { problem: 'use-after-free read', location: 'mmaplab_fault+0x2c/0x90 [mmaplab]' },
    ],
    [
      'soft-lockup',
      'watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [node:231]',
      { cpu: '1', seconds: '22', process: 'node', pid: '231' },
    ],
    ['rcu-stall', 'rcu: INFO: rcu_preempt self-detected stall on CPU', { flavor: 'rcu_preempt', stall: 'self-detected stall' }],
    ['rcu-stall', 'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:', { flavor: 'rcu_preempt' }],
    ['hung-task', 'INFO: task node:245 blocked for more than 120 seconds.', { process: 'node', pid: '245', seconds: '120' }],
    ['panic', 'Kernel panic - not syncing: Fatal exception in interrupt', { why: 'Fatal exception in interrupt' }],
    [
      'other-bug',
      'BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!',
      { what: 'workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!' },
    ],
    ['other-bug', 'BUG: Dentry 00000000a1b2c3d4{i=2,n=mmaplab} still in use (1) [unmount of tmpfs tmpfs]', {}],
    // The families of syzkaller's Linux report titles (pkg/report/linux.go), in the kernel's formats.
    ['bad-page-cache', 'BUG: Bad page cache in process node  pfn:10a3b1', { process: 'node', pfn: '10a3b1' }],
    [
      'bad-pgtable-entry',
      'mm/pgtable-generic.c:42: bad pud 00000000e10c17c1(61fbcf9409badd1a)',
      { file: 'mm/pgtable-generic.c', lineno: '42', level: 'pud', entry: '00000000e10c17c1', value: '61fbcf9409badd1a' },
    ],
    ['bad-pgtable-entry', 'mm/pgtable-generic.c:24: bad pgd 0000000012345678(0000000105e3b067)', { level: 'pgd' }],
    ['bad-pgtable-entry', 'mm/pgtable-generic.c:31: bad p4d 0000000012345678(0000000105e3b067)', { level: 'p4d' }],
    ['bad-pgtable-entry', 'mm/memory.c:1234: bad pte 0000000012345678(8000000105e3b225)', { file: 'mm/memory.c', level: 'pte' }],
    [
      'kernel-bug',
      'Kernel BUG at mmaplab_fault+0x1e/0x2d0 [mmaplab] [verbose debug info unavailable]',
      { location: 'mmaplab_fault+0x1e/0x2d0 [mmaplab]' },
    ],
    ['page-fault-oops', 'BUG: unable to handle kernel paging request at ffffc90000a3d000', { address: 'ffffc90000a3d000' }],
    ['null-deref', 'BUG: unable to handle kernel NULL pointer dereference at 0000000000000008', { address: '0000000000000008' }],
    [
      'stack-overflow',
      'BUG: TASK stack guard page was hit at 00000000a3c2e1f0 (stack is 000000001b7d6c4e..00000000e5f40a93)',
      { stack: 'TASK', address: '00000000a3c2e1f0' },
    ],
    ['stack-overflow', 'Thread overran stack, or stack corrupted', {}],
    [
      'kasan',
      'BUG: KASAN: slab-use-after-free in mmaplab_fault+0x1b3/0x2d0 [mmaplab]',
      { bugType: 'slab-use-after-free', location: 'mmaplab_fault+0x1b3/0x2d0 [mmaplab]' },
    ],
    ['kasan', 'BUG: KASAN: use-after-free in copy_page+0x7/0x10', { bugType: 'use-after-free', location: 'copy_page+0x7/0x10' }],
    ['kasan', 'BUG: KASAN: slab-out-of-bounds in mmaplab_fill+0x8c/0x260 [mmaplab]', { bugType: 'slab-out-of-bounds' }],
    ['kasan', 'BUG: KASAN: global-out-of-bounds in mmaplab_method_name+0x2a/0x40 [mmaplab]', { bugType: 'global-out-of-bounds' }],
    ['kasan', 'BUG: KASAN: vmalloc-out-of-bounds in mmaplab_fill+0x8c/0x260 [mmaplab]', { bugType: 'vmalloc-out-of-bounds' }],
    [
      'kasan',
      'BUG: KASAN: double-free in mmaplab_release+0x5e/0xc0 [mmaplab]',
      { bugType: 'double-free', location: 'mmaplab_release+0x5e/0xc0 [mmaplab]' },
    ],
    ['kasan', 'BUG: KASAN: invalid-free in mmaplab_release+0x5e/0xc0 [mmaplab]', { bugType: 'invalid-free' }],
    ['kasan', 'BUG: KASAN: double-free or invalid-free in kfree+0x8f/0x1c0', { bugType: 'double-free or invalid-free' }],
    ['kasan', 'BUG: KASAN: wild-memory-access in mmaplab_fault+0x1b3/0x2d0 [mmaplab]', { bugType: 'wild-memory-access' }],
    ['kasan', 'BUG: KASAN: null-ptr-deref in mmaplab_vma_close+0x4e/0x120 [mmaplab]', { bugType: 'null-ptr-deref' }],
    ['kasan', 'BUG: KASAN: invalid-access', { bugType: 'invalid-access' }],
    [
      'kmsan',
      'BUG: KMSAN: uninit-value in mmaplab_fill+0x1c6/0x260 [mmaplab]',
      { bugType: 'uninit-value', location: 'mmaplab_fill+0x1c6/0x260 [mmaplab]' },
    ],
    [
      'kmsan',
      'BUG: KMSAN: kernel-infoleak in _copy_to_user+0xbc/0x110',
      { bugType: 'kernel-infoleak', location: '_copy_to_user+0xbc/0x110' },
    ],
    [
      'kcsan',
      'BUG: KCSAN: data-race in mmaplab_fault / mmaplab_ioctl',
      { bugType: 'data-race', location: 'mmaplab_fault', other: 'mmaplab_ioctl' },
    ],
    ['kcsan', 'BUG: KCSAN: assert: race in mmaplab_release+0x22/0xc0 [mmaplab]', { bugType: 'assert: race' }],
    [
      'ubsan',
      'UBSAN: array-index-out-of-bounds in mm/mmaplab.c:211:23',
      { check: 'array-index-out-of-bounds', file: 'mm/mmaplab.c', lineno: '211', column: '23' },
    ],
    ['ubsan', 'UBSAN: shift-out-of-bounds in /build/mmaplab/mmaplab_main.c:318:29', { check: 'shift-out-of-bounds' }],
    ['ubsan', 'UBSAN: signed-integer-overflow in /build/mmaplab/mmaplab_store.c:90:17', { check: 'signed-integer-overflow', lineno: '90' }],
    ['ubsan', 'UBSAN: Undefined behaviour in mm/memory.c:1200:12', { check: 'Undefined behaviour' }],
    [
      'slab-debug',
      'BUG kmalloc-64 (Tainted: G    B     ): Object already free',
      { cache: 'kmalloc-64', tainted: 'G    B', problem: 'Object already free' },
    ],
    [
      'slab-debug',
      'BUG kmalloc-128 (Not tainted): Right Redzone overwritten',
      { cache: 'kmalloc-128', problem: 'Right Redzone overwritten' },
    ],
    ['slab-debug', 'BUG kmalloc-64 (Tainted: G           OE     ): Redzone overwritten', { problem: 'Redzone overwritten' }],
    [
      'slab-debug',
      'BUG mmaplab_page (Tainted: G           OE     ): Poison overwritten',
      { cache: 'mmaplab_page', problem: 'Poison overwritten' },
    ],
    [
      'slab-debug',
      'BUG kmalloc-64 (Tainted: G    B      OE     ): Padding overwritten. 0x00000000b2e1c4a7-0x000000005f3d90c1 @offset=4032',
      { problem: 'Padding overwritten. 0x00000000b2e1c4a7-0x000000005f3d90c1 @offset=4032' },
    ],
    ['slab-debug', 'BUG kmalloc-64 (Tainted: G    B      OE     ): Freepointer corrupt', { problem: 'Freepointer corrupt' }],
    [
      'slab-debug',
      'BUG kmalloc-64 (Tainted: G    B      OE     ): Wrong object count. Counter is 21 but counted were 20',
      { problem: 'Wrong object count. Counter is 21 but counted were 20' },
    ],
    ['slab-debug', 'SLUB <none>: no slab for object 0x00000000b2e1c4a7.', { cache: '<none>', object: '0x00000000b2e1c4a7' }],
    ['kmemleak', 'kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)', { leaks: '3' }],
    ['kmemleak', 'unreferenced object 0xffff888005e3b540 (size 64):', { object: 'ffff888005e3b540', size: '64' }],
    ['lockdep', 'WARNING: possible circular locking dependency detected', { problem: 'possible circular locking dependency detected' }],
    ['lockdep', 'WARNING: possible recursive locking detected', { problem: 'possible recursive locking detected' }],
    ['lockdep', 'WARNING: inconsistent lock state', { problem: 'inconsistent lock state' }],
    ['lockdep', 'WARNING: bad unlock balance detected!', { problem: 'bad unlock balance detected!' }],
    ['lockdep', 'WARNING: held lock freed!', { problem: 'held lock freed!' }],
    ['lockdep', 'WARNING: suspicious RCU usage', { problem: 'suspicious RCU usage' }],
    ['lockdep', 'WARNING: possible irq lock inversion dependency detected', { problem: 'possible irq lock inversion dependency detected' }],
    [
      'lockdep',
      'WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected',
      { problem: 'HARDIRQ-safe -> HARDIRQ-unsafe lock order detected' },
    ],
    ['lockdep', 'WARNING: lock held when returning to user space!', { problem: 'lock held when returning to user space!' }],
    ['lockdep', 'WARNING: node/245 still has locks held!', { process: 'node', pid: '245' }],
    ['lockdep', 'WARNING: Nested lock was not taken', { problem: 'Nested lock was not taken' }],
    ['lockdep', '[ BUG: Invalid wait context ]', { problem: 'Invalid wait context' }],
    ['lockdep', '[ INFO: possible circular locking dependency detected ]', { problem: 'possible circular locking dependency detected' }],
    ['lockdep', 'INFO: trying to register non-static key.', {}],
    ['lockdep', 'BUG: MAX_LOCKDEP_CHAINS too low!', { problem: 'MAX_LOCKDEP_CHAINS too low!' }],
    [
      'spinlock-debug',
      'BUG: spinlock bad magic on CPU#0, node/245',
      { lock: 'spinlock', problem: 'bad magic', cpu: '0', process: 'node', pid: '245' },
    ],
    ['spinlock-debug', 'BUG: spinlock recursion on CPU#1, kworker/1:2/87', { problem: 'recursion', process: 'kworker/1:2', pid: '87' }],
    ['spinlock-debug', 'BUG: rwlock wrong owner on CPU#0, node/245, 00000000a1b2c3d4', { lock: 'rwlock', problem: 'wrong owner' }],
    ['invalid-context', 'BUG: sleeping function called from invalid context at mm/slab.h:742', { file: 'mm/slab.h', lineno: '742' }],
    [
      'invalid-context',
      'BUG: scheduling while atomic: kworker/0:1/23/0x00000002',
      { process: 'kworker/0:1', pid: '23', preemptCount: '00000002' },
    ],
    [
      'invalid-context',
      'BUG: workqueue leaked atomic, lock or RCU: kworker/1:1[46]\n     preempt=0x00000000 lock=0->1 RCU=0->0 workfn=mmaplab_flush_work [mmaplab]',
      { process: 'kworker/1:1', pid: '46' },
    ],
    [
      'invalid-context',
      'BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/0/23',
      { process: 'kworker/0:1', preemptCount: '00000000', pid: '23' },
    ],
    ['invalid-context', 'BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000001/23', { process: 'kworker/0:1', pid: '23' }],
    [
      'invalid-context',
      'BUG: using smp_processor_id() in preemptible [00000000] code: node/245',
      { what: 'smp_processor_id', process: 'node', pid: '245' },
    ],
    ['invalid-context', 'BUG: using __this_cpu_read() in preemptible [00000000] code: node/245', { what: '__this_cpu_read' }],
    ['hard-lockup', 'NMI watchdog: Watchdog detected hard LOCKUP on cpu 1', { cpu: '1' }],
    ['hard-lockup', 'watchdog: CPU0: Watchdog detected hard LOCKUP on cpu 1', { reporter: '0', cpu: '1' }],
    ['hard-lockup', 'Watchdog detected hard LOCKUP on cpu 2', { cpu: '2' }],
    ['unrecognised', "WARNING: kernel stack regs at 00000000a1b2c3d4 in node:245 has bad 'bp' value 0000000000000001", {}],
    [
      'unrecognised',
      "INFO: task node:245 can't die for more than 120 seconds.",
      { what: "task node:245 can't die for more than 120 seconds." },
    ],
    [
      'unrecognised',
      'BUG kmalloc-64: an object shape this table does not know',
      { what: 'kmalloc-64: an object shape this table does not know' },
    ],
    ['unrecognised', '[ WARNING: some future lock checker ]', { what: 'some future lock checker' }],
  ];
  for (const [kind, line, expected] of samples) {
    it(`classifies "${line.slice(0, 60)}" as ${kind}`, () => {
      const found = classify(records(line));
      assert.ok(
        found.some((f) => f.kind === kind),
        `got ${kinds(found).join(', ') || 'nothing'}`,
      );
      const f = found.find((x) => x.kind === kind)!;
      for (const [name, value] of Object.entries(expected)) assert.equal(f.captures[name], value, name);
    });
  }

  const notComplaints = [
    'x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT  ',
    'x86/PAT: PAT support disabled via boot option.',
    'traps: node[233] general protection fault ip:7f2a1c01d0e5 sp:7ffd5a3c1e40 error:0 in libc.so.6[7f2a1bf8a000+155000]',
    'node[234]: segfault at 0 ip 000055d0c2a1b3c4 sp 00007ffd5a3c1e40 error 4 in node[55d0c1e00000+2c5d000]',
    '---[ end Kernel panic - not syncing: Fatal exception ]---',
    'kfence: initialized - using 2097152 bytes for 255 objects at 0x(____ptrval____)-0x(____ptrval____)',
    'rcu: Hierarchical RCU implementation.',
    'page dumped because: nonzero _refcount',
    // Boot and run-time lines with a complaint's prefix that are not complaints.
    'INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.234 msecs',
    'INFO: lockdep is turned off.',
    'WARNING: workqueue cpumask: online intersect > possible intersect',
    'Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!',
    'Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar',
    'kasan: KernelAddressSanitizer initialized (generic)',
    'kmemleak: Kernel memory leak detector initialized (mem pool available: 15701)',
    'kmemleak: Automatic memory scanning thread started',
    'NMI watchdog: Enabled. Permanently consumes one hw-PMU counter.',
    'NMI watchdog: Perf NMI watchdog permanently disabled',
    'Disabling lock debugging due to kernel taint',
    'BUGS: a word that starts like a banner',
    // Report lines outside a report: the context they are has nothing to complete.
    'FIX kmalloc-64: Restoring Poison 0x00000000b2e1c4a7-0x000000005f3d90c1=0x6b',
    'vma ffff888005f0b2c0 start 00007f2a1c000000 end 00007f2a1c004000 mm ffff888004f2d140',
    '==================================================================',
  ];
  for (const line of notComplaints) {
    it(`does not report "${line.slice(0, 60)}"`, () => {
      assert.deepEqual(kinds(classify(records(line))), []);
    });
  }
});

describe('kmsg classification of fixtures', () => {
  it('6.1 Bad page state: one finding per report, with process, pfn and the reason printed records later', () => {
    const findings = classify(fixture('bad-page-state-6.1.txt'));
    assert.deepEqual(kinds(findings), ['bad-page-state', 'bad-page-state']);
    const [first, second] = findings as [Finding, Finding];
    assert.equal(first.process, 'rmmod');
    assert.equal(first.captures['pfn'], '10a3b1');
    assert.equal(first.reason, 'nonzero _refcount');
    assert.equal(first.pid, 231, 'pid comes from the CPU: line of the stack dump');
    assert.equal(first.captures['tainted'], 'G           OE');
    assert.equal(first.captures['release'], '6.1.0-56-amd64');
    assert.equal(second.captures['pfn'], '10a3b2');
    assert.equal(second.reason, 'nonzero _refcount');
    assert.equal(second.captures['tainted'], 'G    B      OE');
    assert.equal(parseTaintString(second.captures['tainted']), 2 ** 5 + MODULE_OWN_MASK);
    assert.ok(findings.every((f) => f.severity === 'complaint'));
  });

  it('6.1 Bad page state: the summary is a complaint whose evidence holds the BUG and reason lines', () => {
    const { summary } = analyzeWindow(fixture('bad-page-state-6.1.txt'));
    assert.equal(summary.severity, 'complaint');
    assert.equal(summary.headline?.kind, 'bad-page-state');
    assert.equal(summary.headline?.captures['pfn'], '10a3b1');
    assert.deepEqual(summary.counts, { 'bad-page-state': 2 });
    const lines = summary.evidence.map((e) => e.line);
    assert.ok(lines.includes('BUG: Bad page state in process rmmod  pfn:10a3b1'));
    assert.ok(lines.includes('page dumped because: nonzero _refcount'));
    assert.ok(lines.some((l) => l.startsWith('CPU: 1 PID: 231 Comm: rmmod')));
    assert.deepEqual(
      summary.evidence.map((e) => e.seq),
      [...summary.evidence.map((e) => e.seq)].sort((a, b) => a - b),
      'evidence is in sequence order',
    );
    assert.equal(summary.oopses, 0);
  });

  it('6.12 Bad rss-counter: one finding per line, with type, val and the exiting task', () => {
    const findings = classify(fixture('bad-rss-counter-6.12.txt'));
    assert.deepEqual(kinds(findings), ['bad-rss-counter', 'bad-rss-counter']);
    assert.deepEqual(
      findings.map((f) => [f.captures['type'], f.captures['val']]),
      [
        ['MM_FILEPAGES', '1'],
        ['MM_ANONPAGES', '-1'],
      ],
    );
    assert.ok(findings.every((f) => f.process === 'node' && f.pid === 245));
    assert.equal(summarize(findings).severity, 'complaint');
  });

  it('6.1 write fault on a slab page: page-fault report and a single oops #1 in fault_dirty_shared_page', () => {
    const findings = classify(fixture('oops-fault-dirty-shared-page-6.1.txt'));
    assert.deepEqual(kinds(findings), ['page-fault-oops', 'oops']);
    const [pf, oops] = findings as [Finding, Finding];
    assert.equal(pf.captures['address'], '0000000400000068');
    assert.equal(pf.captures['access'], 'supervisor read access in kernel mode');
    assert.equal(pf.captures['errorCode'], '0x0000');
    assert.equal(pf.captures['pageState'], 'not-present page');
    assert.equal(oops.captures['oops'], '1');
    assert.equal(oops.captures['code'], '0000');
    assert.equal(oops.captures['config'], 'PREEMPT SMP NOPTI');
    assert.equal(oops.captures['rip'], 'fault_dirty_shared_page+0x8d/0x150');
    assert.equal(oops.process, 'node');
    const summary = summarize(findings);
    assert.equal(summary.severity, 'oops');
    assert.equal(summary.oopses, 1, 'the second (summary) RIP block is not a second oops');
    assert.equal(summary.headline?.kind, 'page-fault-oops', 'first oops-level finding wins');
    assert.match(describeFinding(oops), /fault_dirty_shared_page/);
  });

  it('6.12 WARNING: file, line, function and module from the header; task and RIP from the dump', () => {
    const findings = classify(fixture('warning-6.12.txt'));
    assert.deepEqual(kinds(findings), ['warning']);
    const w = at(findings, 0, 'the first finding');
    assert.equal(w.captures['file'], '/build/mmaplab/mmaplab_main.c');
    assert.equal(w.captures['lineno'], '412');
    assert.equal(w.captures['func'], 'mmaplab_release+0x9a/0xc0');
    assert.equal(w.captures['module'], 'mmaplab');
    assert.equal(w.pid, 245);
    assert.equal(w.process, 'node', '6.12 "CPU: 1 UID: 0 PID: ..." form');
    assert.equal(w.captures['release'], '6.12.117+deb12-amd64');
    assert.equal(w.captures['rip'], 'mmaplab_release+0x9a/0xc0 [mmaplab]');
    assert.equal(summarize(findings).severity, 'complaint');
  });

  it('6.12 panic after a GPF: the panic is the headline, the GPF the cause, one oops counted', () => {
    const findings = classify(fixture('panic-6.12.txt'));
    assert.deepEqual(kinds(findings), ['gpf', 'oops', 'panic']);
    const gpf = at(findings, 0, 'the GPF');
    assert.equal(gpf.seq, at(findings, 1, 'the oops').seq, 'the GPF line is also the oops header');
    assert.equal(gpf.captures['address'], '0xdead000000000122');
    const summary = summarize(findings);
    assert.equal(summary.severity, 'panic');
    assert.equal(summary.headline?.kind, 'panic');
    assert.equal(summary.headline?.captures['why'], 'Fatal exception');
    assert.equal(summary.cause?.kind, 'gpf');
    assert.equal(summary.oopses, 1);
    assert.deepEqual(summary.counts, { gpf: 1, oops: 1, panic: 1 });
  });

  it('a clean window has no findings and a clean summary', () => {
    const { findings, summary } = analyzeWindow(fixture('clean-6.1.txt'));
    assert.deepEqual(findings, []);
    assert.equal(summary.severity, 'clean');
    assert.equal(summary.headline, null);
    assert.equal(summary.cause, null);
    assert.deepEqual(summary.evidence, []);
  });

  it('classifyWindow is classify (the name the cell runner uses)', () => {
    const rs = fixture('warning-6.12.txt');
    assert.deepEqual(classifyWindow(rs), classify(rs));
  });

  it('findings are plain JSON data', () => {
    const findings = classify(fixture('oops-fault-dirty-shared-page-6.1.txt'));
    assert.deepEqual(JSON.parse(JSON.stringify(findings)), findings);
  });
});

describe('kmsg classification of the complaint families (test/fixtures/kmsg)', () => {
  for (const fx of FAMILY_FIXTURES) {
    it(fx.title, () => {
      assertFamilyFindings(classify(fixture(fx.file)), fx.findings, fx.file);
    });
  }

  it('every family fixture ends up a complaint or worse in the summary, with its lines as evidence', () => {
    for (const fx of FAMILY_FIXTURES) {
      const { findings, summary } = analyzeWindow(fixture(fx.file));
      assert.notEqual(summary.severity, 'clean', fx.file);
      for (const f of findings)
        assert.ok(
          summary.evidence.some((e) => e.seq === f.seq),
          `${fx.file}: ${f.line}`,
        );
    }
  });

  it('a SLUB report keeps its frame, trailer and FIX lines as context', () => {
    const [first] = classify(fixture('slub-6.1.txt')) as [Finding];
    const lines = first.context.map((c) => c.line);
    assert.ok(lines.includes('============================================================================='));
    assert.ok(lines.some((l) => l.startsWith('0x00000000b2e1c4a7-0x000000005f3d90c1 @offset=1344. First byte 0x41')));
    assert.ok(lines.includes('FIX kmalloc-64: Restoring Poison 0x00000000b2e1c4a7-0x000000005f3d90c1=0x6b'));
    assert.equal(first.captures['objects'], '21');
  });
});

describe('kmsg classification rules', () => {
  it('a reason goes to the most recent Bad page report that has none, not to an older one', () => {
    const findings = classify(
      records(
        'BUG: Bad page map in process node  pte:8000000104c1b025 pmd:10a6c5067',
        'addr:00007f2a1c000000 vm_flags:000000fb anon_vma:0000000000000000 mapping:ffff888004a1e2d0 index:0',
        'BUG: Bad page state in process node  pfn:104c1b',
        'page:000000004e1f7a1c refcount:0 mapcount:-128 mapping:0000000000000000 index:0x0 pfn:0x104c1b',
        'flags: 0x17ffffc0000000(node=0|zone=2|lastcpupid=0x1fffff)',
        'page dumped because: nonzero mapcount',
      ),
    );
    assert.deepEqual(kinds(findings), ['bad-page-map', 'bad-page-state']);
    assert.equal(at(findings, 0, 'the first finding').reason, undefined);
    assert.equal(at(findings, 1, 'the second finding').reason, 'nonzero mapcount');
  });

  it('a page dump printed before a BUG (VM_BUG_ON_PAGE) gives its reason to the kernel BUG', () => {
    const findings = classify(
      records(
        'page:00000000a1b2c3d4 refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x10a3b1',
        'page dumped because: VM_BUG_ON_PAGE(page_ref_count(page) == 0)',
        'kernel BUG at include/linux/mm.h:1145!',
        'invalid opcode: 0000 [#1] PREEMPT SMP NOPTI',
      ),
    );
    assert.deepEqual(kinds(findings), ['kernel-bug', 'oops']);
    assert.equal(at(findings, 0, 'the first finding').reason, 'VM_BUG_ON_PAGE(page_ref_count(page) == 0)');
    assert.equal(at(findings, 1, 'the second finding').captures['what'], 'invalid opcode');
  });

  it('a context line too far from its finding is not attached', () => {
    const filler = Array.from({ length: 70 }, (_, i) => `filler ${i}`);
    const findings = classify(records('BUG: Bad page state in process a  pfn:1', ...filler, 'page dumped because: late'));
    assert.equal(at(findings, 0, 'the first finding').reason, undefined);
  });

  it('one CPU: line completes every report of the same dump (refcount_t then WARNING)', () => {
    const findings = classify(
      records(
        '------------[ cut here ]------------',
        'refcount_t: addition on 0; use-after-free.',
        'WARNING: CPU: 0 PID: 301 at lib/refcount.c:25 refcount_warn_saturate+0xba/0x110',
        'Modules linked in: mmaplab(OE)',
        'CPU: 0 PID: 301 Comm: node Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-1',
        'RIP: 0010:refcount_warn_saturate+0xba/0x110',
      ),
    );
    assert.deepEqual(kinds(findings), ['refcount', 'warning']);
    assert.ok(findings.every((f) => f.process === 'node' && f.pid === 301));
    assert.equal(at(findings, 1, 'the second finding').captures['rip'], 'refcount_warn_saturate+0xba/0x110');
    assert.equal(summarize(findings).cause?.kind, 'refcount');
  });

  it('a 6.12 oops header with a doubled "Oops: " is counted once', () => {
    const findings = classify(
      records(
        'BUG: kernel NULL pointer dereference, address: 0000000000000008',
        '#PF: supervisor write access in kernel mode',
        '#PF: error_code(0x0002) - not-present page',
        'Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI',
      ),
    );
    assert.deepEqual(kinds(findings), ['null-deref', 'oops']);
    assert.equal(at(findings, 0, 'the first finding').captures['access'], 'supervisor write access in kernel mode');
    assert.equal(summarize(findings).oopses, 1);
  });
});

describe('kmsg classification: unrecognised reports', () => {
  const frame66 = '='.repeat(66);

  it('the title of a "=====" frame no entry knows is an unrecognised finding; its closing frame and what follows are not', () => {
    const findings = classify(
      records(
        'mmaplab: session 3 opened',
        frame66,
        'KMSAN: some-future-check in mmaplab_fill+0x1c6/0x260 [mmaplab]',
        ' mmaplab_fill+0x1c6/0x260 [mmaplab]',
        'CPU: 1 UID: 0 PID: 245 Comm: node Tainted: G           OE      6.12.117+deb12-amd64 #1  Debian 6.12.117-1',
        frame66,
        'Disabling lock debugging due to kernel taint',
        'mmaplab: session 3 released',
      ),
    );
    assert.deepEqual(kinds(findings), ['unrecognised']);
    const f = at(findings, 0, 'the unrecognised finding');
    assert.equal(f.captures['what'], 'KMSAN: some-future-check in mmaplab_fill+0x1c6/0x260 [mmaplab]');
    assert.equal(f.severity, 'complaint');
    assert.equal(f.process, 'node', 'the CPU: line of its dump completes it');
  });

  it('a window that starts inside a framed report does not take its closing frame for an opening one', () => {
    const findings = classify(
      records(
        ' ffff888006b4c400: fa fb fb fb fb fb fb fb fc fc fc fc fc fc fc fc',
        frame66,
        'Disabling lock debugging due to kernel taint',
      ),
    );
    assert.deepEqual(kinds(findings), []);
  });

  it('a frame underlined with "-" (lockdep, SLUB) stays no open frame: the next report of that width is read on its own', () => {
    const lockdep = [
      '=====================================',
      'WARNING: bad unlock balance detected!',
      '6.1.0-56-amd64 #1 Tainted: G           OE     ',
      '-------------------------------------',
    ];
    const findings = classify(
      records(...lockdep, 'filler', '=====================================', 'a report nobody knows of that width'),
    );
    assert.deepEqual(kinds(findings), ['lockdep', 'unrecognised']);
  });

  it('SLUB trailer lines of older kernels ("INFO: ...") are context of their report, not unrecognised', () => {
    const findings = classify(
      records(
        '=============================================================================',
        'BUG kmalloc-64 (Tainted: G    B           ): Poison overwritten',
        '-----------------------------------------------------------------------------',
        'INFO: 0x00000000b2e1c4a7-0x000000005f3d90c1 @offset=1344. First byte 0x41 instead of 0x6b',
        'INFO: Allocated in mmaplab_buffer_alloc+0x4c/0x1a0 [mmaplab] age=231 cpu=1 pid=245',
        'INFO: Freed in mmaplab_buffer_free+0x7e/0x110 [mmaplab] age=12 cpu=1 pid=245',
        'INFO: Slab 0x00000000a3c7e21f objects=21 used=21 fp=0x0000000000000000 flags=0x100000000010200',
        'INFO: Object 0x00000000b2e1c4a7 @offset=1344 fp=0x00000000c91e5f02',
      ),
    );
    assert.deepEqual(kinds(findings), ['slab-debug']);
    const f = at(findings, 0, 'the slab-debug finding');
    assert.equal(f.captures['found'], '0x41');
    assert.equal(f.captures['allocatedIn'], 'mmaplab_buffer_alloc+0x4c/0x1a0 [mmaplab]');
    assert.equal(f.captures['objectOffset'], '1344');
  });

  it('a framed note that is no complaint (fs/namespace.c on the "mand" mount option) stays silent', () => {
    const frame = '='.repeat(55);
    const findings = classify(
      records(
        frame,
        'WARNING: The mand mount option has been deprecated and',
        '         and is ignored by this kernel. Remove the mand',
        '         option from the mount to silence this warning.',
        frame,
      ),
    );
    assert.deepEqual(kinds(findings), []);
  });

  it('an "INFO:" line no report in reach wants is unrecognised', () => {
    const findings = classify(records('INFO: Slab 0x00000000a3c7e21f objects=21 used=21 fp=0x0000000000000000 flags=0x100000000010200'));
    assert.deepEqual(kinds(findings), ['unrecognised']);
  });

  it("a banner written to /dev/kmsg by a user process is not the kernel's", () => {
    const [user] = records('WARNING: the test harness says something');
    assert.deepEqual(kinds(classify([{ ...user!, facility: 1 }])), []);
    assert.deepEqual(kinds(classify([user!])), ['unrecognised']);
  });
});

describe('kmsg classification: lock reports', () => {
  it('suspicious RCU usage: the file, line and message after the banner are its reason', () => {
    const findings = classify(
      records(
        '',
        '=============================',
        'WARNING: suspicious RCU usage',
        '6.1.0-56-amd64 #1 Tainted: G           OE     ',
        '-----------------------------',
        '/build/mmaplab/mmaplab_main.c:233 suspicious rcu_dereference_check() usage!',
        '',
        'other info that might help us debug this:',
        '',
        'rcu_scheduler_active = 2, debug_locks = 1',
        'no locks held by node/245.',
        '',
        'stack backtrace:',
        'CPU: 0 PID: 245 Comm: node Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-1',
      ),
    );
    assert.deepEqual(kinds(findings), ['lockdep']);
    const f = at(findings, 0, 'the first finding');
    assert.equal(f.captures['problem'], 'suspicious RCU usage');
    assert.equal(f.captures['file'], '/build/mmaplab/mmaplab_main.c');
    assert.equal(f.captures['lineno'], '233');
    assert.equal(f.reason, 'suspicious rcu_dereference_check() usage');
    assert.equal(f.process, 'node');
  });

  it('spinlock debugging: the lock, its magic and its owner', () => {
    const findings = classify(
      records(
        'BUG: spinlock bad magic on CPU#1, node/245',
        ' lock: mmaplab_lock+0x0/0x20 [mmaplab], .magic: 00000000, .owner: <none>/-1, .owner_cpu: 0',
        'CPU: 1 PID: 245 Comm: node Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-1',
      ),
    );
    assert.deepEqual(kinds(findings), ['spinlock-debug']);
    assert.deepEqual(
      ['lockName', 'magic', 'owner', 'ownerPid'].map((k) => at(findings, 0, 'the first finding').captures[k]),
      ['mmaplab_lock+0x0/0x20 [mmaplab]', '00000000', '<none>', '-1'],
    );
  });
});

describe('kmsg classification: VM_BUG_ON_* dumps', () => {
  it('VM_BUG_ON_MM: the dump_mm lines give the BUG its mm and are no findings themselves', () => {
    const findings = classify(
      records(
        'mm ffff888004f2d140 task_size 140737488351232\nmmap_base 140163839426560 mmap_legacy_base 47194147647488\npgd ffff88800532a000 mm_users 1 mm_count 3 pgtables_bytes 49152 map_count 21',
        'hiwater_rss 4f0 hiwater_vm 2d8c0 total_vm 2d8c0 locked_vm 0',
        'def_flags: 0x0()',
        '------------[ cut here ]------------',
        'kernel BUG at mm/mmap.c:3307!',
        'invalid opcode: 0000 [#1] PREEMPT SMP NOPTI',
      ),
    );
    assert.deepEqual(kinds(findings), ['kernel-bug', 'oops']);
    const bug = at(findings, 0, 'the kernel BUG');
    assert.equal(bug.captures['mm'], 'ffff888004f2d140');
    assert.equal(bug.reason, undefined);
  });

  it('VM_BUG_ON_PAGE and VM_BUG_ON_FOLIO: the reason goes to the BUG even with a Bad page state before it', () => {
    const findings = classify(
      records(
        'BUG: Bad page state in process node  pfn:104c1b',
        'page dumped because: nonzero mapcount',
        'page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x104c1c',
        'page dumped because: VM_BUG_ON_FOLIO(folio_ref_count(folio) == 0)',
        'kernel BUG at include/linux/mm.h:1511!',
      ),
    );
    assert.deepEqual(
      findings.map((f) => [f.kind, f.reason]),
      [
        ['bad-page-state', 'nonzero mapcount'],
        ['kernel-bug', 'VM_BUG_ON_FOLIO(folio_ref_count(folio) == 0)'],
      ],
    );
  });
});

describe('kmsg severity and summary', () => {
  it('orders severities panic > oops > complaint', () => {
    assert.ok(compareSeverity('panic', 'oops') > 0);
    assert.ok(compareSeverity('oops', 'complaint') > 0);
    assert.ok(compareSeverity('complaint', 'panic') < 0);
    assert.equal(compareSeverity('oops', 'oops'), 0);
  });

  it('the headline is the worst finding whatever the order; among equals the earliest', () => {
    const findings = classify(
      records(
        'WARNING: CPU: 0 PID: 1 at mm/a.c:1 f+0x1/0x2',
        'BUG: Bad page state in process x  pfn:1',
        'kernel BUG at mm/b.c:2!',
        'invalid opcode: 0000 [#1] PREEMPT SMP NOPTI',
        'BUG: Bad rss-counter state mm:0000000000000001 type:MM_ANONPAGES val:1',
      ),
    );
    const s = summarize(findings);
    assert.equal(s.severity, 'oops');
    assert.equal(s.headline?.kind, 'kernel-bug');
    assert.equal(s.cause?.kind, 'warning');
    assert.equal(summarize([...findings].reverse()).headline?.kind, 'kernel-bug', 'input order does not matter');
  });

  it('caps evidence but always keeps the headline lines', () => {
    const many = Array.from(
      { length: 30 },
      (_, i) => `BUG: Bad rss-counter state mm:00000000000000${String(i).padStart(2, '0')} type:MM_FILEPAGES val:1`,
    );
    const s = summarize(classify(records(...many, 'Kernel panic - not syncing: Fatal exception')), { maxEvidence: 5 });
    assert.equal(s.evidence.length, 5);
    assert.equal(s.evidenceOmitted, 26);
    assert.ok(s.evidence.some((e) => e.line.startsWith('Kernel panic')));
  });
});

describe('kernel taint', () => {
  it('decodes B and D (bits 5 and 7) with their names', () => {
    const d = decodeTaint(2 ** 5 + 2 ** 7);
    assert.equal(d.letters, 'BD');
    assert.deepEqual(
      d.flags.map((f) => f.name),
      ['BAD_PAGE', 'DIE'],
    );
    assert.deepEqual(d.unknownBits, []);
  });

  it('knows the kernel table: bit 0 P, 9 W, 12 O, 13 E, 14 L, 18 N', () => {
    const letter = (bit: number): string | undefined => TAINT_FLAGS.find((f) => f.bit === bit)?.letter;
    assert.deepEqual([0, 9, 12, 13, 14, 18].map(letter), ['P', 'W', 'O', 'E', 'L', 'N']);
    assert.equal(TAINT_FLAGS.map((f) => f.letter).join(''), 'PFSRMBUDAWCIOELKXTNJ');
    assert.deepEqual(TROUBLE_BITS.map(letter), ['B', 'D', 'W', 'L']);
  });

  it('an untainted kernel decodes to nothing; unknown bits are reported, not dropped', () => {
    assert.equal(decodeTaint(0).letters, '');
    assert.deepEqual(decodeTaint(2 ** 25 + 2 ** 9).unknownBits, [25]);
    assert.throws(() => decodeTaint(-1), RangeError);
  });

  it('prints and parses the fixed-width field of "Tainted: G    B      OE"', () => {
    const mask = 2 ** 5 + MODULE_OWN_MASK;
    // 19 columns (bits 0-18); the CPU: line adds one more space before the release.
    assert.equal(taintString(mask), 'G    B      OE     ');
    assert.equal(taintString(mask).length, 19);
    assert.equal(taintString(0).trim(), 'G');
    assert.equal(taintString(1)[0], 'P');
    assert.equal(parseTaintString('G    B      OE'), mask);
    assert.equal(parseTaintString('Tainted: [B]=BAD_PAGE, [O]=OOT_MODULE, [E]=UNSIGNED_MODULE'), mask);
    for (let m = 0; m < 2 ** 19; m += 4099) assert.equal(parseTaintString(taintString(m)), m);
  });

  it("diff reports bits gained with mmaplab's own O and E masked out", () => {
    const d = diffTaint(0, 2 ** 12 + 2 ** 13 + 2 ** 9);
    assert.deepEqual(
      d.gained.map((f) => f.letter),
      ['W'],
    );
    assert.equal(d.gainedMask, 2 ** 9);
    assert.deepEqual(
      d.trouble.map((f) => f.letter),
      ['W'],
    );
    assert.deepEqual(taintGained(0, 2 ** 12 + 2 ** 13), []);
    assert.deepEqual(taintGained(2 ** 5, 2 ** 5 + 2 ** 7 + 2 ** 12), ['D'], 'bits already set before are not gained');
    assert.deepEqual(
      diffTaint(0, MODULE_OWN_MASK, 0).gained.map((f) => f.letter),
      ['O', 'E'],
      'an explicit empty mask keeps O and E',
    );
    assert.deepEqual(
      troubleFlags(2 ** 14 + 2 ** 12 + 2 ** 0).map((f) => f.letter),
      ['L'],
    );
  });

  it("reads this host's /proc/sys/kernel/tainted as a number", () => {
    const mask = readTaint();
    assert.ok(Number.isSafeInteger(mask) && mask >= 0, String(mask));
  });

  it('reads a taint file and rejects unreadable or non-numeric ones with ETAINT', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsg-taint-'));
    try {
      fs.writeFileSync(path.join(dir, 'ok'), '12320\n');
      assert.equal(readTaint(path.join(dir, 'ok')), 12320);
      fs.writeFileSync(path.join(dir, 'bad'), 'tainted!\n');
      throwsCode(() => readTaint(path.join(dir, 'bad')), KMSG_ERRORS.taint);
      throwsCode(() => readTaint(path.join(dir, 'missing')), KMSG_ERRORS.taint);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
