/**
 * lib/cli/log-records and `mmaplab classify`: saved kernel logs of every
 * shape become records for lib/kmsg's classifier, and the fixtures (real
 * output of mmaplab's own runs, test/fixtures/logs/README.md) give the
 * findings the kernel's words call for.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from '../../lib/cli/args';
import { classifyCommand, classifyLogText, readLogInput, renderClassification } from '../../lib/cli/classify';
import { parseLogLine, parseLogText } from '../../lib/cli/log-records';
import { escapeKmsg, formatRecordHuman, readKmsgFile } from '../../lib/kmsg';
import { MmaplabError } from '../../lib/util/errors';
import { FAMILY_FIXTURES, assertFamilyFindings } from './kmsg-families';
import { at } from '../../lib/util/at';

/** dist/test/unit -> repo root; fixtures are not compiled, they stay in test/. */
const LOGS = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'logs');
const KMSG = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'kmsg');
const fixture = (name: string): string => fs.readFileSync(path.join(LOGS, name), 'utf8');

describe('saved kernel logs: one line', () => {
  const msg = 'BUG: Bad page state in process node  pfn:097ad';
  const shapes: Array<[string, string, Partial<{ level: number; facility: number; timestampUs: number }>]> = [
    ['kmsg', `1,2041,64098189,-;${msg}`, { level: 1, facility: 0, timestampUs: 64_098_189 }],
    ['dmesg-raw', `<1>[   64.098189] ${msg}`, { level: 1, timestampUs: 64_098_189 }],
    ['dmesg-raw', `<1>${msg}`, { level: 1 }],
    ['dmesg-decode', `kern  :alert : [   64.098189] ${msg}`, { level: 1, timestampUs: 64_098_189 }],
    ['dmesg-decode', `kern  :warn  : [   64.098189] ${msg}`, { level: 4 }],
    ['dmesg', `[   64.098189] ${msg}`, { timestampUs: 64_098_189 }],
    ['dmesg', `[   64.098189][  T157] ${msg}`, { timestampUs: 64_098_189 }],
    ['dmesg', `[   64.098189 <    0.000012>] ${msg}`, { timestampUs: 64_098_189 }],
    ['dmesg', `[Tue Nov 24 15:09:12 2026] ${msg}`, {}],
    ['dmesg', `2026-11-24T15:09:12,123456+00:00 ${msg}`, {}],
    ['journal', `Nov 24 15:09:12 lab kernel: ${msg}`, {}],
    ['journal', `Nov 24 15:09:12 lab kernel: [   64.098189] ${msg}`, { timestampUs: 64_098_189 }],
    ['journal', `2026-11-24T15:09:12+0000 lab kernel: ${msg}`, {}],
    ['plain', msg, {}],
  ];
  for (const [format, line, fields] of shapes) {
    it(`${format}: ${JSON.stringify(line.slice(0, 42))}... gives the message`, () => {
      const p = parseLogLine(line, 7);
      assert.equal(p.format, format);
      assert.equal(p.record.message, msg);
      assert.equal(p.record.seq, 7, 'seq is the line number');
      for (const [k, v] of Object.entries(fields)) assert.equal((p.record as unknown as Record<string, unknown>)[k], v, k);
    });
  }

  it('keeps the stack-dump indentation after the timestamp', () => {
    assert.equal(parseLogLine('[   64.101040]  <TASK>', 1).record.message, ' <TASK>');
    assert.equal(parseLogLine('[   64.101144]  print_bad_pte+0x1a2/0x250', 1).record.message, ' print_bad_pte+0x1a2/0x250');
  });

  it('a bracket that is not a timestamp stays in the message', () => {
    assert.equal(parseLogLine('[drm] Initialized', 1).record.message, '[drm] Initialized');
    assert.equal(parseLogLine('------------[ cut here ]------------', 1).record.message, '------------[ cut here ]------------');
  });
});

describe('saved kernel logs: whole files', () => {
  it('drops terminal escapes and carriage returns of a console capture', () => {
    const log = parseLogText(
      '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n[    4.472604] BUG: Bad page state in process node  pfn:06557\r\n',
    );
    assert.deepEqual(
      log.records.map((r) => r.message),
      ['SeaBIOS (version 1.16.2-debian-1.16.2-1)', 'BUG: Bad page state in process node  pfn:06557'],
    );
    assert.deepEqual(log.formats, { plain: 1, dmesg: 1 });
  });

  it('joins the dictionary lines of a /dev/kmsg record to it and skips blank lines', () => {
    const log = parseLogText('6,10,100,-;virtio_net virtio1: up\n SUBSYSTEM=virtio\n DEVICE=+virtio:virtio1\n\n4,11,200,-;next\n');
    assert.equal(log.records.length, 2);
    assert.deepEqual(at(log.records, 0, 'the first record').dict, { SUBSYSTEM: 'virtio', DEVICE: '+virtio:virtio1' });
    assert.deepEqual(
      log.records.map((r) => r.seq),
      [1, 5],
    );
    assert.equal(log.lines, 5);
  });

  it("decodes the kernel's \\xNN escapes in /dev/kmsg records", () => {
    assert.equal(at(parseLogText('4,1,1,-;a\\x5cb\n').records, 0, 'the record').message, 'a\\b');
  });

  it('the same window gives the same findings in every shape', () => {
    const lines = fixture('bad-page-state-6.12.dmesg-t.txt')
      .split('\n')
      .filter((l) => l !== '');
    const t0 = 52_110_342;
    const shapes = {
      plain: lines.join('\n'),
      kmsg: lines.map((l, i) => `4,${500 + i},${t0 + i * 37},-;${escapeKmsg(l)}`).join('\n'),
      dmesg: lines.map((l, i) => `[   52.${String(110342 + i * 37).padStart(6, '0')}] ${l}`).join('\n'),
      raw: lines.map((l, i) => `<4>[   52.${String(110342 + i * 37).padStart(6, '0')}] ${l}`).join('\n'),
      decode: lines.map((l) => `kern  :warn  : [   52.110342] ${l}`).join('\n'),
      journal: lines.map((l) => `Nov 24 15:09:12 lab kernel: ${l}`).join('\n'),
    };
    const expected = classifyLogText(shapes.plain).findings.map((f) => [f.kind, f.seq, f.line, f.reason]);
    assert.deepEqual(expected, [['bad-page-state', 5, 'BUG: Bad page state in process node  pfn:097ad', 'nonzero _refcount']]);
    for (const [name, text] of Object.entries(shapes)) {
      assert.deepEqual(
        classifyLogText(text).findings.map((f) => [f.kind, f.seq, f.line, f.reason]),
        expected,
        name,
      );
    }
  });
});

describe('classify on real logs (test/fixtures/logs)', () => {
  it('Bad page state (6.12, dmesg -t): one complaint with its pfn, task and reason', () => {
    const { findings } = classifyLogText(fixture('bad-page-state-6.12.dmesg-t.txt'));
    assert.equal(findings.length, 1);
    const f = at(findings, 0, 'the first finding');
    assert.equal(f.kind, 'bad-page-state');
    assert.equal(f.severity, 'complaint');
    assert.equal(f.line, 'BUG: Bad page state in process node  pfn:097ad');
    assert.equal(f.reason, 'nonzero _refcount');
    assert.equal(f.process, 'node');
    assert.equal(f.captures['pfn'], '097ad');
    assert.equal(f.seq, 5);
  });

  it('Bad rss-counter (6.12, dmesg -t): the bad pud the probe wrote, then the teardown complaints', () => {
    const { findings } = classifyLogText(fixture('bad-rss-counter-6.12.dmesg-t.txt'));
    assert.deepEqual(
      findings.map((f) => [f.seq, f.kind, f.severity]),
      [
        [2, 'bad-pgtable-entry', 'complaint'],
        [4, 'bad-rss-counter', 'complaint'],
        [5, 'nonzero-pgtables-bytes', 'complaint'],
      ],
    );
    const pud = at(findings, 0, 'the first finding');
    assert.equal(pud.line, 'mm/pgtable-generic.c:42: bad pud 00000000e10c17c1(61fbcf9409badd1a)');
    assert.deepEqual(
      [pud.captures['file'], pud.captures['lineno'], pud.captures['level'], pud.captures['value']],
      ['mm/pgtable-generic.c', '42', 'pud', '61fbcf9409badd1a'],
    );
    assert.equal(at(findings, 1, 'the second finding').line, 'BUG: Bad rss-counter state mm:000000003ffd7cbc type:MM_ANONPAGES val:21');
  });

  it('Bad page map (6.12 console): the oops that started it, then each Bad page map with its pte', () => {
    const { findings, log } = classifyLogText(fixture('bad-page-map-6.12.console.txt'));
    assert.deepEqual(
      findings.map((f) => [f.seq, f.kind, f.severity]),
      [
        [6, 'oops', 'oops'],
        [33, 'bad-page-map', 'complaint'],
        [68, 'bad-page-map', 'complaint'],
      ],
    );
    const badPageMap = at(findings, 1, 'the first Bad page map');
    assert.equal(badPageMap.line, 'BUG: Bad page map in process node  pte:90ae7f3d80164f08 pmd:05778067');
    assert.equal(badPageMap.process, 'node');
    assert.equal(at(findings, 0, 'the oops').line, 'Oops: Bad pagetable: 000c [#1] PREEMPT SMP NOPTI');
    assert.equal(log.lines, 101);
    assert.equal(log.formats.dmesg, 98, 'every kernel line had its timestamp removed');
  });

  it('page-fault oops (6.1 console): "BUG: unable to handle page fault" with its #PF lines, and the Oops header', () => {
    const { findings } = classifyLogText(fixture('oops-page-fault-6.1.console.txt'));
    assert.deepEqual(
      findings.map((f) => [f.seq, f.kind, f.severity]),
      [
        [4, 'page-fault-oops', 'oops'],
        [8, 'oops', 'oops'],
      ],
    );
    const pf = at(findings, 0, 'the first finding');
    assert.equal(pf.line, 'BUG: unable to handle page fault for address: 00000000000371c8');
    assert.ok(pf.context.some((c) => c.line === '#PF: supervisor read access in kernel mode'));
    assert.equal(pf.process, 'node');
    assert.equal(at(findings, 1, 'the second finding').captures['rip'], 'inode_to_bdi+0xa/0x50');
  });

  it('general protection fault (6.12 console): a gpf in a kworker', () => {
    const { findings } = classifyLogText(fixture('oops-gpf-6.12.console.txt'));
    const kinds = findings.map((f) => f.kind);
    assert.deepEqual(kinds, ['gpf', 'oops']);
    assert.ok(findings.every((f) => f.severity === 'oops' && f.seq === 8));
    const gpf = at(findings, 0, 'the GPF');
    assert.equal(gpf.line, 'Oops: general protection fault: 0000 [#1] PREEMPT SMP NOPTI');
    assert.equal(gpf.process, 'kworker/0:2');
  });

  it('the /dev/kmsg fixtures of lib/kmsg read the same through classify', () => {
    const { findings, log } = classifyLogText(fs.readFileSync(path.join(KMSG, 'bad-page-state-6.1.txt'), 'utf8'));
    assert.deepEqual(log.formats, { kmsg: log.records.length });
    assert.deepEqual(
      findings.map((f) => [f.kind, f.reason]),
      [
        ['bad-page-state', 'nonzero _refcount'],
        ['bad-page-state', 'nonzero _refcount'],
      ],
    );
    assert.deepEqual(classifyLogText(fs.readFileSync(path.join(KMSG, 'clean-6.1.txt'), 'utf8')).findings, []);
  });
});

/** A /dev/kmsg fixture as `dmesg` prints it: a timestamp per record, a multi-line record's further lines bare. */
function asDmesg(file: string): string {
  return readKmsgFile(path.join(KMSG, file))
    .records.flatMap((r) => formatRecordHuman(r).split('\n'))
    .join('\n');
}

describe('classify on the complaint families (test/fixtures/kmsg)', () => {
  for (const fx of FAMILY_FIXTURES) {
    it(`${fx.file}: the same findings from the /dev/kmsg records and from dmesg output`, () => {
      const kmsg = classifyLogText(fs.readFileSync(path.join(KMSG, fx.file), 'utf8'));
      assert.deepEqual(kmsg.log.formats, { kmsg: kmsg.log.records.length });
      assertFamilyFindings(kmsg.findings, fx.findings, `${fx.file} (kmsg)`);
      assertFamilyFindings(classifyLogText(asDmesg(fx.file)).findings, fx.findings, `${fx.file} (dmesg)`);
    });
  }

  it('prints a UBSAN report with its check and the index line as the reason', () => {
    const text = renderClassification(classifyLogText(fs.readFileSync(path.join(KMSG, 'ubsan-6.1.txt'), 'utf8')));
    assert.match(
      text,
      /^line 3: complaint ubsan: UBSAN: array-index-out-of-bounds in \/build\/mmaplab\/mmaplab_store\.c:211:23\n {4}because: index 4 is out of range for type 'struct page \*\[4\]'\n {4}task: node \(pid 245\)\n/,
    );
  });
});

describe('mmaplab classify output and exit status', () => {
  it('prints each finding with its line number, the reason of a Bad page state, then a summary', () => {
    const text = renderClassification(classifyLogText(fixture('bad-page-state-6.12.dmesg-t.txt')));
    assert.equal(
      text,
      [
        'line 5: complaint bad-page-state: BUG: Bad page state in process node  pfn:097ad',
        '    because: nonzero _refcount',
        '',
        '1 finding(s), worst: complaint; bad-page-state 1; 43 line(s) read (43 plain)',
        'worst: line 5: BUG: Bad page state in process node  pfn:097ad',
      ].join('\n'),
    );
  });

  it('--verbose adds the context lines of each finding', () => {
    const text = renderClassification(classifyLogText(fixture('oops-page-fault-6.1.console.txt')), true);
    assert.match(text, /\n {4}line 5: #PF: supervisor read access in kernel mode\n/);
  });

  it('names the first finding when it is not the worst', () => {
    const text = renderClassification(
      classifyLogText('[ 1.0] BUG: Bad page state in process node  pfn:1\n[ 2.0] Kernel panic - not syncing: Fatal exception\n'),
    );
    assert.match(text, /\nworst: line 2: Kernel panic - not syncing: Fatal exception\nfirst: line 1: BUG: Bad page state/);
  });

  it('a clean log says so', () => {
    assert.equal(
      renderClassification(classifyLogText('[    0.000000] Linux version 6.1.0-56-amd64\n')),
      'no findings; 1 line(s) read (1 dmesg)',
    );
  });

  it('exits 0 whatever it found, 1 with --fail-on-findings when it found something', () => {
    const out = process.stdout.write.bind(process.stdout);
    process.stdout.write = () => true;
    try {
      const file = path.join(LOGS, 'oops-gpf-6.12.console.txt');
      assert.equal(classifyCommand(parseArgs(['classify', file])), 0);
      assert.equal(classifyCommand(parseArgs(['classify', file, '--fail-on-findings'])), 1);
      const clean = path.join(KMSG, 'clean-6.1.txt');
      assert.equal(classifyCommand(parseArgs(['classify', clean, '--fail-on-findings'])), 0);
    } finally {
      process.stdout.write = out;
    }
  });

  it('a file that cannot be read is an ELOG error naming it', () => {
    assert.throws(
      () => readLogInput('/nonexistent/dmesg.txt'),
      (err: unknown) =>
        err instanceof MmaplabError && err.code === 'ELOG' && err.message.startsWith('cannot read /nonexistent/dmesg.txt: '),
    );
  });
});
