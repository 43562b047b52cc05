/**
 * The method lists of lib/device/support.ts restate flags of the module's
 * method table, mmaplab_methods[] in kmod/mmaplab_map.c (pfn_based,
 * fault_around, has_store) and the methods mmaplab_method_remaps() names.
 * These tests read that source and compare, so a method added to the
 * module with a flag its list lacks (or the other way round) fails here,
 * not as a missing cache cell in the catalogue.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { METHODS, type MethodName } from '../../lib/device/layout';
import { BAR_REMAP_METHODS, FAULT_METHODS, FILE_METHODS, PFN_METHODS } from '../../lib/device/support';
import { REPO_ROOT } from '../../lib/paths';

const MAP_C = path.join(REPO_ROOT, 'kmod', 'mmaplab_map.c');

/** mmaplab_methods[]'s entries: the method's name (lower case, as layout.ts spells it) and the body between its braces. */
function methodEntries(source: string): Map<string, string> {
  const head = 'mmaplab_methods[MMAPLAB_METHOD_COUNT] = {';
  const start = source.indexOf(head);
  assert.ok(start >= 0, 'kmod/mmaplab_map.c has the method table mmaplab_methods[]');
  const table = source.slice(start + head.length, source.indexOf('\n};', start));
  const out = new Map<string, string>();
  for (const m of table.matchAll(/\[MMAPLAB_METHOD_(\w+)\] = \{([^}]*)\}/g)) out.set((m[1] ?? '').toLowerCase(), m[2] ?? '');
  return out;
}

/** The methods whose entry sets `flag` to true, sorted. */
function withFlag(entries: ReadonlyMap<string, string>, flag: string): string[] {
  const set = new RegExp(`\\.${flag}\\s*=\\s*true`);
  return [...entries]
    .filter(([, body]) => set.test(body))
    .map(([name]) => name)
    .sort();
}

/** The methods mmaplab_method_remaps() compares with, sorted. */
function remapping(source: string): string[] {
  const body = /mmaplab_method_remaps\(enum mmaplab_method method\)\n\{([^}]*)\}/.exec(source)?.[1];
  assert.ok(body !== undefined, 'kmod/mmaplab_map.c has mmaplab_method_remaps()');
  return [...body.matchAll(/MMAPLAB_METHOD_(\w+)/g)].map((m) => (m[1] ?? '').toLowerCase()).sort();
}

const sorted = (list: readonly MethodName[]): string[] => [...list].sort();

describe("method lists: lib/device/support.ts against the module's method table", function () {
  const source = fs.readFileSync(MAP_C, 'utf8');
  const entries = methodEntries(source);

  it('the table has an entry for every method layout.ts names, and no other', function () {
    assert.deepEqual([...entries.keys()].sort(), Object.keys(METHODS).sort());
  });

  it('PFN_METHODS are the entries with .pfn_based', function () {
    assert.deepEqual(sorted(PFN_METHODS), withFlag(entries, 'pfn_based'));
  });

  it('FAULT_METHODS are the entries with .fault_around', function () {
    assert.deepEqual(sorted(FAULT_METHODS), withFlag(entries, 'fault_around'));
  });

  it('FILE_METHODS are the entries with .has_store', function () {
    assert.deepEqual(sorted(FILE_METHODS), withFlag(entries, 'has_store'));
  });

  it('BAR_REMAP_METHODS are the methods mmaplab_method_remaps() names', function () {
    assert.deepEqual(sorted(BAR_REMAP_METHODS), remapping(source));
  });

  it('reads a flag it is shown (the reading itself)', function () {
    const sample =
      'mmaplab_methods[MMAPLAB_METHOD_COUNT] = {\n\t[MMAPLAB_METHOD_A_B] = {\n\t\t.name = "a_b",\n\t\t.pfn_based\t= true,\n\t},\n\t[MMAPLAB_METHOD_C] = {\n\t\t.name = "c",\n\t},\n};\n';
    const e = methodEntries(sample);
    assert.deepEqual([...e.keys()], ['a_b', 'c']);
    assert.deepEqual(withFlag(e, 'pfn_based'), ['a_b']);
    assert.deepEqual(withFlag(e, 'has_store'), []);
  });
});
