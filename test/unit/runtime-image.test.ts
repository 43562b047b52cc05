/**
 * lib/vm/runtime-image without a VM: what the guest's runtime image holds
 * (planned from this checkout and this host), and the image itself, built
 * once into a temporary cache and read back with debugfs: ext4, node at its
 * host path with the host's size and owner, a dist file, then a cache hit,
 * and a new key when an input's mtime changes.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import {
  BUSYBOX_APPLETS,
  MKE2FS_FEATURES,
  RUNTIME_IMAGE_LABEL,
  checkPlan,
  findTool,
  imageGeometry,
  mke2fsPath,
  parseLdd,
  planRuntimeFiles,
  runtimeImage,
  runtimeKey,
  sharedLibraries,
  ownerCommands,
  restoreOwners,
  type FileEntry,
  type RuntimeEntry,
  type RuntimeImage,
} from '../../lib/vm/runtime-image';
import { caught } from './caught';

const ROOT = { uid: 0, gid: 0 };

/** The file `p` names in the planned image, following the plan's symlinks as the kernel would; null if none. */
function resolveInPlan(entries: readonly RuntimeEntry[], p: string): Extract<RuntimeEntry, { kind: 'file' }> | null {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const rest = p.split('/').filter(Boolean);
  let real = '/';
  for (let links = 0; rest.length > 0 && links < 40;) {
    const next = path.join(real, rest.shift() as string);
    const e = byPath.get(next);
    if (e?.kind === 'symlink') {
      links++;
      rest.unshift(...path.resolve(real, e.target).split('/').filter(Boolean));
      real = '/';
    } else real = next;
  }
  const e = byPath.get(real);
  return rest.length === 0 && e?.kind === 'file' ? e : null;
}

/** PT_INTERP of an ELF64 file: the dynamic loader the kernel starts it with. */
function elfInterpreter(file: string): string | null {
  const head = Buffer.alloc(8192);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const phoff = Number(head.readBigUInt64LE(0x20));
  const phentsize = head.readUInt16LE(0x36);
  for (let i = 0; i < head.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (head.readUInt32LE(ph) !== 3) continue;
    const off = Number(head.readBigUInt64LE(ph + 8));
    const size = Number(head.readBigUInt64LE(ph + 32));
    return head.toString('latin1', off, off + size).replace(/\0+$/, '');
  }
  return null;
}

function debugfs(image: string, request: string): string {
  const tool = findTool('debugfs');
  assert.ok(tool, 'debugfs (e2fsprogs) is on this host');
  const r = spawnSync(tool, ['-R', request, image], { encoding: 'utf8' });
  assert.equal(r.status, 0, `debugfs -R '${request}' failed: ${r.stderr}`);
  return r.stdout;
}

/** The "Size:" debugfs reports for `p` in `image`. */
function sizeInImage(image: string, p: string): number {
  const m = /\bSize: (\d+)/.exec(debugfs(image, `stat ${p}`));
  assert.ok(m, `debugfs found ${p} in the image`);
  return Number(m[1]);
}

describe('runtime image: what goes in (planRuntimeFiles on this host)', () => {
  let plan: RuntimeEntry[];
  const has = (p: string): boolean => plan.some((e) => e.path === p);
  before(() => {
    plan = planRuntimeFiles();
  });

  it('holds node (process.execPath) as a file with its host size', () => {
    const node = resolveInPlan(plan, process.execPath);
    assert.ok(node, `${process.execPath} resolves in the image`);
    assert.equal(node.size, fs.statSync(process.execPath).size);
  });

  it("holds node's dynamic loader (its PT_INTERP) and every library ldd names, through the host's symlinks", () => {
    const interp = elfInterpreter(process.execPath);
    assert.ok(interp, 'node is dynamically linked');
    for (const p of [interp, ...sharedLibraries(process.execPath)]) {
      const file = resolveInPlan(plan, p);
      assert.ok(file, `${p} resolves to a file in the image`);
      assert.equal(file.size, fs.statSync(p).size, p);
    }
  });

  it('keeps the symlinks on the way to a host path (merged /usr: /bin, /lib64) as symlinks', () => {
    for (const p of ['/bin', '/lib', '/lib64']) {
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (st?.isSymbolicLink() !== true) continue;
      const e = plan.find((x) => x.path === p);
      assert.deepEqual(e, { kind: 'symlink', path: p, target: fs.readlinkSync(p), uid: st.uid, gid: st.gid });
    }
  });

  it("holds the package: package.json, dist/lib/runner/agent.js and the guest suites, at the checkout's paths", () => {
    for (const rel of ['package.json', 'dist/lib/runner/agent.js', 'dist/lib/runner/guest-suite.js', 'dist/test/guest']) {
      const p = path.join(REPO_ROOT, rel);
      assert.ok(resolveInPlan(plan, p) !== null || has(fs.realpathSync(p)), `${p} is in the image`);
    }
  });

  it('holds the built addon (build/Release/*.node or prebuilds/)', () => {
    const addons = plan.filter(
      (e) => e.kind === 'file' && e.path.endsWith('.node') && /\/(build\/Release|prebuilds\/[^/]+)\/[^/]+$/.test(e.path),
    );
    assert.ok(addons.length > 0, 'some mmaplab.node is in the image');
  });

  it('holds busybox, /bin/sh pointing at it, and every applet the guest runs', () => {
    const busybox = resolveInPlan(plan, '/bin/busybox');
    assert.ok(busybox, '/bin/busybox resolves in the image');
    for (const applet of ['sh', ...Object.keys(BUSYBOX_APPLETS)]) {
      assert.equal(resolveInPlan(plan, `/bin/${applet}`)?.path, busybox.path, `/bin/${applet} is busybox`);
    }
  });

  it('keeps mocha, node-gyp-build and valibot, leaves out typescript, node-gyp, @types/node, the linters and the .bin links into them', () => {
    const nm = path.join(fs.realpathSync(REPO_ROOT), 'node_modules');
    for (const pkg of ['mocha', 'node-gyp-build', 'node-addon-api', 'valibot']) {
      assert.ok(has(path.join(nm, pkg, 'package.json')), `${pkg} is in`);
    }
    for (const pkg of ['typescript', 'node-gyp', '@types/node', 'eslint', '@eslint/js', 'typescript-eslint', 'prettier']) {
      assert.ok(!has(path.join(nm, pkg)), `${pkg} is left out`);
    }
    for (const bin of ['tsc', 'eslint', 'prettier']) {
      assert.ok(!has(path.join(nm, '.bin', bin)), `no .bin/${bin} pointing at a package that is not there`);
    }
    assert.ok(has(path.join(nm, '.bin', 'mocha')), '.bin/mocha stays');
  });

  it('leaves out a package only the host-side tests require (typescript, required by a unit test)', () => {
    const unit = path.join(REPO_ROOT, 'dist', 'test', 'unit');
    const requiring = fs
      .readdirSync(unit)
      .filter((f) => f.endsWith('.js') && /require\("typescript"\)/.test(fs.readFileSync(path.join(unit, f), 'utf8')));
    assert.notDeepEqual(requiring, [], 'a compiled unit test requires typescript');
    assert.ok(!has(path.join(fs.realpathSync(REPO_ROOT), 'node_modules', 'typescript')), 'typescript is left out');
  });

  it('has the mount points init uses, /tmp sticky and world-writable', () => {
    for (const d of ['/proc', '/sys', '/dev', '/run']) assert.equal(plan.find((e) => e.path === d)?.kind, 'dir', d);
    assert.deepEqual(
      plan.find((e) => e.path === '/tmp'),
      { kind: 'dir', path: '/tmp', mode: 0o1777, uid: 0, gid: 0 },
    );
  });

  it('has no entry below a symlink (staging could write through it onto the host)', () => {
    checkPlan(plan);
    const bad: RuntimeEntry[] = [
      { kind: 'symlink', path: '/lib64', target: '/usr/lib64', ...ROOT },
      { kind: 'file', path: '/lib64/x.so', mode: 0o644, size: 1, mtimeMs: 1, ...ROOT },
    ];
    assert.equal(caught(() => checkPlan(bad)).code, 'ERUNTIMEIMAGE');
  });

  it('leaves out the .ko: the module comes with each job', () => {
    assert.equal(plan.filter((e) => e.path.endsWith('.ko')).length, 0);
  });

  it('without a built dist/ is ERUNTIMEIMAGE saying to run npm run build:ts', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rt-empty-'));
    try {
      const err = caught(() => planRuntimeFiles({ root: empty }));
      assert.equal(err.code, 'ERUNTIMEIMAGE');
      assert.match(err.message, /npm run build:ts/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('runtime image: pure parts', () => {
  it('parseLdd takes the libraries and the loader, skips the vDSO, and lists what is not found', () => {
    const text = [
      '\tlinux-vdso.so.1 (0x00007ffd1a9e4000)',
      '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f0c0a600000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c0a33e000)',
      '\tlibgone.so.1 => not found',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c0a8d1000)',
    ].join('\n');
    assert.deepEqual(parseLdd(text), {
      libraries: ['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2'],
      missing: ['libgone.so.1'],
    });
    assert.deepEqual(parseLdd('\tstatically linked\n'), { libraries: [], missing: [] });
  });

  it('the key changes with a file mtime and with nothing else unchanged', () => {
    const entry: FileEntry = { kind: 'file', path: '/x/dist/lib/cli.js', mode: 0o644, size: 10, mtimeMs: 1000, ...ROOT };
    const a: FileEntry[] = [entry];
    const b: FileEntry[] = [{ ...entry, mtimeMs: 1001 }];
    assert.equal(runtimeKey(a), runtimeKey(structuredClone(a)));
    assert.notEqual(runtimeKey(a), runtimeKey(b));
    assert.match(runtimeKey(a), /^[0-9a-f]{16}$/);
  });

  it('imageGeometry leaves room beyond the data and an inode for every entry', () => {
    const entries: RuntimeEntry[] = Array.from({ length: 3000 }, (_, i) => ({
      kind: 'file' as const,
      path: `/d/f${i}`,
      mode: 0o644,
      size: 40_000,
      mtimeMs: 0,
      ...ROOT,
    }));
    const g = imageGeometry(entries);
    assert.ok(g.bytes > 3000 * 40_960 * 1.1, `${g.bytes} bytes`);
    assert.equal(g.bytes % (1 << 20), 0, 'whole MiB');
    assert.ok(g.inodes > 3000);
  });

  it('ownerCommands sets uid and gid only where the staged owner is not the host owner', () => {
    const entries: RuntimeEntry[] = [
      { kind: 'file', path: '/usr/bin/node', mode: 0o755, size: 1, mtimeMs: 1, ...ROOT },
      { kind: 'dir', path: '/home/u/mmaplab', mode: 0o755, uid: 1000, gid: 1000 },
    ];
    const staged = (): { uid: number; gid: number } => ({ uid: 1000, gid: 1000 }); // a builder that is not root
    assert.deepEqual(ownerCommands(entries, staged), ['sif "/usr/bin/node" uid 0', 'sif "/usr/bin/node" gid 0']);
    const quote: RuntimeEntry = { kind: 'dir', path: '/a"b', mode: 0o755, ...ROOT };
    assert.equal(caught(() => ownerCommands([quote], () => ({ uid: 1, gid: 1 }))).code, 'ERUNTIMEIMAGE');
  });

  it('without mke2fs: ENOTOOL naming apt-get install e2fsprogs', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rt-notool-'));
    try {
      const err = caught(() => mke2fsPath([empty]));
      assert.equal(err.code, 'ENOTOOL');
      assert.match(err.message, /apt-get install e2fsprogs/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('runtime image: built into a temporary cache and read back (mke2fs, debugfs)', function () {
  this.timeout(180_000);
  let cache: string;
  let first: RuntimeImage;
  const stale = 'rt-0000000000000000';
  const deadStaging = `${stale}.img.999999999.staging`;

  before(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rt-cache-'));
    fs.writeFileSync(path.join(cache, `${stale}.img`), 'old image');
    fs.writeFileSync(path.join(cache, `${stale}.json`), '{}');
    fs.utimesSync(path.join(cache, `${stale}.json`), new Date(0), new Date(0));
    fs.mkdirSync(path.join(cache, deadStaging));
    first = runtimeImage({ cacheDir: cache, keep: 1 });
  });
  after(() => fs.rmSync(cache, { recursive: true, force: true }));

  it('builds an image named by its key, reporting its size and file count', () => {
    assert.equal(first.built, true);
    assert.equal(first.path, path.join(cache, `rt-${first.key}.img`));
    assert.equal(first.bytes, fs.statSync(first.path).size);
    assert.ok(first.files > 1000, `${first.files} files`);
  });

  it(`is ext4 labelled ${RUNTIME_IMAGE_LABEL}, without a journal, metadata_csum or orphan_file`, () => {
    const stats = debugfs(first.path, 'stats');
    assert.match(stats, new RegExp(`Filesystem volume name:\\s+${RUNTIME_IMAGE_LABEL}\\n`));
    const features = /Filesystem features:\s+(.*)\n/.exec(stats)?.[1] ?? '';
    assert.match(features, /\bextent\b/, 'an ext4 feature');
    for (const f of MKE2FS_FEATURES.split(',').map((x) => x.slice(1))) {
      assert.ok(!features.split(' ').includes(f), `no ${f}: ${features}`);
    }
  });

  it("holds node at its real host path with the host's size, and dist/lib/runner/agent.js", () => {
    const node = fs.realpathSync(process.execPath);
    assert.equal(sizeInImage(first.path, node), fs.statSync(node).size);
    const agent = path.join(fs.realpathSync(REPO_ROOT), 'dist', 'lib', 'runner', 'agent.js');
    assert.equal(sizeInImage(first.path, agent), fs.statSync(agent).size);
  });

  it('gives node the host owner', () => {
    const node = fs.statSync(process.execPath);
    const stat = debugfs(first.path, `stat ${fs.realpathSync(process.execPath)}`);
    assert.match(stat, new RegExp(`User:\\s+${node.uid}\\s+Group:\\s+${node.gid}\\b`));
  });

  it("has /bin/sh as a symlink to busybox in /bin's directory", () => {
    const bin = fs.realpathSync('/bin');
    const listing = debugfs(first.path, `ls -l ${bin}`);
    assert.match(listing, /\b120777\b.*\bsh\n/, `sh is a symlink in ${bin}`);
    assert.match(debugfs(first.path, `stat ${bin}/sh`), /Fast link dest: "busybox"/);
  });

  it('removed the other images beyond keep, and what a dead builder left', () => {
    assert.deepEqual(fs.readdirSync(cache).sort(), [`rt-${first.key}.img`, `rt-${first.key}.json`]);
  });

  it('a second call with unchanged inputs is a cache hit: same image, not rebuilt', () => {
    const again = runtimeImage({ cacheDir: cache, keep: 1 });
    assert.equal(again.built, false);
    assert.equal(again.path, first.path);
    assert.equal(again.key, first.key);
    assert.equal(again.bytes, first.bytes);
  });

  it('a touched input (a new mtime on dist/lib/cli.js of a copy of the package) gives a new key', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rt-root-'));
    try {
      fs.cpSync(path.join(REPO_ROOT, 'package.json'), path.join(root, 'package.json'));
      for (const rel of ['dist/lib/runner/agent.js', 'dist/lib/cli.js', 'node_modules/mocha/package.json']) {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.cpSync(path.join(REPO_ROOT, rel), path.join(root, rel));
      }
      const before = runtimeKey(planRuntimeFiles({ root }));
      assert.equal(runtimeKey(planRuntimeFiles({ root })), before, 'stable while nothing changes');
      const later = new Date(fs.statSync(path.join(root, 'dist/lib/cli.js')).mtimeMs + 5000);
      fs.utimesSync(path.join(root, 'dist/lib/cli.js'), later, later);
      assert.notEqual(runtimeKey(planRuntimeFiles({ root })), before);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('runtime image: owners when the builder is not their owner (a small image)', function () {
  this.timeout(60_000);

  it('restoreOwners gives a file and a symlink (the link itself) their host owners back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-rt-owners-'));
    try {
      const staging = path.join(dir, 'staging');
      fs.mkdirSync(path.join(staging, 'd'), { recursive: true });
      fs.writeFileSync(path.join(staging, 'd', 'a'), 'a');
      fs.symlinkSync('a', path.join(staging, 'd', 'l'));
      const image = path.join(dir, 'small.img');
      const args = ['-q', '-t', 'ext4', '-O', MKE2FS_FEATURES, '-d', staging, image, '8m'];
      const r = spawnSync(mke2fsPath(), args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      // Owners no staged file has (the builder's uid is never 4242).
      const entries: RuntimeEntry[] = [
        { kind: 'dir', path: '/d', mode: 0o755, uid: 4242, gid: 4243 },
        { kind: 'file', path: '/d/a', mode: 0o644, size: 1, mtimeMs: 1, uid: 4242, gid: 4243 },
        { kind: 'symlink', path: '/d/l', target: 'a', uid: 4244, gid: 4245 },
      ];
      assert.equal(restoreOwners(image, staging, entries), 3);
      const listing = debugfs(image, 'ls -l /d');
      assert.match(listing, /\b100644 \(1\)\s+4242\s+4243\b.* a\n/);
      assert.match(listing, /\b120777 \(7\)\s+4244\s+4245\b.* l\n/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
