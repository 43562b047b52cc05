/**
 * lib/device/support.ts has no table of its own: it derives support(), the
 * hazards and the allocator lists from kmod/mmaplab_support.h, which the
 * module checks CONFIGURE against and the addon exports; the export is
 * written down as lib/device/support-table.ts, so that the catalogue and the
 * reports load without the addon, and the first tests fail when that file
 * is not what the addon exports. These tests check
 * the export's shape against layout.ts and the derivation (names to
 * numbers, values, marks), with a few pairs whose answer is known as an
 * anchor; the table itself is stated once, in the header. The guest suite
 * 30-device-api then checks the module refuses exactly there.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALLOCS, METHODS, type AllocName, type MethodName } from '../../lib/device/layout';
import { nativeConstants, type NativeSupport } from '../../lib/device/native';
import { COMPOUND_PAGE_ALLOCS, deriveSupport, HAZARD_ALLOCS, OWN_PAGE_ALLOCS, reservedIsHazard, support } from '../../lib/device/support';
import { MODULE_SUPPORT } from '../../lib/device/support-table';
import { REPO_ROOT } from '../../lib/paths';
import { at } from '../../lib/util/at';
import { MmaplabError } from '../../lib/util/errors';

// The writer is plain JavaScript (it runs before the TypeScript is compiled).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a script outside the TypeScript build, loaded by path
const { render: renderSupportTable } = require(path.join(REPO_ROOT, 'scripts', 'write-support-table.js')) as {
  render: (s: NativeSupport, enums: Readonly<Record<string, number>>) => string;
};

const ALLOC_NAMES = Object.keys(ALLOCS) as AllocName[];
const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

/** A deep copy of the export to spoil. */
function copy(s: NativeSupport): {
  values: NativeSupport['values'];
  pairs: number[][];
  marks: NativeSupport['marks'];
  allocMarks: number[];
} {
  return { values: { ...s.values }, pairs: s.pairs.map((r) => [...r]), marks: { ...s.marks }, allocMarks: [...s.allocMarks] };
}

function mismatch(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof MmaplabError && e.code === 'ERR_LAYOUT_MISMATCH' && pattern.test(e.message));
}

describe('support table: derived from kmod/mmaplab_support.h, through the addon', () => {
  const exported = nativeConstants().support;
  const { enums } = nativeConstants();

  it('lib/device/support-table.ts is what the addon, compiled from the header, exports', () => {
    assert.deepEqual(
      MODULE_SUPPORT,
      exported,
      'lib/device/support-table.ts is stale: run `node scripts/write-support-table.js` (or node scripts/build-if-stale.js) and commit it',
    );
  });

  it('the file is the text the writer makes from the export, comments naming each row included', () => {
    const file = path.join(REPO_ROOT, 'lib', 'device', 'support-table.ts');
    assert.equal(fs.readFileSync(file, 'utf8'), renderSupportTable(exported, enums), 'run `node scripts/write-support-table.js`');
  });

  it('the addon exports a row for every method number and in it a value for every allocator number, each a value the header names', () => {
    assert.deepEqual(Object.keys(exported.values).sort(), ['HAZARD', 'SUPPORTED', 'UNSUPPORTED']);
    assert.equal(new Set(Object.values(exported.values)).size, 3, 'three distinct values');
    assert.equal(exported.pairs.length, enums.METHOD_COUNT);
    for (const row of exported.pairs) assert.equal(row.length, enums.ALLOC_COUNT);
    const known = new Set(Object.values(exported.values));
    assert.ok(
      exported.pairs.flat().every((v) => known.has(v)),
      JSON.stringify(exported.pairs),
    );
    // Number 0 is neither a method nor an allocator: nothing there is taken.
    assert.ok(exported.pairs[0]?.every((v) => v === exported.values.UNSUPPORTED));
    assert.ok(exported.pairs.every((row) => row[0] === exported.values.UNSUPPORTED));
  });

  it('the allocator marks: one bit each, every allocator number marked with known bits only', () => {
    assert.deepEqual(Object.keys(exported.marks).sort(), ['COMPOUND', 'HAZARD', 'OWN_PAGES']);
    const bits = Object.values(exported.marks);
    assert.ok(
      bits.every((b) => b > 0 && (b & (b - 1)) === 0),
      'single bits',
    );
    assert.equal(new Set(bits).size, bits.length, 'distinct bits');
    const all = bits.reduce((a, b) => a | b, 0);
    assert.equal(exported.allocMarks.length, enums.ALLOC_COUNT);
    assert.ok(
      exported.allocMarks.every((m) => (m & ~all) === 0),
      JSON.stringify(exported.allocMarks),
    );
    assert.equal(exported.allocMarks[0], 0);
  });

  it('support() answers every method x allocator of layout.ts from the entry at their numbers', () => {
    const { values, pairs, marks, allocMarks } = exported;
    let count = 0;
    for (const m of METHOD_NAMES) {
      for (const a of ALLOC_NAMES) {
        const value = pairs[METHODS[m]]?.[ALLOCS[a]];
        const allocHazard = ((allocMarks[ALLOCS[a]] ?? 0) & marks.HAZARD) !== 0;
        const want = value === values.UNSUPPORTED ? 'unsupported' : value === values.HAZARD || allocHazard ? 'hazard' : 'safe';
        assert.equal(support(a, m), want, `${m} x ${a}`);
        count++;
      }
    }
    assert.equal(count, METHOD_NAMES.length * ALLOC_NAMES.length);
  });

  it('the allocator lists are the allocators carrying each mark, in layout.ts order', () => {
    const marked = (bit: number) => ALLOC_NAMES.filter((a) => ((exported.allocMarks[ALLOCS[a]] ?? 0) & bit) !== 0);
    assert.deepEqual(OWN_PAGE_ALLOCS, marked(exported.marks.OWN_PAGES));
    assert.deepEqual(COMPOUND_PAGE_ALLOCS, marked(exported.marks.COMPOUND));
    assert.deepEqual(HAZARD_ALLOCS, marked(exported.marks.HAZARD));
    for (const a of ALLOC_NAMES) assert.equal(reservedIsHazard(a), COMPOUND_PAGE_ALLOCS.includes(a), a);
  });

  it('known answers, as an anchor', () => {
    assert.equal(support('kmalloc', 'remap_pfn_range'), 'safe');
    assert.equal(support('kmalloc', 'fault_page'), 'hazard', 'virt_to_page() of slab memory handed to the core');
    assert.equal(support('kmalloc', 'remap_vmalloc_range'), 'unsupported');
    assert.equal(support('vmalloc', 'remap_vmalloc_range'), 'safe', "let through: the refusal is the kernel's");
    assert.equal(support('pages_nocomp', 'remap_pfn_range'), 'hazard', 'a hazard whatever maps it');
    assert.equal(support('pci_bar', 'io_remap_pfn_range'), 'safe');
    assert.deepEqual(HAZARD_ALLOCS, ['pages_nocomp']);
    assert.ok(OWN_PAGE_ALLOCS.includes('pages_array') && !OWN_PAGE_ALLOCS.includes('dma_coherent') && !OWN_PAGE_ALLOCS.includes('shmem'));
    assert.ok(reservedIsHazard('pages_comp') && !reservedIsHazard('pages_split'));
    // FAULT_PAGE_NOREF's row is PAGE_BACKED() alone, the header's list of the allocators it marks OWN_PAGES.
    assert.deepEqual(
      ALLOC_NAMES.filter((a) => support(a, 'fault_page_noref') !== 'unsupported'),
      OWN_PAGE_ALLOCS,
    );
  });

  it('deriveSupport() of the export is what support.ts answers with; a table without an entry layout.ts names, or with a value the header does not, is ERR_LAYOUT_MISMATCH', () => {
    const derived = deriveSupport(exported);
    assert.deepEqual(derived.marked.OWN_PAGES, OWN_PAGE_ALLOCS);
    assert.equal(derived.pairs.fault_page.kmalloc, 'HAZARD');

    // The last numbers layout.ts names: a table that stops short of them does not fit.
    const lastMethod = METHOD_NAMES.reduce((a, b) => (METHODS[a] > METHODS[b] ? a : b));
    const lastAlloc = ALLOC_NAMES.reduce((a, b) => (ALLOCS[a] > ALLOCS[b] ? a : b));
    const fewerRows = copy(exported);
    fewerRows.pairs.length = METHODS[lastMethod];
    mismatch(() => deriveSupport(fewerRows), new RegExp(`no entry for ${lastMethod} x ${at(ALLOC_NAMES, 0, 'the first allocator')}`));
    const shortRow = copy(exported);
    shortRow.pairs[METHODS.fault_page]?.splice(ALLOCS[lastAlloc]);
    mismatch(() => deriveSupport(shortRow), new RegExp(`no entry for fault_page x ${lastAlloc}`));
    const strange = copy(exported);
    const row = strange.pairs[METHODS.vm_map_pages];
    assert.ok(row);
    row[ALLOCS.vmalloc] = 7;
    mismatch(() => deriveSupport(strange), /vm_map_pages x vmalloc is 7/);
    const fewerMarks = copy(exported);
    fewerMarks.allocMarks.length = ALLOCS[lastAlloc];
    mismatch(() => deriveSupport(fewerMarks), new RegExp(`no marks for ${lastAlloc}`));
    const noBit = copy(exported);
    noBit.marks = { ...noBit.marks, COMPOUND: 0 };
    mismatch(() => deriveSupport(noBit), /no bit for the mark COMPOUND/);
    // Numbers layout.ts does not name yet (one being added) are left out, not refused.
    const more = copy(exported);
    for (const r of more.pairs) r.push(exported.values.SUPPORTED);
    more.pairs.push(more.pairs[0]?.map(() => exported.values.HAZARD) ?? []);
    more.allocMarks.push(exported.marks.HAZARD);
    assert.deepEqual(deriveSupport(more), derived);
  });
});
