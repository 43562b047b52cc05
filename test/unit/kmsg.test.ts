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
    const r = parseRecord('6,410,1523411,-;virtio_blk virtio1: [vda] 2097152 512-byte logical blocks\n SUBSYSTEM=virtio\n DEVICE=+virtio:virtio1\n X=a\\x3db\n');
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
      rs.forEach((r, i) => assert.equal(r.seq, rs[0]!.seq + i, `${name}: seq gap at record ${i}`));
    }
  });

  it('keeps dictionary lines with their record and decodes escapes in a saved window', () => {
    const rs = fixture('clean-6.1.txt');
    assert.deepEqual(rs[0]!.dict, { SUBSYSTEM: 'virtio', DEVICE: '+virtio:virtio1' });
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
    assert.deepEqual(parsed.records[1]!.dict, { DEVICE: '+pci:0000:00:02.0' });
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
    for (const spec of [...SIGNATURES, ...CONTEXT_LINES]) {
      const groups = [...spec.pattern.source.matchAll(/\(\?<([A-Za-z_]\w*)>/g)].map((m) => m[1]);
      const name = 'kind' in spec ? `${spec.kind} ${spec.signature}` : spec.name;
      assert.deepEqual(groups.sort(), [...spec.captures].sort(), name);
    }
  });

  it('has at least one signature for every finding kind, each anchored at the message start', () => {
    for (const kind of FINDING_KINDS) assert.ok(SIGNATURES.some((s) => s.kind === kind), kind);
    for (const s of SIGNATURES) assert.ok(s.pattern.source.startsWith('^'), s.signature);
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
    ['gpf', 'general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#2] PREEMPT SMP NOPTI', { address: '0xdead000000000100' }],
    ['oops', 'Oops: 0002 [#1] PREEMPT SMP NOPTI', { what: 'Oops', code: '0002', oops: '1' }],
    ['oops', 'Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI', { what: 'Oops', code: '0002', oops: '1' }],
    ['oops', 'Oops: invalid opcode: 0000 [#3] PREEMPT SMP NOPTI', { what: 'invalid opcode', oops: '3' }],
    ['warning', 'WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:5534 __alloc_pages+0x2b1/0x330', { cpu: '0', pid: '1', file: 'mm/page_alloc.c', lineno: '5534', func: '__alloc_pages+0x2b1/0x330' }],
    ['warning', 'WARNING: CPU: 1 PID: 77 at mmaplab_fault+0x12/0x40 [mmaplab]', { func: 'mmaplab_fault+0x12/0x40', module: 'mmaplab' }],
    ['list-corruption', 'list_del corruption, ffff8880062c1e48->next is LIST_POISON1 (dead000000000100)', { op: 'list_del' }],
    ['list-corruption', 'list_add corruption. prev->next should be next (ffff888004c3a6e8), but was 0000000000000000. (prev=ffff888005f0b2c0).', { op: 'list_add' }],
    ['refcount', 'refcount_t: underflow; use-after-free.', { problem: 'underflow; use-after-free' }],
    ['vfree', 'Trying to vfree() nonexistent vm area (00000000c7e1f8a2)', { problem: 'nonexistent vm area', address: '00000000c7e1f8a2' }],
    ['pat', 'x86/PAT: node:245 map pfn expected mapping type uncached-minus for [mem 0x10a3b1000-0x10a3b1fff], got write-back', { process: 'node', pid: '245' }],
    ['pat', 'x86/PAT: memtype_reserve failed [mem 0xfd000000-0xfdffffff], track write-combining, req write-back', {}],
    ['kfence', 'BUG: KFENCE: use-after-free read in mmaplab_fault+0x2c/0x90 [mmaplab]', { problem: 'use-after-free read', location: 'mmaplab_fault+0x2c/0x90 [mmaplab]' }],
    ['soft-lockup', 'watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [node:231]', { cpu: '1', seconds: '22', process: 'node', pid: '231' }],
    ['rcu-stall', 'rcu: INFO: rcu_preempt self-detected stall on CPU', { flavor: 'rcu_preempt', stall: 'self-detected stall' }],
    ['rcu-stall', 'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:', { flavor: 'rcu_preempt' }],
    ['hung-task', 'INFO: task node:245 blocked for more than 120 seconds.', { process: 'node', pid: '245', seconds: '120' }],
    ['panic', 'Kernel panic - not syncing: Fatal exception in interrupt', { why: 'Fatal exception in interrupt' }],
    ['other-bug', 'BUG: sleeping function called from invalid context at mm/slab.h:742', {}],
  ];
  for (const [kind, line, expected] of samples) {
    it(`classifies "${line.slice(0, 60)}" as ${kind}`, () => {
      const found = classify(records(line));
      assert.ok(found.some((f) => f.kind === kind), `got ${kinds(found).join(', ') || 'nothing'}`);
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
    assert.equal(parseTaintString(second.captures['tainted']!), 2 ** 5 + MODULE_OWN_MASK);
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
    const w = findings[0]!;
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
    assert.equal(findings[0]!.seq, findings[1]!.seq, 'the GPF line is also the oops header');
    assert.equal(findings[0]!.captures['address'], '0xdead000000000122');
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
    assert.equal(findings[0]!.reason, undefined);
    assert.equal(findings[1]!.reason, 'nonzero mapcount');
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
    assert.equal(findings[0]!.reason, 'VM_BUG_ON_PAGE(page_ref_count(page) == 0)');
    assert.equal(findings[1]!.captures['what'], 'invalid opcode');
  });

  it('a context line too far from its finding is not attached', () => {
    const filler = Array.from({ length: 70 }, (_, i) => `filler ${i}`);
    const findings = classify(records('BUG: Bad page state in process a  pfn:1', ...filler, 'page dumped because: late'));
    assert.equal(findings[0]!.reason, undefined);
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
    assert.equal(findings[1]!.captures['rip'], 'refcount_warn_saturate+0xba/0x110');
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
    assert.equal(findings[0]!.captures['access'], 'supervisor write access in kernel mode');
    assert.equal(summarize(findings).oopses, 1);
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
    const many = Array.from({ length: 30 }, (_, i) => `BUG: Bad rss-counter state mm:00000000000000${String(i).padStart(2, '0')} type:MM_FILEPAGES val:1`);
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
    assert.deepEqual(
      TROUBLE_BITS.map(letter),
      ['B', 'D', 'W', 'L'],
    );
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

  it('diff reports bits gained with mmaplab\'s own O and E masked out', () => {
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

  it('reads this host\'s /proc/sys/kernel/tainted as a number', () => {
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
