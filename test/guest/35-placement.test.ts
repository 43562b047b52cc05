/**
 * Guest suite, module loaded WITHOUT allow_hazards: where a program puts
 * its mappings of the device must not matter to the kernel. Every safe
 * allocator x method pair, at a page-sized buffer and at 2 MiB (a PMD's
 * worth: the block allocators then hand out one PMD-sized compound page),
 * is mapped at a 2 MiB- and a 1 GiB-aligned hint, with MAP_FIXED over a
 * mapping of the same session (whole, and the middle of it, splitting it)
 * and with a length short of the buffer's end; the data must cross both
 * ways, the module must count its mappings back to zero, and the kernel
 * log must stay clean.
 *
 * The regression this suite was written for: fault_page with fault-around
 * over a 2 MiB pages_comp buffer at a 2 MiB-aligned address. The core
 * mapped the whole compound block with one PMD entry from ->fault
 * (finish_fault -> do_set_pmd, 6.1), and because a fault-around VMA is
 * VM_MIXEDMAP its teardown took the PMD for a pfn mapping: "BUG: Bad
 * rss-counter state ... MM_FILEPAGES val:512" at the exit of the process
 * that faulted it, and a block that never went back to the allocator.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import {
  ALLOC_NAMES,
  Device,
  type AllocName,
  freeAddress,
  isSyscallError,
  type Mapping,
  METHOD_NAMES,
  type MethodName,
  support,
} from '../../lib/device';
import { classifyWindow, currentSeq, readSince } from '../../lib/kmsg';
import { BAR_REMAP_METHODS, FILE_METHODS, FAULT_METHODS } from '../../lib/device/support';
import { makeCell } from '../../lib/experiments/catalogue';
import { expectationFor } from '../../lib/experiments/expectations';
import { seriesOf } from '../../lib/vm/kernels';
import { visitEveryCpu } from '../../lib/runner/settle';
import { moduleWindow } from './module-window';
import { at } from '../../lib/util/at';

const PAGE = 4096;
const M2 = 2 << 20;
const G1 = 1 << 30;

/** Lines of /proc/self/maps that map the device. */
function deviceMaps(): string[] {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('/dev/mmaplab'));
}

/** The FilePmdMapped figure (kB) of the VMA starting at `address`, from /proc/self/smaps. */
function filePmdMappedKb(address: number): number {
  const lines = fs.readFileSync('/proc/self/smaps', 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${address.toString(16)}-`));
  assert.ok(start >= 0, `no VMA at ${address.toString(16)} in /proc/self/smaps`);
  for (const l of lines.slice(start + 1)) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) break;
    const m = /^FilePmdMapped:\s+(\d+) kB/.exec(l);
    if (m) return Number(m[1]);
  }
  assert.fail('no FilePmdMapped line');
}

/** Lets the kernel check the mm of a child that has exited (see visitEveryCpu). */
function settle(): void {
  visitEveryCpu();
}

/** The kernel log findings since `seq`, as lines (empty when clean). */
function findingsSince(seq: number): string[] {
  const w = readSince(seq);
  const f = classifyWindow(w.records);
  return f.length === 0 ? [] : [...f.map((x) => `${x.kind}: ${x.line}`), ...w.records.map((r) => `| ${r.message}`)];
}

interface Pair {
  alloc: AllocName;
  method: MethodName;
  faultAround: boolean;
}

/** Every pair the module accepts with allow_hazards=0, fault methods with and without fault-around. */
const PAIRS: Pair[] = ALLOC_NAMES.flatMap((alloc) =>
  METHOD_NAMES.filter((method) => support(alloc, method) === 'safe').flatMap((method) =>
    (FAULT_METHODS as readonly string[]).includes(method)
      ? [
          { alloc, method, faultAround: false },
          { alloc, method, faultAround: true },
        ]
      : [{ alloc, method, faultAround: false }],
  ),
);

const isFile = (method: MethodName): boolean => (FILE_METHODS as readonly string[]).includes(method);

/** The code of a refusal, or rethrow what is not one. */
function refusal(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (isSyscallError(err)) return err.code;
    throw err;
  }
}

describe(`placement: where a program maps the device, on ${os.release()}`, function () {
  this.timeout(600_000);
  const kernel = moduleWindow();

  afterEach(function () {
    assert.deepEqual(deviceMaps(), [], 'no mapping of the device is left behind');
  });

  it('fault_page with fault-around over a 2 MiB pages_comp block at a 2 MiB-aligned address: mapped page by page, no huge PMD, the kernel stays silent when the faulting process exits', function () {
    const seq = currentSeq();
    let pmdKb = -1;
    {
      using dev = Device.open();
      dev.configure({ alloc: 'pages_comp', method: 'fault_page', size: M2, faultAround: true });
      dev.fill(1);
      using m = dev.map({ placement: { mode: 'fixed-noreplace', address: freeAddress(M2, M2) } });
      assert.equal(m.address % M2, 0);
      // The child faults the whole buffer in its own copy of the VMA and exits: the
      // kernel checks that process's RSS counters when its mm goes (check_mm).
      assert.deepEqual(m.forkWrite(2), { exitCode: 0, signal: null });
      assert.equal(dev.verify(2).ok, true, 'the child wrote through to the buffer');
      assert.equal(m.checkPattern(2), null, 'and the parent sees it');
      pmdKb = filePmdMappedKb(m.address);
    }
    settle();
    assert.deepEqual(findingsSince(seq), []);
    assert.equal(pmdKb, 0, 'no PMD maps the block');
  });

  it('fault_page without fault-around may map the same block with one PMD (the core undoes it exactly): the kernel stays silent', function () {
    const seq = currentSeq();
    {
      using dev = Device.open();
      dev.configure({ alloc: 'pages_comp', method: 'fault_page', size: M2 });
      dev.fill(3);
      using m = dev.map({ placement: { mode: 'fixed-noreplace', address: freeAddress(M2, M2) } });
      assert.deepEqual(m.forkWrite(4), { exitCode: 0, signal: null });
      assert.equal(m.checkPattern(4), null);
      // 6.1 maps it with a PMD, 6.12 page by page (it requires i_size, which the device node lacks).
      const pmd = filePmdMappedKb(m.address);
      if (this.test) this.test.title += ` [FilePmdMapped here: ${pmd} kB]`;
      assert.ok(pmd === 0 || pmd === 2048, `${pmd}`);
    }
    settle();
    assert.deepEqual(findingsSince(seq), []);
  });

  for (const size of [4 * PAGE, M2]) {
    for (const { alloc, method, faultAround } of PAIRS) {
      const label = `${alloc} + ${method}${faultAround ? ' (fault-around)' : ''}, ${size >= M2 ? '2 MiB' : '16 KiB'}`;
      it(`${label}: hinted at 2 MiB and 1 GiB, MAP_FIXED over a mapping of the session (whole, and its middle), a length short of the end: data both ways, mappings counted back to 0`, function () {
        const seq = currentSeq();
        const dev = Device.open();
        try {
          const why = refusal(() => dev.configure({ alloc, method, size, faultAround }));
          if (why !== null) {
            // The size is the allocator's to refuse (DMA memory, say): no placement to try.
            if (this.test) this.test.title += ` [CONFIGURE refused: ${why}]`;
            return;
          }
          // Whatever the kernel-chosen mapping gets, every placement gets too.
          const base = refusal(() => dev.map().unmap());
          const seed = { n: 10 };
          // The kernel writes, a forked child reads it and writes back through
          // the mapping and exits (so its mm is checked in this test's window),
          // the kernel checks, the parent reads what the child wrote.
          const roundTrip = (maps: Mapping[], lengthShort = 0): void => {
            const k = seed.n++;
            const u = seed.n++;
            dev.fill(k);
            for (const m of maps) assert.equal(m.checkPattern(k), null, `kernel -> user at ${m.address.toString(16)}`);
            for (const m of maps) assert.deepEqual(m.forkWrite(u), { exitCode: 0, signal: null });
            if (isFile(method)) dev.flush();
            const v = dev.verify(u);
            if (lengthShort === 0) assert.equal(v.ok, true, `user -> kernel: mismatch at ${v.mismatch}`);
            else assert.equal(v.mismatch, BigInt(size - lengthShort), 'written up to the mapping end, not beyond');
            for (const m of maps) assert.equal(m.checkPattern(u), null, `child -> parent at ${m.address.toString(16)}`);
          };
          const placements: [string, () => Mapping[]][] = [
            ['hint 2M', () => [dev.map({ placement: { mode: 'hint', address: freeAddress(size, M2) } })]],
            ['hint 1G', () => [dev.map({ placement: { mode: 'hint', address: freeAddress(size, G1) } })]],
            [
              'fixed over whole',
              () => {
                const old = dev.map();
                return [dev.map({ placement: { mode: 'fixed', over: old } })];
              },
            ],
            [
              'fixed over middle',
              () => {
                const old = dev.map();
                try {
                  const mid = dev.map({ offset: PAGE, length: PAGE, placement: { mode: 'fixed', over: old, offset: PAGE } });
                  return [mid, ...mid.remnants];
                } catch (err) {
                  old.unmap();
                  throw err;
                }
              },
            ],
          ];
          // A remapped BAR's VMA cannot be split (the module's ->may_split):
          // MAP_FIXED over its middle gets what the fixed-over cell predicts.
          const splitRefusal = (name: string): string | null => {
            if (name !== 'fixed over middle' || alloc !== 'pci_bar' || !(BAR_REMAP_METHODS as readonly string[]).includes(method))
              return base;
            const e = expectationFor(makeCell(alloc, method as never, size, { scenario: 'fixed-over' }), seriesOf(os.release()));
            assert.ok(e && e.verdict === 'refused' && e.detail !== undefined, 'the fixed-over cell predicts a refusal');
            return e.detail;
          };
          for (const [name, place] of placements) {
            let maps: Mapping[] = [];
            const got = refusal(() => {
              maps = place();
            });
            const want = splitRefusal(name);
            assert.equal(
              got,
              want,
              `${name}: refused as ${want === base ? 'the kernel-chosen mapping was' : 'predicted'} (${want ?? 'ok'})`,
            );
            if (got !== null) continue;
            if (name.startsWith('hint'))
              assert.equal(at(maps, 0, `${name}: the placed mapping`).address % (name.endsWith('2M') ? M2 : G1), 0, `${name} honoured`);
            assert.equal(dev.info().mappings, maps.length, `${name}: one counted mapping per VMA`);
            roundTrip(maps);
            for (const m of maps) m.unmap();
            assert.equal(dev.info().mappings, 0, `${name}: counted back to 0`);
          }
          if (base === null) {
            const short = 100;
            const m = dev.map({ length: size - short });
            roundTrip([m], short);
            m.unmap();
            assert.equal(dev.info().mappings, 0);
          }
          // Nothing maps the buffer any more: CONFIGURE may replace it, and a new buffer maps.
          dev.configure({ alloc, method, size, faultAround });
          assert.equal(
            refusal(() => dev.map().unmap()),
            base,
          );
        } finally {
          dev.close();
        }
        settle();
        assert.deepEqual(findingsSince(seq), []);
      });
    }
  }

  it('leaves the kernel log clean and the taint unchanged', function () {
    kernel.assertClean();
  });
});
