#!/usr/bin/env node
// Writes lib/device/support-table.ts: kmod/mmaplab_support.h (what CONFIGURE
// accepts, the module's rules) as the addon compiled it. The TypeScript side
// derives support() and the allocator lists from that file, so rendering a
// report or planning a matrix needs no addon; the unit test
// test/unit/support-table.test.ts fails when the file and the addon differ.
// Plain JavaScript: it runs before the TypeScript is compiled.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'lib', 'device', 'support-table.ts');

/** The enum's names by number ('METHOD' -> ['', 'REMAP_VMALLOC_RANGE', ...]), from the addon's enums. */
function namesOf(enums, prefix) {
  const names = [];
  for (const [k, v] of Object.entries(enums)) {
    if (k.startsWith(`${prefix}_`) && k !== `${prefix}_COUNT`) names[v] = k.slice(prefix.length + 1).toLowerCase();
  }
  return names;
}

/** { A: 0, B: 1 }: an object of numbers as TypeScript source, laid out as Prettier does. */
function objectLiteral(o) {
  return `{ ${Object.entries(o)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }`;
}

/** The file's text for the addon's export `s` (the same text for the same table). */
function render(s, enums) {
  const methods = namesOf(enums, 'METHOD');
  const allocs = namesOf(enums, 'ALLOC');
  const row = (r, i) => `    [${r.join(', ')}], // ${i} ${methods[i] ?? '(none)'}`;
  return [
    '/**',
    ' * kmod/mmaplab_support.h as data: the support table (a row per method',
    " * number, a value per allocator number) and the allocators' marks, as the",
    ' * addon compiles them from the header. Written by',
    ' * `node scripts/write-support-table.js` (node scripts/build-if-stale.js runs',
    ' * it when the header changes): edit the header, not this file.',
    ' */',
    "import type { NativeSupport } from './native';",
    '',
    'export const MODULE_SUPPORT: NativeSupport = {',
    `  values: ${objectLiteral(s.values)},`,
    `  // columns: ${s.allocMarks.map((_, i) => `${i} ${allocs[i] ?? '(none)'}`).join(', ')}`,
    '  pairs: [',
    ...s.pairs.map(row),
    '  ],',
    `  marks: ${objectLiteral(s.marks)},`,
    `  allocMarks: [${s.allocMarks.join(', ')}],`,
    '};',
    '',
  ].join('\n');
}

function main() {
  const constants = require('node-gyp-build')(root).constants();
  if (constants.support === undefined) {
    console.error('the addon exports no support table: rebuild it with `npm run build:addon`');
    process.exit(1);
  }
  const text = render(constants.support, constants.enums);
  const old = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : null;
  if (old === text) return;
  fs.writeFileSync(out, text);
  console.log(`wrote ${path.relative(root, out)} from kmod/mmaplab_support.h (through the addon)`);
}

if (require.main === module) main();
module.exports = { render };
