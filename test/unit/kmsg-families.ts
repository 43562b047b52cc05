/**
 * The kernel's complaint families as the classifier must read them: one
 * /dev/kmsg fixture per family (test/fixtures/kmsg, written from the kernel's
 * format strings; see the README there) and what each must give. Shared by
 * the record path (kmsg.test.ts) and `mmaplab classify` (classify-log.test.ts).
 */
import { strict as assert } from 'node:assert';
import type { Finding, FindingKind, Severity } from '../../lib/kmsg';
import { at } from '../../lib/util/at';

export interface ExpectedFinding {
  kind: FindingKind;
  severity: Severity;
  /** Captures the finding must have (others may be there too). */
  captures?: Record<string, string>;
  reason?: string;
  process?: string;
  pid?: number;
}

export interface FamilyFixture {
  file: string;
  /** What the fixture shows, for test names. */
  title: string;
  findings: ExpectedFinding[];
}

export const FAMILY_FIXTURES: readonly FamilyFixture[] = [
  {
    file: 'lockdep-circular-6.12.txt',
    title: 'lockdep circular locking dependency (6.12): the problem, and the task from "is trying to acquire lock"',
    findings: [
      {
        kind: 'lockdep',
        severity: 'complaint',
        captures: { problem: 'possible circular locking dependency detected', release: '6.12.117+deb12-amd64' },
        process: 'node',
        pid: 245,
      },
    ],
  },
  {
    file: 'lockdep-unlock-balance-6.1.txt',
    title: 'lockdep bad unlock balance (6.1)',
    findings: [
      { kind: 'lockdep', severity: 'complaint', captures: { problem: 'bad unlock balance detected!' }, process: 'node', pid: 245 },
    ],
  },
  {
    file: 'ubsan-6.1.txt',
    title: 'UBSAN array-index-out-of-bounds in a "=====" frame (6.1): check, file:line:column, and the index line as reason',
    findings: [
      {
        kind: 'ubsan',
        severity: 'complaint',
        captures: { check: 'array-index-out-of-bounds', file: '/build/mmaplab/mmaplab_store.c', lineno: '211', column: '23' },
        reason: "index 4 is out of range for type 'struct page *[4]'",
        process: 'node',
      },
    ],
  },
  {
    file: 'ubsan-6.12.txt',
    title: 'UBSAN shift-out-of-bounds after "cut here" (6.12)',
    findings: [
      {
        kind: 'ubsan',
        severity: 'complaint',
        captures: { check: 'shift-out-of-bounds', lineno: '318', column: '29' },
        reason: "shift exponent 64 is too large for 64-bit type 'long unsigned int'",
      },
    ],
  },
  {
    file: 'kasan-6.12.txt',
    title: 'KASAN slab-use-after-free (6.12): bug type, function, access, address, cache and task',
    findings: [
      {
        kind: 'kasan',
        severity: 'complaint',
        captures: {
          bugType: 'slab-use-after-free',
          location: 'mmaplab_fault+0x1b3/0x2d0 [mmaplab]',
          access: 'Read',
          size: '8',
          address: 'ffff888006b4c318',
          cache: 'kmalloc-64',
        },
        process: 'node',
        pid: 245,
      },
    ],
  },
  {
    file: 'kasan-gpf-6.12.txt',
    title: 'KASAN inline: a general protection fault with "KASAN: null-ptr-deref in range"',
    findings: [
      {
        kind: 'gpf',
        severity: 'oops',
        captures: { address: '0xdffffc0000000001', kasanBug: 'null-ptr-deref', kasanRange: '0x0000000000000008-0x000000000000000f' },
      },
      { kind: 'oops', severity: 'oops', captures: { config: 'PREEMPT SMP KASAN NOPTI', rip: 'mmaplab_vma_close+0x4e/0x120 [mmaplab]' } },
    ],
  },
  {
    file: 'kmsan-6.12.txt',
    title: 'KMSAN uninit-value (6.12)',
    findings: [
      {
        kind: 'kmsan',
        severity: 'complaint',
        captures: { bugType: 'uninit-value', location: 'mmaplab_fill+0x1c6/0x260 [mmaplab]', uninitBytes: '4-7', accessSize: '8' },
        process: 'node',
      },
    ],
  },
  {
    file: 'kcsan-6.12.txt',
    title: 'KCSAN data-race between two functions (6.12)',
    findings: [
      {
        kind: 'kcsan',
        severity: 'complaint',
        captures: { bugType: 'data-race', location: 'mmaplab_fault', other: 'mmaplab_ioctl', access: 'write', size: '8' },
      },
    ],
  },
  {
    file: 'slub-6.1.txt',
    title: 'SLUB "Poison overwritten" then "Object already free" (6.1): cache, problem, the bytes, and the FIX lines',
    findings: [
      {
        kind: 'slab-debug',
        severity: 'complaint',
        captures: {
          cache: 'kmalloc-64',
          problem: 'Poison overwritten',
          found: '0x41',
          expected: '0x6b',
          allocatedIn: 'mmaplab_buffer_alloc+0x4c/0x1a0 [mmaplab]',
          fix: 'Restoring Poison 0x00000000b2e1c4a7-0x000000005f3d90c1=0x6b',
        },
        process: 'node',
      },
      {
        kind: 'slab-debug',
        severity: 'complaint',
        captures: {
          cache: 'kmalloc-64',
          tainted: 'G    B      OE',
          problem: 'Object already free',
          fix: 'Object at 0x00000000c4d2e7a1 not freed',
        },
      },
    ],
  },
  {
    file: 'bad-pmd-6.1.txt',
    title: 'a bad pmd cleared by pmd_clear_bad, then the rss counters at exit (6.1)',
    findings: [
      {
        kind: 'bad-pgtable-entry',
        severity: 'complaint',
        captures: { file: 'mm/pgtable-generic.c', lineno: '50', level: 'pmd', value: '9d3e0f5a1b7c4406' },
      },
      { kind: 'bad-rss-counter', severity: 'complaint', captures: { type: 'MM_ANONPAGES', val: '3' } },
    ],
  },
  {
    file: 'hard-lockup-6.12.txt',
    title: 'hard lockup (6.12 "watchdog: CPU1: ..."): the CPUs and where it spun',
    findings: [
      {
        kind: 'hard-lockup',
        severity: 'complaint',
        captures: { reporter: '1', cpu: '1', rip: 'native_queued_spin_lock_slowpath+0x6e/0x2e0' },
        process: 'node',
      },
    ],
  },
  {
    file: 'invalid-context-6.1.txt',
    title: 'sleeping in atomic context, then scheduling while atomic (6.1)',
    findings: [
      {
        kind: 'invalid-context',
        severity: 'complaint',
        captures: {
          file: 'include/linux/sched/mm.h',
          lineno: '274',
          inAtomic: '1',
          irqsDisabled: '0',
          caller: 'mmaplab_fault+0x2a/0x2d0 [mmaplab]',
        },
        process: 'node',
        pid: 245,
      },
      { kind: 'invalid-context', severity: 'complaint', captures: { preemptCount: '00000002' }, process: 'node', pid: 245 },
    ],
  },
  {
    file: 'kmemleak-6.12.txt',
    title: 'kmemleak with kmemleak.verbose=1: the object and its task, then the scan summary (6.12)',
    findings: [
      { kind: 'kmemleak', severity: 'complaint', captures: { object: 'ffff888005e3b540', size: '64' }, process: 'node', pid: 245 },
      { kind: 'kmemleak', severity: 'complaint', captures: { leaks: '1' } },
    ],
  },
  {
    file: 'vm-bug-on-folio-6.12.txt',
    title: 'VM_BUG_ON_FOLIO (6.12): the page dump reason printed before the BUG is its reason',
    findings: [
      {
        kind: 'kernel-bug',
        severity: 'oops',
        captures: { file: 'mm/filemap.c', lineno: '1497' },
        reason: 'VM_BUG_ON_FOLIO(!folio_test_locked(folio))',
      },
      { kind: 'oops', severity: 'oops', captures: { what: 'invalid opcode', rip: 'folio_unlock+0x4a/0x50' } },
    ],
  },
  {
    file: 'vm-bug-on-vma-6.1.txt',
    title: 'VM_BUG_ON_VMA (6.1): the dumped VMA goes to the BUG, its lines are no findings',
    findings: [
      {
        kind: 'kernel-bug',
        severity: 'oops',
        captures: { file: 'mm/rmap.c', lineno: '1202', vma: 'ffff888005f0b2c0', vmaStart: '00007f2a1c000000', vmaEnd: '00007f2a1c004000' },
      },
      { kind: 'oops', severity: 'oops' },
    ],
  },
  {
    file: 'unrecognised-6.12.txt',
    title: 'banners no entry knows: an unwinder WARNING and a workqueue lockup (6.12)',
    findings: [
      {
        kind: 'unrecognised',
        severity: 'complaint',
        captures: { what: 'stack going in the wrong direction? at mmaplab_flush_work+0x1e/0x90 [mmaplab]' },
      },
      {
        kind: 'other-bug',
        severity: 'complaint',
        captures: { what: 'workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 33s!' },
      },
    ],
  },
];

/** Asserts that `found` are exactly the expected findings, in order. */
export function assertFamilyFindings(found: readonly Finding[], expected: readonly ExpectedFinding[], where: string): void {
  assert.deepEqual(
    found.map((f) => [f.kind, f.severity]),
    expected.map((e) => [e.kind, e.severity]),
    `${where}: kinds and severities`,
  );
  expected.forEach((e, i) => {
    const f = at(found, i, `${where}: finding ${i}`);
    for (const [name, value] of Object.entries(e.captures ?? {})) {
      assert.equal(f.captures[name], value, `${where}: finding ${i} (${f.kind}) capture ${name}`);
    }
    if (e.reason !== undefined) assert.equal(f.reason, e.reason, `${where}: finding ${i} reason`);
    if (e.process !== undefined) assert.equal(f.process, e.process, `${where}: finding ${i} process`);
    if (e.pid !== undefined) assert.equal(f.pid, e.pid, `${where}: finding ${i} pid`);
  });
}
