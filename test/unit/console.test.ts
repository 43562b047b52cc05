/**
 * lib/vm/console: after a VM died, the serial console is the only witness;
 * its "[    1.234567] " lines must classify like /dev/kmsg records.
 */
import { strict as assert } from 'node:assert';
import { classifyConsole, consoleRecords } from '../../lib/vm/console';
import { consoleShowsOops } from '../../lib/vm/session';
import { at } from '../../lib/util/at';

/** A 6.1 Bad page state report as the serial console shows it, with boot noise around it. */
const BAD_PAGE_CONSOLE = [
  'mmaplab-init: root ready 1.02',
  '[    1.103000] mmaplab: loading out-of-tree module taints kernel.',
  '[    1.234567] BUG: Bad page state in process node  pfn:1234',
  '[    1.234601] page:000000001b2a3c4d refcount:0 mapcount:1 mapping:0000000000000000 index:0x0 pfn:0x1234',
  '[    1.234620] flags: 0xfffffc0000000(node=0|zone=1|lastcpupid=0x1fffff)',
  '[    1.234640] raw: 000fffffc0000000 dead000000000100 dead000000000122 0000000000000000',
  '[    1.234660] page dumped because: nonzero mapcount',
  '[    1.234680] Modules linked in: mmaplab(OE) overlay 9p 9pnet_virtio 9pnet netfs',
  '[    1.234700] CPU: 0 PID: 187 Comm: node Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-1',
  '[    1.234720] Call Trace:',
  '[    1.234740]  <TASK>',
  '[    1.234760]  dump_stack_lvl+0x44/0x5c',
  '[    1.234780]  bad_page.cold+0x63/0x94',
  '[    1.234800]  </TASK>',
];

const PANIC_CONSOLE = [
  '[   71.500602] Modules linked in: mmaplab(OE) overlay 9p 9pnet_virtio 9pnet netfs',
  '[   71.500639] ---[ end trace 0000000000000000 ]---',
  '[   71.500676] RIP: 0010:free_pcppages_bulk+0xd6/0x2a0',
  '[   71.500713] Kernel panic - not syncing: Fatal exception',
  '[   71.500750] Kernel Offset: 0x1a400000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)',
  '[   71.500787] ---[ end Kernel panic - not syncing: Fatal exception ]---',
];

describe('serial console', () => {
  it('consoleRecords strips the timestamp and keeps it in microseconds', () => {
    const [r] = consoleRecords(['[    1.234567] BUG: Bad page state in process node  pfn:1234']);
    assert.deepEqual(r, {
      seq: 0,
      level: 4,
      facility: 0,
      timestampUs: 1_234_567,
      flags: '-',
      message: 'BUG: Bad page state in process node  pfn:1234',
      dict: {},
    });
  });

  it('consoleRecords numbers lines in order and keeps unstamped lines whole', () => {
    const rs = consoleRecords(['mmaplab-init: FAILED: insmod 9p', '[12345.000001] x', '[    0.5] short fraction', '']);
    assert.deepEqual(
      rs.map((r) => [r.seq, r.timestampUs, r.message]),
      [
        [0, 0, 'mmaplab-init: FAILED: insmod 9p'],
        [1, 12_345_000_001, 'x'],
        [2, 500_000, 'short fraction'],
        [3, 0, ''],
      ],
    );
  });

  it('classifyConsole finds a Bad page state with its process, pfn and reason', () => {
    const findings = classifyConsole(BAD_PAGE_CONSOLE);
    assert.equal(findings.length, 1);
    const f = findings[0];
    assert.ok(f);
    assert.equal(f.kind, 'bad-page-state');
    assert.equal(f.severity, 'complaint');
    assert.equal(f.line, 'BUG: Bad page state in process node  pfn:1234');
    assert.equal(f.process, 'node');
    assert.equal(f.captures['pfn'], '1234');
    assert.equal(f.reason, 'nonzero mapcount');
    assert.equal(f.timestampUs, 1_234_567);
    assert.equal(f.seq, 2, 'seq is the console line index');
  });

  it('classifyConsole reports "Kernel panic - not syncing" once, as a panic', () => {
    const findings = classifyConsole(PANIC_CONSOLE);
    const panics = findings.filter((f) => f.severity === 'panic');
    assert.equal(panics.length, 1, JSON.stringify(findings));
    assert.equal(panics[0]?.kind, 'panic');
    assert.equal(panics[0]?.line, 'Kernel panic - not syncing: Fatal exception');
    assert.equal(panics[0]?.captures['why'], 'Fatal exception');
  });

  it('classifyConsole finds nothing in a clean boot', () => {
    assert.deepEqual(
      classifyConsole([
        '[    0.000000] Linux version 6.12.117+deb12-amd64 (debian-kernel@lists.debian.org)',
        '[    0.812345] 9pnet_virtio: no channels available for device hostroot',
        'mmaplab-init: root ready 0.95',
        'mmaplab-init: guest.sh exited with 0',
      ]),
      [],
    );
  });

  it('consoleShowsOops: oops headers and panics shorten the idle deadline, complaints do not', () => {
    // Lines as the cells' consoles showed them on 6.1 and 6.12.
    assert.equal(consoleShowsOops('[    8.961562] Bad pagetable: 000c [#1] PREEMPT SMP NOPTI'), true);
    assert.equal(consoleShowsOops('[    9.020000] Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI'), true);
    assert.equal(consoleShowsOops('[    9.100000] BUG: unable to handle page fault for address: 00000000000371c8'), true);
    assert.equal(consoleShowsOops(at(PANIC_CONSOLE, 3, 'the panic line')), true);
    assert.equal(consoleShowsOops(at(BAD_PAGE_CONSOLE, 2, 'the Bad page state line')), false);
    assert.equal(consoleShowsOops('MMAPLAB-CELL-DONE 3'), false);
    assert.equal(consoleShowsOops('[    1.103000] mmaplab: loading out-of-tree module taints kernel.'), false);
  });
});
