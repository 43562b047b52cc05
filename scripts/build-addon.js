#!/usr/bin/env node
// `npm run build:addon`: one compile of native/ that yields both
//   prebuilds/<platform>-<arch>/mmaplab.node  the stripped N-API prebuild that
//                                              `npm pack` ships (prebuildify);
//   build/Release/mmaplab.node                the source build node-gyp-build
//                                              prefers in a checkout.
// prebuildify strips build/Release/mmaplab.node in place and moves it into
// prebuilds/. With gyp's make generator that file is a hard link of
// build/Release/obj.target/mmaplab.node, so the prebuild is first made a file
// of its own, the linked module removed, and `node-gyp build` then relinks an
// unstripped source build from the objects left behind (no recompile).
//
// Offline: left alone, prebuildify asks node-gyp for the newest Node release
// node-abi knows, whose headers node-gyp then downloads from nodejs.org. So
// the target is pinned to the running node, and unless npm_config_nodedir is
// already set (e.g. nodedir in ~/.npmrc), node-gyp is pointed at the headers
// installed beside this node when their version matches. Without either,
// node-gyp downloads the headers as usual.
// Plain JavaScript: it runs before anything is compiled.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** The install prefix of this node, if its include/node headers are for this very version. */
function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  let header;
  try {
    header = fs.readFileSync(path.join(prefix, 'include', 'node', 'node_version.h'), 'utf8');
  } catch {
    return undefined;
  }
  const part = (n) => (new RegExp(`^#define NODE_${n}_VERSION (\\d+)`, 'm').exec(header) ?? [])[1];
  const version = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  return version === process.versions.node ? prefix : undefined;
}

function run(what, script, args, env) {
  const r = spawnSync(process.execPath, [require.resolve(script, { paths: [root] }), ...args], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`build-addon: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const dir = localNodeDir();
  if (dir) env.npm_config_nodedir = dir;
}

run('prebuildify', 'prebuildify/bin.js', ['--napi', '--strip', `--target=node@${process.versions.node}`], env);
const name = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).name;
const prebuild = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, `${name}.node`);
const release = path.join(root, 'build', 'Release');
const sourceBuild = path.join(release, `${name}.node`);

if (!fs.existsSync(prebuild)) {
  console.error(`build-addon: prebuildify did not produce ${path.relative(root, prebuild)}`);
  process.exit(1);
}
const own = `${prebuild}.tmp`;
fs.copyFileSync(prebuild, own);
fs.renameSync(own, prebuild);
fs.rmSync(sourceBuild, { force: true });
fs.rmSync(path.join(release, 'obj.target', `${name}.node`), { force: true });

run('node-gyp build', 'node-gyp/bin/node-gyp.js', ['build'], env);
if (!fs.existsSync(sourceBuild)) {
  console.error(`build-addon: node-gyp build did not produce ${path.relative(root, sourceBuild)}`);
  process.exit(1);
}
