#!/usr/bin/env node
// Rebuild the addon and the TypeScript when their sources are newer than
// their outputs or an output is missing (the addon first: the support table
// the TypeScript reads is written from it), then make sure mmaplab.ko is built
// for the default kernels (that step keeps its own content hash and is cheap
// when nothing changed).
// Plain JavaScript: it must run before anything is compiled.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function newest(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of fs.readdirSync(p)) t = Math.max(t, newest(path.join(p, e)));
  return t;
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

function run(args) {
  const r = spawnSync('npm', ['run', '--silent', ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const at = (...p) => path.join(root, ...p);
// The addon has two outputs (scripts/build-addon.js): the source build that
// node-gyp-build loads in a checkout and the prebuild that npm pack ships.
// Either one missing or older than the sources means a rebuild.
const addonName = `${JSON.parse(fs.readFileSync(at('package.json'), 'utf8')).name}.node`;
const addons = [at('build', 'Release', addonName), at('prebuilds', `${process.platform}-${process.arch}`, addonName)];
// kmod/mmaplab_support.h: the module's support table, which the addon compiles too.
const addonSources = Math.max(
  newest(at('native')),
  mtime(at('binding.gyp')),
  newest(at('kmod', 'include')),
  mtime(at('kmod', 'mmaplab_support.h')),
);
if (Math.min(...addons.map(mtime)) < addonSources) {
  run(['build:addon']);
  const now = new Date();
  for (const a of addons) fs.utimesSync(a, now, now);
}

// lib/device/support-table.ts is the header's support table as the addon
// compiled it: written again (when it changed) before the TypeScript builds.
const supportTable = at('lib', 'device', 'support-table.ts');
if (mtime(supportTable) < Math.min(...addons.map(mtime))) {
  const r = spawnSync(process.execPath, [at('scripts', 'write-support-table.js')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const now = new Date();
  fs.utimesSync(supportTable, now, now);
}

const tsStamp = at('dist', '.tsbuildinfo');
const tsSources = Math.max(newest(at('lib')), newest(at('test')), mtime(at('tsconfig.json')), mtime(at('package.json')));
if (mtime(tsStamp) < tsSources) {
  run(['build:ts']);
  // tsc leaves its build info alone when nothing changed: mark the check done.
  const now = new Date();
  fs.utimesSync(tsStamp, now, now);
}

run(['build:kmod']);
