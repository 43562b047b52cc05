/**
 * The uses dimension without a VM: the catalogue's use cells, their
 * prediction rows, the verdict's detail from what a use found, the
 * selection options, the /proc/self parsers, and the uses grid of
 * report.md and report.html.
 */
import { strict as assert } from 'node:assert';
import { ALL_PAIRS_USE_CELLS, CATALOGUE, SAFE_PAIRS, SCENARIO_PAIRS, USE_SIZE, makeCell } from '../../lib/experiments/catalogue';
import { compare, expectationFor } from '../../lib/experiments/expectations';
import { predictedSmapsFlags } from '../../lib/experiments/use-expectations';
import { PMD_SIZED_USES, USE_FAMILIES, USES, useFamily, usesOf } from '../../lib/experiments/uses';
import { PFN_METHODS } from '../../lib/experiments/support';
import { emptyObservation, type CellEvidence } from '../../lib/experiments/types';
import { judge } from '../../lib/experiments/verdict';
import { decodePagemap, smapsAt } from '../../lib/device/proc-self';
import { coreSegments } from '../../lib/device/core-file';
import { parseArgs } from '../../lib/cli/args';
import { filterCells } from '../../lib/cli/select';
import { cellById } from '../../lib/cli/run';
import { renderHtml } from '../../lib/report/html';
import { renderMarkdown } from '../../lib/report/markdown';
import { hugePageGridFor, seriesDifferences, usesGridFor, usesSlotText } from '../../lib/report/view';
import { hugePageSummaryLines, shortOutcome, usesSummary, usesSummaryMarkdown } from '../../lib/report/uses-summary';
import { expectedResults, expectedRun, K61, K612, report, run, spec } from './report-fixture';
import { at } from '../../lib/util/at';

const useCells = CATALOGUE.filter((c) => c.scenario === 'use');

function predictionOf(id: string, series = '6.1'): string {
  const e = expectationFor(spec(id), series);
  assert.ok(e, `${id} has an expectation`);
  return `${e.verdict}${e.detail !== undefined ? ` (${e.detail})` : ''}`;
}

describe('uses: what programs do with a mapping', function () {
  describe('catalogue', function () {
    it('runs every use on every scenario pair at USE_SIZE, the huge-page ones on every safe pair at 2 MiB', function () {
      const safePairs = SAFE_PAIRS;
      const small = USES.filter((u) => !PMD_SIZED_USES.includes(u));
      assert.equal(useCells.length, small.length * SCENARIO_PAIRS.length + PMD_SIZED_USES.length * safePairs.length);
      for (const [alloc, method] of safePairs) {
        for (const use of PMD_SIZED_USES)
          assert.ok(
            CATALOGUE.some((c) => c.id === `${alloc}/${method}/2M/use:${use}`),
            `${alloc}/${method} ${use}`,
          );
      }
      for (const [alloc, method] of SCENARIO_PAIRS) {
        for (const use of small) {
          const id = `${alloc}/${method}/16K/use:${use}`;
          const c = CATALOGUE.find((x) => x.id === id);
          assert.ok(c, `${id} is in the catalogue`);
          assert.equal(c.use, use);
          assert.equal(c.size, USE_SIZE);
          assert.equal(c.hazard, false, `${id}: every scenario pair is safe`);
          assert.match(c.title, /, then /);
        }
      }
      assert.ok(CATALOGUE.filter((c) => c.scenario !== 'use').every((c) => c.use === undefined));
    });

    it('every use belongs to one family, and the families list them all', function () {
      assert.deepEqual(USE_FAMILIES.flatMap((f) => usesOf(f)).sort(), [...USES].sort());
      assert.equal(useFamily('vmsplice'), 'kernel');
      assert.equal(useFamily('mremap-grow'), 'space');
      assert.equal(useFamily('pagemap'), 'observe');
    });
  });

  describe('predictions', function () {
    it('every use cell has a use rule of its own, with a reason, unless the kernel refuses the mapping itself', function () {
      for (const c of useCells) {
        for (const series of ['6.1', '6.12']) {
          const e = expectationFor(c, series);
          assert.ok(e, `${c.id} on ${series}`);
          const plain = expectationFor(makeCell(c.alloc, c.method, c.size), series);
          if (plain?.verdict === 'refused') {
            assert.equal(e.name, plain.name, `${c.id}: the mapping is refused, as in its basic cell`);
            continue;
          }
          assert.match(e.name, /^use-/, `${c.id} matched ${e.name}, not a use rule`);
          assert.ok(e.reason.length > 20, `${c.id}: a reason`);
          assert.equal(e.also, undefined, `${c.id}: one outcome predicted`);
        }
      }
    });

    it('GUP users are refused on VM_PFNMAP (EFAULT, EIO through access_remote_vm) and work on pages', function () {
      assert.equal(predictionOf('pages_comp/remap_pfn_range/16K/use:process-vm-read'), 'refused (EFAULT)');
      assert.equal(predictionOf('pages_comp/vmf_insert_pfn/16K/use:vmsplice'), 'refused (EFAULT)');
      assert.equal(predictionOf('dma_coherent/dma_mmap_coherent/16K/use:ptrace-peek'), 'refused (EIO)');
      assert.equal(predictionOf('vmalloc_user/remap_pfn_range/16K/use:proc-mem-write'), 'refused (EIO)');
      assert.equal(predictionOf('pages_array/vm_insert_page/16K/use:process-vm-write'), 'ok');
      assert.equal(predictionOf('pages_array/fault_page/16K/use:ptrace-poke'), 'ok');
    });

    it('copies through the page tables work everywhere; a shared futex works nowhere', function () {
      for (const [alloc, method] of SCENARIO_PAIRS) {
        assert.equal(predictionOf(`${alloc}/${method}/16K/use:pipe-read`), 'ok');
        assert.equal(predictionOf(`${alloc}/${method}/16K/use:futex-private`), 'ok');
        assert.equal(
          predictionOf(`${alloc}/${method}/16K/use:futex-shared`),
          method === 'vmf_insert_mixed' ? 'refused (EEXIST)' : 'refused (EFAULT)',
        );
      }
    });

    it('vmf_insert_mixed: VM_MIXEDMAP with special PTEs, so GUP finds no page (EEXIST) where VM_PFNMAP is EFAULT', function () {
      const id = (use: string): string => `pages_array/vmf_insert_mixed/16K/use:${use}`;
      for (const use of ['vmsplice', 'splice', 'odirect-read', 'odirect-write', 'io-uring-fixed']) {
        assert.equal(predictionOf(id(use), '6.1'), 'refused (EEXIST)', use);
        assert.equal(predictionOf(id(use), '6.12'), 'refused (EEXIST)', use);
      }
      assert.equal(predictionOf(id('process-vm-read')), 'refused (EFAULT)', 'pin_user_pages_remote failures are EFAULT');
      assert.equal(predictionOf(id('proc-mem-read')), 'refused (EIO)');
      assert.equal(predictionOf(id('madv-cold')), 'ok', 'not VM_PFNMAP: the LRU advice walks it');
      assert.equal(predictionOf(id('madv-populate-read')), 'ok', 'populate faults in, a special PTE counts as present');
      assert.equal(predictionOf(id('mincore')), 'ok (resident-all)');
      assert.equal(predictionOf(id('pagemap')), 'ok (present-pfns-match)');
      assert.equal(predictionOf(id('smaps')), 'ok (de+dd+mm rss-none)');
      assert.equal(predictionOf(id('mremap-grow')), 'refused (EFAULT)');
      assert.equal(predictionOf('pages_array/vmf_insert_mixed/16K/private-write'), 'ok', 'copy-on-write from the user address');
      assert.equal(predictionOf('pages_array/vmf_insert_mixed/16K/dontneed-retouch'), 'ok', 'the fault handler inserts again');
      assert.equal(predictionOf('kmalloc/vmf_insert_mixed/4K/basic'), 'ok', 'nothing checks the page: slab memory maps');
    });

    it('vmf_insert_pfn_prot is vmf_insert_pfn for every prediction', function () {
      for (const c of CATALOGUE.filter((x) => x.method === 'vmf_insert_pfn_prot')) {
        const twin = CATALOGUE.find((x) => x.id === c.id.replace('vmf_insert_pfn_prot', 'vmf_insert_pfn'));
        if (twin === undefined) continue;
        for (const series of ['6.1', '6.12']) {
          const a = expectationFor(c, series);
          const b = expectationFor(twin, series);
          assert.deepEqual([a?.verdict, a?.detail], [b?.verdict, b?.detail], `${c.id} on ${series}`);
        }
      }
      assert.equal(predictionOf('pages_comp/vmf_insert_pfn_prot/16K/private-write'), 'refused (EINVAL)');
    });

    it('mremap: grow is refused where VM_DONTEXPAND or VM_PFNMAP is set, a SIGBUS past the buffer elsewhere', function () {
      assert.equal(predictionOf('vmalloc_user/remap_vmalloc_range/16K/use:mremap-grow'), 'refused (EFAULT)');
      assert.equal(predictionOf('pages_array/fault_page/16K/use:mremap-grow'), 'refused (EFAULT)');
      assert.equal(predictionOf('pages_array/vm_insert_pages/16K/use:mremap-grow'), 'user-signal (SIGBUS)');
      assert.equal(predictionOf('pages_comp/vmf_insert_pfn/16K/use:mremap-move'), 'ok');
    });

    it('observers: what mincore, pagemap and smaps show is part of the prediction', function () {
      assert.equal(predictionOf('pages_comp/remap_pfn_range/16K/use:mincore'), 'ok (resident-none)');
      assert.equal(predictionOf('pages_array/vm_map_pages/16K/use:mincore'), 'ok (resident-all)');
      assert.equal(predictionOf('pages_comp/vmf_insert_pfn/16K/use:pagemap'), 'ok (not-present)');
      assert.equal(predictionOf('vmalloc_user/fault_page/16K/use:pagemap'), 'ok (present-pfns-match)');
      assert.equal(predictedSmapsFlags('remap_pfn_range'), 'io+pf+de+dd');
      assert.equal(predictedSmapsFlags('vmf_insert_pfn'), 'pf+de+dd');
      assert.equal(predictedSmapsFlags('vm_insert_page'), 'mm');
      assert.equal(predictedSmapsFlags('remap_vmalloc_range'), 'de+dd+mm');
      assert.equal(predictedSmapsFlags('fault_page'), 'de+dd');
      assert.equal(predictionOf('dma_coherent/dma_mmap_coherent/16K/use:smaps'), 'ok (io+pf+de+dd rss-none)');
      assert.equal(predictionOf('pages_array/vm_insert_page/16K/use:smaps'), 'ok (mm rss-all)');
    });

    it('a registered io_uring buffer: refused on VM_PFNMAP, EOPNOTSUPP for any file mapping on 6.1, pinned on 6.12', function () {
      assert.equal(predictionOf('pages_comp/remap_pfn_range/16K/use:io-uring-fixed', '6.1'), 'refused (EFAULT)');
      assert.equal(predictionOf('pages_comp/remap_pfn_range/16K/use:io-uring-fixed', '6.12'), 'refused (EFAULT)');
      assert.equal(predictionOf('pages_array/vm_insert_pages/16K/use:io-uring-fixed', '6.1'), 'refused (EOPNOTSUPP)');
      assert.equal(predictionOf('pages_array/vm_insert_pages/16K/use:io-uring-fixed', '6.12'), 'ok');
      assert.equal(predictionOf('pages_comp/vmf_insert_pfn/16K/use:io-uring-read', '6.1'), 'ok');
    });

    it('O_DIRECT, userfaultfd and core dumps follow the VMA flags', function () {
      assert.equal(predictionOf('dma_coherent/dma_mmap_coherent/16K/use:odirect-read'), 'refused (EFAULT)');
      assert.equal(predictionOf('vmalloc_user/fault_page/16K/use:odirect-write'), 'ok');
      for (const mode of ['missing', 'wp', 'minor']) {
        assert.equal(predictionOf(`pages_array/vm_map_pages/16K/use:uffd-${mode}`), 'refused (EINVAL)');
      }
      assert.equal(predictionOf('pages_array/vm_insert_page/16K/use:core-dump'), 'ok (not-dumped)');
      assert.equal(predictionOf('pages_array/vm_insert_page/16K/use:core-dump-shared'), 'ok (dumped)');
      assert.equal(predictionOf('vmalloc_user/remap_vmalloc_range/16K/use:core-dump-shared'), 'ok (not-dumped)');
      assert.equal(predictionOf('pages_array/fault_page/16K/use:core-dump-shared'), 'ok (not-dumped)');
    });

    it('huge pages: only a fault handler over one PMD-order block on 6.1 is PMD-mapped, in every THP mode', function () {
      for (const mode of ['always', 'madvise', 'never']) {
        assert.equal(predictionOf(`pages_comp/fault_page/2M/use:thp-${mode}`, '6.1'), 'ok (pmd-mapped)');
        assert.equal(predictionOf(`pages_comp/fault_page/2M/use:thp-${mode}`, '6.12'), 'ok (pte-mapped)');
        assert.equal(predictionOf(`pages_array/fault_page/2M/use:thp-${mode}`, '6.1'), 'ok (pte-mapped)');
        assert.equal(predictionOf(`pages_comp/remap_pfn_range/2M/use:thp-${mode}`, '6.1'), 'ok (pte-mapped)');
      }
      assert.equal(predictionOf('pages_comp/vmf_insert_pfn/16K/use:pagemap-soft-dirty'), 'ok (not-present)');
      assert.equal(predictionOf('vmalloc_user/fault_page/16K/use:reclaim-pressure'), 'ok (unmoved)');
      assert.equal(predictionOf('pages_array/vm_insert_pages/16K/use:pagemap-soft-dirty'), 'ok (tracked)');
    });

    it('a prediction with a finding is not met by ok with another finding, nor by a bare ok', function () {
      const c = spec('pages_comp/remap_pfn_range/16K/use:mincore');
      assert.equal(compare(c, '6.1', 'ok', 'resident-none'), 'agrees');
      assert.equal(compare(c, '6.1', 'ok', 'resident-all'), 'differs');
      assert.equal(compare(c, '6.1', 'ok', ''), 'differs');
    });
  });

  describe('verdict', function () {
    function evidence(outcome: string | null): CellEvidence {
      const observation = { ...emptyObservation(), steps: ['open' as const], use: outcome === null ? null : { outcome, facts: {} } };
      return { kmsg: [], findings: [], taintGained: [], observation };
    }

    it('an ok use carries what it found as the detail; without a finding the detail is empty', function () {
      assert.deepEqual({ ...judge(evidence('resident-none')), headline: '' }, { verdict: 'ok', detail: 'resident-none', headline: '' });
      assert.equal(judge(evidence('')).detail, '');
      assert.equal(judge(evidence(null)).detail, '');
    });

    it('a kernel complaint still wins over what the use found', function () {
      const ev = evidence('resident-all');
      ev.findings.push({ kind: 'bad-page-state', severity: 'complaint', line: 'BUG: Bad page state' });
      assert.equal(judge(ev).verdict, 'kernel-complaint');
    });
  });

  describe('selection', function () {
    it('--uses only takes the use cells, --uses no leaves them out, --use narrows to uses or families', function () {
      const only = filterCells(parseArgs(['matrix', '--uses', 'only']));
      assert.equal(only.length, useCells.length);
      const none = filterCells(parseArgs(['matrix', '--uses', 'no']));
      assert.equal(none.length, CATALOGUE.length - useCells.length);
      const one = filterCells(parseArgs(['matrix', '--use', 'vmsplice']));
      assert.equal(one.length, SCENARIO_PAIRS.length);
      assert.ok(one.every((c) => c.use === 'vmsplice'));
      const family = filterCells(parseArgs(['matrix', '--use', 'observe']));
      assert.equal(family.length, usesOf('observe').length * SCENARIO_PAIRS.length);
    });

    it('--use-pairs all adds every other use on every other safe pair; the default matrix stays one pair per method', function () {
      const safePairs = SAFE_PAIRS.map(([a, m]) => `${a}/${m}`);
      const small = USES.filter((u) => !PMD_SIZED_USES.includes(u));
      const all = filterCells(parseArgs(['matrix', '--uses', 'only', '--use-pairs', 'all']));
      assert.equal(all.length, small.length * safePairs.length + PMD_SIZED_USES.length * safePairs.length);
      for (const pair of safePairs) {
        for (const use of small)
          assert.ok(
            all.some((c) => c.id === `${pair}/16K/use:${use}`),
            `${pair} ${use}`,
          );
      }
      assert.equal(new Set(all.map((c) => c.id)).size, all.length, 'no cell twice');
      assert.ok(all.every((c) => !c.hazard));
      assert.ok(ALL_PAIRS_USE_CELLS.every((c) => !CATALOGUE.some((d) => d.id === c.id)));
      assert.deepEqual(filterCells(parseArgs(['matrix', '--use-pairs', 'all'])), [...CATALOGUE, ...ALL_PAIRS_USE_CELLS]);
      assert.equal(cellById(at(ALL_PAIRS_USE_CELLS, 0, 'the first use cell').id), ALL_PAIRS_USE_CELLS[0]);
      assert.throws(() => parseArgs(['matrix', '--use-pairs', 'some']), /--use-pairs is one of default, all/);
    });

    it('an unknown use is a usage error naming the choices', function () {
      assert.throws(
        () => parseArgs(['matrix', '--use', 'teleport']),
        /--use is one of kernel, space, placement, observe, pressure, pipe-read/,
      );
    });
  });

  describe('/proc/self parsers', function () {
    const SMAPS = [
      '55d0c0a00000-55d0c0a21000 r--p 00000000 00:14 12 /usr/bin/node',
      'Rss:                 132 kB',
      'VmFlags: rd mr mw me dw sd',
      '7f3a2b400000-7f3a2b404000 rw-s 00000000 00:05 321                        /dev/mmaplab',
      'Size:                 16 kB',
      'Rss:                  16 kB',
      'Locked:                0 kB',
      'VmFlags: rd wr sh mr mw me ms de dd mm sd',
      '7f3a2b404000-7f3a2b405000 rw-p 00000000 00:00 0',
      'Rss:                   4 kB',
      'VmFlags: rd wr mr mw me ac sd',
      '',
    ].join('\n');

    it('smapsAt finds the VMA that starts at an address and reads Rss, Locked and VmFlags', function () {
      const e = smapsAt(0x7f3a2b400000, SMAPS);
      assert.ok(e);
      assert.equal(e.rssKb, 16);
      assert.equal(e.lockedKb, 0);
      assert.deepEqual(e.flags, ['rd', 'wr', 'sh', 'mr', 'mw', 'me', 'ms', 'de', 'dd', 'mm', 'sd']);
      assert.equal(smapsAt(0x7f3a2b401000, SMAPS), null, 'inside a VMA is not its start');
    });

    it('coreSegments reads the PT_LOAD program headers of an ELF64 core, and refuses what is not one', function () {
      const core = Buffer.alloc(64 + 2 * 56);
      core.writeUInt32BE(0x7f454c46, 0);
      core[4] = 2;
      core[5] = 1;
      core.writeUInt16LE(4, 16);
      core.writeBigUInt64LE(64n, 32);
      core.writeUInt16LE(56, 54);
      core.writeUInt16LE(2, 56);
      core.writeUInt32LE(4, 64); // PT_NOTE
      const load = 64 + 56;
      core.writeUInt32LE(1, load);
      core.writeBigUInt64LE(0x1000n, load + 8);
      core.writeBigUInt64LE(0x7f0000000000n, load + 16);
      core.writeBigUInt64LE(0n, load + 32);
      core.writeBigUInt64LE(0x4000n, load + 40);
      assert.deepEqual(coreSegments(core), [{ offset: 0x1000, vaddr: 0x7f0000000000, filesz: 0, memsz: 0x4000 }]);
      assert.throws(
        () => coreSegments(Buffer.from('not an elf file, long enough to have a header of sixty-four bytes')),
        /not an ELF file/,
      );
      const exe = Buffer.from(core);
      exe.writeUInt16LE(2, 16);
      assert.throws(() => coreSegments(exe), /not a core file/);
    });

    it('decodePagemap reads present, swapped, soft-dirty and the pfn', function () {
      assert.deepEqual(decodePagemap((1n << 63n) | (1n << 55n) | 0x1234n), {
        present: true,
        swapped: false,
        softDirty: true,
        pfn: 0x1234n,
      });
      assert.deepEqual(decodePagemap(0n), { present: false, swapped: false, softDirty: false, pfn: 0n });
    });
  });

  describe('uses grid', function () {
    const results = expectedResults();
    const changed = 'pages_array/vm_insert_page/16K/use:mremap-dontunmap';
    const r = report(
      results.map((x) => (x.kernel === K612 && x.cell.id === changed ? run(K612, x.cell, 'refused', { detail: 'EINVAL' }) : x)),
    );

    it('has a row per use and a column per method (with its allocator), each slot a cell of that kernel', function () {
      const g = usesGridFor(r, K61);
      assert.ok(g);
      assert.deepEqual(
        g.rows.map((x) => x.use),
        USES.filter((u) => !PMD_SIZED_USES.includes(u)),
      );
      assert.equal(g.columns.length, SCENARIO_PAIRS.length);
      assert.ok(g.columns.some((c) => c.label === 'remap_pfn_range (vmalloc_user)'));
      for (const [i, row] of g.slots.entries()) {
        for (const [j, slot] of row.entries()) {
          assert.ok(slot, `${g.rows[i]?.use} x ${g.columns[j]?.label}`);
          assert.equal(slot.kernel, K61);
          assert.equal(slot.cell.use, g.rows[i]?.use);
        }
      }
    });

    it('a kernel that ran no use cell has no uses grid', function () {
      const plain = report(results.filter((x) => x.cell.scenario !== 'use'));
      assert.equal(usesGridFor(plain, K61), null);
      assert.ok(!renderMarkdown(plain).includes('### Uses on'));
      assert.ok(!renderHtml(plain).includes('uses-grid'));
    });

    it('marks the cells whose outcome differs between series, and only those', function () {
      const differs = seriesDifferences(r);
      // The changed cell, and the registered io_uring buffer, predicted to change from 6.1 to 6.12.
      const predicted = useCells.filter(
        (c) =>
          (c.use === 'io-uring-fixed' && !(PFN_METHODS as readonly string[]).includes(c.method)) ||
          (PMD_SIZED_USES.includes(c.use as never) && c.alloc === 'pages_comp' && c.method === 'fault_page'),
      );
      assert.deepEqual([...differs].filter((id) => id.includes('/use:')).sort(), [changed, ...predicted.map((c) => c.id)].sort());
      const rc = r.cells.find((x) => x.kernel === K612 && x.cell.id === changed);
      assert.ok(rc);
      assert.match(usesSlotText(rc, differs), /^✗.*‡ EINVAL$/);
    });

    it('report.md shows a uses table per kernel with symbol and finding, and the series mark', function () {
      const text = renderMarkdown(r);
      assert.ok(text.includes(`### Uses on ${K61}`));
      assert.ok(text.includes(`### Uses on ${K612.replace(/\+/g, '\\+')}`) || text.includes(`### Uses on ${K612}`));
      const mincoreRow = text.split('\n').find((l) => l.startsWith('| `mincore` (space) |'));
      assert.ok(mincoreRow);
      assert.ok(mincoreRow.includes('✓ resident-none') && mincoreRow.includes('✓ resident-all'), mincoreRow);
      assert.ok(text.includes('‡ EINVAL'));
      assert.ok(
        !text.includes(`\`${changed.replace('mremap-dontunmap', 'pipe-read')}\` | `),
        'use cells are not listed among the other cells',
      );
    });

    it('report.html shows the uses tables with every slot one click from its evidence', function () {
      const page = renderHtml(r);
      const slots = page.match(/<td class="use[^"]*" data-cell="\d+"/g) ?? [];
      assert.equal(slots.length, 2 * useCells.length);
      const marked = (page.match(/<td class="use series-differs"/g) ?? []).length;
      const useDiffs = [...seriesDifferences(r)].filter((id) => id.includes('/use:')).length;
      assert.equal(marked, 2 * useDiffs, 'both kernels mark each use cell that changed');
    });

    it('the huge-page uses have a grid of their own: a row per safe pair at 2 MiB, a column per THP mode', function () {
      const g = hugePageGridFor(r, K61);
      assert.ok(g);
      assert.deepEqual(g.uses, [...PMD_SIZED_USES]);
      assert.ok(g.rows.some((x) => x.label === 'pages_comp/fault_page'));
      assert.equal(g.rows.length * g.uses.length, useCells.filter((c) => PMD_SIZED_USES.includes(c.use as never)).length);
      const text = renderMarkdown(r);
      assert.ok(text.includes(`### Huge pages on ${K61}`));
      const row = text.split('\n').find((l) => l.startsWith('| `pages_comp/fault_page` |') && l.includes('pmd-mapped'));
      assert.ok(row, 'the 6.1 grid shows the PMD-mapped pair');
    });

    it('says in a line per huge-page use which pairs were PMD-mapped, and the rest as the other pairs', function () {
      const lines = hugePageSummaryLines(r);
      assert.equal(lines.length, PMD_SIZED_USES.length);
      const thpAlways = at(lines, 0, 'the thp-always line');
      assert.match(
        thpAlways,
        /^- `thp-always`: .*\*\*6\.1: ok: pmd-mapped; 6\.12: ok: pte-mapped\*\* for `pages_comp\/fault_page`; .*\*\*ok: pte-mapped\*\* for the other \d+ pairs$/,
      );
      // the pairs whose mapping the kernel refuses: plain vmalloc, and dma_alloc_pages' zero-refcount tail pages
      assert.match(
        thpAlways,
        /\*\*EINVAL\*\* for `vmalloc\/remap_vmalloc_range`, `dma_pages\/vm_insert_page`, `dma_pages\/vm_insert_pages`, `dma_pages\/vm_map_pages`;/,
      );
    });

    it('says "for all N pairs" when every pair came out the same', function () {
      const mine = report(expectedResults().filter((x) => x.cell.method === 'vmf_insert_mixed'));
      // vmf_insert_mixed takes every allocator but the hazard one
      const pairs = CATALOGUE.filter((c) => c.method === 'vmf_insert_mixed' && c.use === 'thp-always').length;
      assert.equal(pairs, 11);
      assert.deepEqual(hugePageSummaryLines(mine)[0], `- \`thp-always\`: **ok: pte-mapped** for all ${pairs} pairs`);
    });

    it('a use cell of a newer catalogue still gets a row', function () {
      const future = {
        ...makeCell('pages_array', 'vm_insert_page', USE_SIZE, { use: 'vmsplice' }),
        id: 'pages_array/vm_insert_page/16K/use:teleport',
      };
      (future as { use: string }).use = 'teleport';
      const g = usesGridFor(report([run(K61, future, 'ok')]), K61);
      assert.ok(g);
      assert.deepEqual(
        g.rows.map((x) => [x.use, x.family]),
        [['teleport', 'other']],
      );
    });
  });

  describe('uses at a glance', function () {
    it('shortOutcome names the errno or signal alone, an ok with its finding, and every outcome of a varying cell', function () {
      assert.equal(shortOutcome({ verdict: 'refused', detail: 'EFAULT', distribution: { 'refused EFAULT': 1 } }), 'EFAULT');
      assert.equal(shortOutcome({ verdict: 'user-signal', detail: 'SIGBUS', distribution: { 'user-signal SIGBUS': 1 } }), 'SIGBUS');
      assert.equal(shortOutcome({ verdict: 'ok', detail: 'resident-none', distribution: { 'ok resident-none': 1 } }), 'ok: resident-none');
      assert.equal(shortOutcome({ verdict: 'ok', detail: '', distribution: { ok: 1 } }), 'ok');
      assert.equal(shortOutcome({ verdict: 'ok', detail: '', distribution: { ok: 2, 'refused EIO': 1 } }), 'varies: ok, refused EIO');
    });

    it('puts the uses that depend on the method in the table, the rest in one line per outcome', function () {
      const r = report(expectedResults());
      const s = usesSummary(r);
      assert.deepEqual(s.methods.slice(0, 2), ['remap_pfn_range', 'fault_page']);
      const vmsplice = s.rows.find((x) => x.use === 'vmsplice');
      assert.ok(vmsplice && !vmsplice.uniform);
      assert.equal(vmsplice.entries[s.methods.indexOf('remap_pfn_range')], 'EFAULT');
      assert.equal(vmsplice.entries[s.methods.indexOf('vm_insert_page')], 'ok');
      const lines = usesSummaryMarkdown(r);
      assert.ok(
        lines.some((l) => l.startsWith('| `vmsplice` | EFAULT | ok |')),
        lines.join('\n'),
      );
      const futex = s.rows.find((x) => x.use === 'futex-shared');
      assert.ok(futex && !futex.uniform, 'EFAULT everywhere but vmf_insert_mixed, EEXIST');
      assert.equal(futex.entries[s.methods.indexOf('vmf_insert_mixed')], 'EEXIST');
      assert.ok(
        lines.some((l) => l.startsWith('- the same for every method, **EINVAL**: `madv-free`')),
        lines.join('\n'),
      );
      assert.ok(!lines.some((l) => l.startsWith('| `pipe-read` |')), 'a uniform use is not a table row');
    });

    it("sets aside a pair whose every use is refused alike (the full set's vmalloc/remap_vmalloc_range) in one line", function () {
      const results = [K61, K612].flatMap((k) => ALL_PAIRS_USE_CELLS.map((c) => expectedRun(k, c)));
      const r = report([...expectedResults(), ...results]);
      const s = usesSummary(r);
      assert.deepEqual(s.refusedPairs, [
        { pair: 'vmalloc/remap_vmalloc_range', detail: 'EINVAL' },
        // vm_insert_page refuses dma_alloc_pages' tail pages (refcount 0)
        { pair: 'dma_pages/vm_insert_page', detail: 'EINVAL' },
        { pair: 'dma_pages/vm_insert_pages', detail: 'EINVAL' },
        { pair: 'dma_pages/vm_map_pages', detail: 'EINVAL' },
      ]);
      const vmsplice = s.rows.find((x) => x.use === 'vmsplice');
      assert.equal(vmsplice?.entries[s.methods.indexOf('remap_vmalloc_range')], 'ok', 'vmalloc_user alone is left in its column');
      const lines = usesSummaryMarkdown(r);
      for (const pair of [
        'vmalloc/remap_vmalloc_range',
        'dma_pages/vm_insert_page',
        'dma_pages/vm_insert_pages',
        'dma_pages/vm_map_pages',
      ]) {
        assert.ok(
          lines.includes(`- left out above, **EINVAL** whatever the use (the mapping itself is refused): \`${pair}\``),
          lines.join('\n'),
        );
      }
      // One use refused is no reason to set a pair aside.
      const one = report(expectedResults().filter((x) => x.cell.use === undefined || x.cell.use === 'vmsplice'));
      assert.deepEqual(usesSummary(one).refusedPairs, []);
    });

    it('says so where kernel series disagree', function () {
      const id = 'pages_array/vm_insert_page/16K/use:vmsplice';
      const r = report(
        expectedResults((x) => (x.kernel === K612 && x.cell.id === id ? [run(K612, x.cell, 'refused', { detail: 'EFAULT' })] : null)),
      );
      const row = usesSummary(r).rows.find((x) => x.use === 'vmsplice');
      assert.ok(row);
      assert.equal(row.entries[usesSummary(r).methods.indexOf('vm_insert_page')], '6.1: ok; 6.12: EFAULT');
      assert.ok(renderMarkdown(r).includes('## Uses at a glance'));
    });
  });
});
