/**
 * Saved VMs without a VM: the template cache's key and its checks (a stale,
 * corrupt or changed template is found before QEMU is asked to load it),
 * QEMU's command line for a template and a restored copy, the control port's
 * messages over a real unix socket, and the report's VM counts.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { countVms } from '../../lib/cli/matrix';
import type { ReportKernel } from '../../lib/report/schema';
import { vmsLabel } from '../../lib/report/view';
import { findPort } from '../../lib/runner/control';
import { CONTROL_PORT, ControlPort, parseControlLine } from '../../lib/vm/control-port';
import { IMAGE_ROOT_WORD, initScript } from '../../lib/vm/guest-init';
import { qemuArgs, type BootSpec } from '../../lib/vm/qemu';
import type { Kernel } from '../../lib/vm/kernels';
import { Qmp, parseQmpLine, qmpText } from '../../lib/vm/qmp';
import { SavedVms, type SaveOne } from '../../lib/vm/saved-vms';
import { lastCellConsole } from '../../lib/runner/cell-vms';
import type { VmRun } from '../../lib/vm/session';
import {
  META_FILE,
  RAM_FILE,
  STATE_FILE,
  TEMPLATE_VERSION,
  cachedTemplate,
  discardTemplate,
  pruneTemplates,
  templateKey,
  templateLog,
  templateProblem,
  type Template,
  type TemplateInputs,
  type TemplateMeta,
  type TemplateShape,
} from '../../lib/vm/template';
import { sealFile } from '../../lib/util/verified-cache';
import { at } from '../../lib/util/at';

const SHAPE: TemplateShape = { accel: 'tcg', cpus: 2, memoryMb: 4, bootPath: 'vmlinux', cmdline: [] };
const PARTS = {
  kernel: '6.1.0-99-amd64',
  image: '/cache/vmlinux-abc',
  initramfs: '/cache/initramfs-def.cpio',
  runtimeKey: '0123456789abcdef',
  qemu: 'QEMU emulator version 7.2.0',
  shape: SHAPE,
};

/** Writes a good template for `key` into `dir`: a sealed state, a RAM file of the shape's size, meta.json. */
function writeTemplate(dir: string, key: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, STATE_FILE), Buffer.from('QEVM saved device state'));
  sealFile(path.join(dir, STATE_FILE));
  const ram = path.join(dir, RAM_FILE);
  fs.writeFileSync(ram, '');
  fs.truncateSync(ram, SHAPE.memoryMb * 2 ** 20);
  const st = fs.statSync(ram);
  const meta: TemplateMeta = {
    version: TEMPLATE_VERSION,
    key,
    kernel: PARTS.kernel,
    stateBytes: 23,
    ramBytes: st.size,
    ramMtimeMs: st.mtimeMs,
    readyMs: 1,
    savedMs: 2,
    createdAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(dir, META_FILE), JSON.stringify(meta));
}

describe('saved VMs (lib/vm/template)', () => {
  let tmp: string;
  let oldCache: string | undefined;
  let logged: string[];
  const write = templateLog.write;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-template-'));
    oldCache = process.env['MMAPLAB_CACHE'];
    process.env['MMAPLAB_CACHE'] = tmp;
    logged = [];
    templateLog.write = (line) => logged.push(line);
  });
  afterEach(() => {
    templateLog.write = write;
    if (oldCache === undefined) delete process.env['MMAPLAB_CACHE'];
    else process.env['MMAPLAB_CACHE'] = oldCache;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('templateKey changes with every input: kernel, images, runtime, QEMU and each part of the VM shape', () => {
    const base = templateKey(PARTS);
    assert.equal(templateKey({ ...PARTS }), base);
    const changed = [
      { ...PARTS, kernel: '6.1.0-98-amd64' },
      { ...PARTS, image: '/cache/vmlinux-abd' },
      { ...PARTS, initramfs: '/cache/initramfs-deg.cpio' },
      { ...PARTS, runtimeKey: '0123456789abcdee' },
      { ...PARTS, qemu: 'QEMU emulator version 8.2.0' },
      { ...PARTS, shape: { ...SHAPE, accel: 'kvm' as const } },
      { ...PARTS, shape: { ...SHAPE, cpus: 1 } },
      { ...PARTS, shape: { ...SHAPE, memoryMb: 8 } },
      { ...PARTS, shape: { ...SHAPE, cmdline: ['page_poison=1'] } },
    ];
    for (const c of changed) assert.notEqual(templateKey(c), base, JSON.stringify(c));
  });

  it('templateProblem accepts a good template and names what is wrong with a bad one', () => {
    const dir = path.join(tmp, 'good');
    writeTemplate(dir, 'k1');
    assert.equal(templateProblem(dir, 'k1', SHAPE.memoryMb), null);
    assert.equal(templateProblem(path.join(tmp, 'none'), 'k1', SHAPE.memoryMb), 'missing');
    assert.match(templateProblem(dir, 'k2', SHAPE.memoryMb) ?? '', /other inputs/);
    assert.match(templateProblem(dir, 'k1', 8) ?? '', /RAM file size/);
  });

  it('templateProblem finds a flipped byte in the saved state, a missing checksum and an unreadable meta.json', () => {
    const dir = path.join(tmp, 't');
    writeTemplate(dir, 'k1');
    const state = path.join(dir, STATE_FILE);
    const b = fs.readFileSync(state);
    b[3] = at(b, 3, 'a byte of the saved state') ^ 0xff;
    fs.writeFileSync(state, b);
    assert.match(templateProblem(dir, 'k1', SHAPE.memoryMb) ?? '', /saved state: sha256 mismatch/);
    fs.rmSync(`${state}.sha256`);
    assert.match(templateProblem(dir, 'k1', SHAPE.memoryMb) ?? '', /saved state: no checksum file/);
    fs.writeFileSync(path.join(dir, META_FILE), '{');
    assert.equal(templateProblem(dir, 'k1', SHAPE.memoryMb), 'unreadable meta.json (not JSON)');
    fs.writeFileSync(path.join(dir, META_FILE), JSON.stringify({ version: 1, key: 'k1', kernel: 'k' }));
    assert.equal(templateProblem(dir, 'k1', SHAPE.memoryMb), 'unreadable meta.json (stateBytes: expected number, got nothing)');
  });

  it('templateProblem finds a RAM file that changed after the save (its mtime) or is gone', () => {
    const dir = path.join(tmp, 't');
    writeTemplate(dir, 'k1');
    const ram = path.join(dir, RAM_FILE);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(ram, later, later);
    assert.match(templateProblem(dir, 'k1', SHAPE.memoryMb) ?? '', /changed since it was saved/);
    fs.rmSync(ram);
    assert.equal(templateProblem(dir, 'k1', SHAPE.memoryMb), 'RAM file missing');
  });

  it('cachedTemplate returns a good template, and discards an unusable one with one line saying why', () => {
    const inputs: TemplateInputs = {
      image: { path: '/cache/vmlinux', kind: 'vmlinux' },
      cmdline: [],
      initramfs: '/cache/initramfs.cpio',
      runtimeImage: '/cache/rt.img',
      key: 'k1',
    };
    const dir = path.join(tmp, 'templates', 'k1');
    assert.equal(cachedTemplate(inputs, SHAPE, PARTS.kernel), null);
    assert.deepEqual(logged, [], 'a plain miss is silent');
    writeTemplate(dir, 'k1');
    const t = cachedTemplate(inputs, SHAPE, PARTS.kernel);
    assert.ok(t);
    assert.equal(t.state, path.join(dir, STATE_FILE));
    assert.equal(t.built, false);
    fs.appendFileSync(path.join(dir, STATE_FILE), 'x');
    assert.equal(cachedTemplate(inputs, SHAPE, PARTS.kernel), null);
    assert.equal(logged.length, 1);
    assert.match(at(logged, 0, 'the logged line'), /saved VM for 6\.1\.0-99-amd64 is unusable \(saved state: size .*\); saving it again/);
    assert.equal(fs.existsSync(dir), false, 'the bad template is gone');
  });

  it('pruneTemplates keeps the most recently used ones and a live save, and removes a dead save', () => {
    const dir = path.join(tmp, 'templates');
    for (let i = 0; i < 5; i++) {
      writeTemplate(path.join(dir, `k${i}`), `k${i}`);
      const used = new Date(Date.now() - (10 - i) * 60_000); // k4 used last
      fs.utimesSync(path.join(dir, `k${i}`, META_FILE), used, used);
    }
    // Used just now: counts as the newest although it was made first.
    cachedTemplate(
      { image: { path: '/v', kind: 'vmlinux' }, cmdline: [], initramfs: '/i', runtimeImage: '/r', key: 'k0' },
      SHAPE,
      PARTS.kernel,
    );
    fs.mkdirSync(path.join(dir, `k9.tmp-${process.pid}-1`));
    fs.mkdirSync(path.join(dir, 'k8.tmp-999999999-1')); // no such process
    pruneTemplates(2, dir);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['k0', 'k4', `k9.tmp-${process.pid}-1`]);
  });

  it('discardTemplate with a save time removes only that save, not a newer one in its place', () => {
    const dir = path.join(tmp, 'templates', 'k1');
    writeTemplate(dir, 'k1');
    const meta = JSON.parse(fs.readFileSync(path.join(dir, META_FILE), 'utf8')) as TemplateMeta;
    discardTemplate(dir, '2026-01-01T00:00:00.000Z');
    assert.ok(fs.existsSync(dir), 'a newer save stays');
    discardTemplate(dir, meta.createdAt);
    assert.equal(fs.existsSync(dir), false);
  });

  it('SavedVms saves again once when a save fails (a guest that died booting), then falls back with the last reason', async () => {
    const kernel = { release: PARTS.kernel } as Kernel;
    const inputs: TemplateInputs = { image: { path: '/v', kind: 'vmlinux' }, cmdline: [], initramfs: '/i', runtimeImage: '/r', key: 'k2' };
    const died = (n: number): Awaited<ReturnType<SaveOne>> => ({
      outcome: {
        end: 'panic',
        qemuStatus: 0,
        durationMs: 2000,
        marks: {},
        consoleFile: '',
        consoleTail: ['Oops: int3: 0000 [#1] PREEMPT SMP NOPTI', `Kernel panic - not syncing: Fatal exception ${n}`],
        stderr: '',
      },
      template: null,
    });
    const template = { dir: 'fake' } as unknown as Template;
    let calls = 0;
    const flaky = new SavedVms(
      () => inputs,
      async () => (++calls === 1 ? died(1) : { outcome: died(2).outcome, template }),
    );
    const got = await flaky.templateFor(kernel, SHAPE, () => path.join(tmp, `run${calls}`));
    assert.deepEqual(got, { template });
    assert.equal(calls, 2);
    assert.match(logged.join('\n'), /saving a VM failed: Kernel panic - not syncing: Fatal exception 1 .*; saving it again/);
    calls = 0;
    const dead = new SavedVms(
      () => inputs,
      async () => died(++calls),
    );
    const why = await dead.templateFor(kernel, SHAPE, () => path.join(tmp, `run${calls}`));
    assert.equal(calls, 2, 'one save again, not more');
    assert.ok('fallback' in why);
    assert.match(why.fallback, /^saving a VM failed: Kernel panic - not syncing: Fatal exception 2/);
    assert.match(at(logged, logged.length - 1, 'the last logged line'), /^cells boot cold: saving a VM failed: .*exception 2/);
  });

  it('SavedVms saves from the bzImage, without counting a failed save, when the PVH entry resets the guest', async () => {
    const image = path.join(tmp, 'vmlinuz-9.9.9-nopvh');
    fs.writeFileSync(image, 'a bzImage');
    const kernel = { release: '9.9.9-nopvh', image } as Kernel;
    const asked: Array<TemplateInputs['image']['kind']> = [];
    let inputsCalls = 0;
    const inputsOf = (): TemplateInputs => ({
      image: ++inputsCalls === 1 ? { path: '/v', kind: 'vmlinux' } : { path: image, kind: 'bzimage' },
      cmdline: [],
      initramfs: '/i',
      runtimeImage: '/r',
      key: `k${inputsCalls}`,
    });
    const template = { dir: 'fake' } as unknown as Template;
    const reset: Awaited<ReturnType<SaveOne>>['outcome'] = {
      end: 'exited',
      qemuStatus: 0,
      durationMs: 266,
      marks: {},
      consoleFile: '',
      consoleTail: ['\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)', 'Booting from ROM..'],
      stderr: '',
    };
    const saved = new SavedVms(inputsOf, async (_k, _s, inputs) => {
      asked.push(inputs.image.kind);
      return inputs.image.kind === 'vmlinux' ? { outcome: reset, template: null } : { outcome: reset, template };
    });
    const got = await saved.templateFor(kernel, SHAPE, () => path.join(tmp, 'run'));
    assert.deepEqual(got, { template });
    assert.deepEqual(asked, ['vmlinux', 'bzimage']);
    const markers = fs.readdirSync(path.join(tmp, 'kernels', kernel.release)).filter((f) => f.startsWith('no-pvh-'));
    assert.equal(markers.length, 1, 'the kernel is marked as not booting at its PVH entry');
    assert.match(logged.join('\n'), /9\.9\.9-nopvh: the guest reset before the kernel printed anything .*; saving it from its bzImage/);
  });

  it('SavedVms falls back to cold boots, with the reason, when finding or saving a template throws', async () => {
    const kernel = { release: PARTS.kernel } as Kernel;
    const inputs: TemplateInputs = {
      image: { path: '/v', kind: 'vmlinux' },
      cmdline: [],
      initramfs: '/i',
      runtimeImage: '/r',
      key: 'k1',
    };
    // The cache is a file, not a directory: making the save's directory fails with ENOTDIR.
    const file = path.join(tmp, 'not-a-dir');
    fs.writeFileSync(file, '');
    process.env['MMAPLAB_CACHE'] = file;
    const saved = new SavedVms(() => inputs);
    const got = await saved.templateFor(kernel, SHAPE, () => path.join(tmp, 'run'));
    assert.ok('fallback' in got);
    assert.match(got.fallback, /ENOTDIR/);
    assert.match(at(logged, logged.length - 1, 'the last logged line'), /^cells boot cold: saved VMs failed: ENOTDIR/);
    const lines = logged.length;
    const again = await saved.templateFor(kernel, SHAPE, () => path.join(tmp, 'run'));
    assert.deepEqual(again, got, 'given up once, for the rest of the run');
    assert.equal(logged.length, lines, 'and said once');
    const broken = new SavedVms(() => {
      throw new Error('no ext4 module');
    });
    const why = await broken.templateFor(kernel, SHAPE, () => tmp);
    assert.deepEqual(why, { fallback: 'no ext4 module' });
  });
});

describe('the console of the cell a VM died in', () => {
  it('lastCellConsole takes the whole log after the last done mark, or the tail without a log', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-console-'));
    try {
      const consoleFile = path.join(dir, 'console.log');
      const oops = Array.from({ length: 80 }, (_, i) => `[ 9.${i}] line ${i}`);
      fs.writeFileSync(
        consoleFile,
        ['MMAPLAB-AGENT-READY 5.0', 'MMAPLAB-CELL-DONE a ok', 'BUG: Bad page state in process node', ...oops].join('\r\n'),
      );
      const boot = { end: 'timeout' as const, qemuStatus: null, durationMs: 1, marks: {}, consoleFile, consoleTail: ['tail'], stderr: '' };
      const lines = lastCellConsole({ boot });
      assert.equal(lines[0], 'BUG: Bad page state in process node', 'more than 60 lines back, still there');
      assert.equal(lines.length, 81);
      assert.deepEqual(lastCellConsole({ boot: { ...boot, consoleFile: path.join(dir, 'none') } }), ['tail']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('QMP client', () => {
  it('Qmp.connect fails, instead of waiting for ever, when the monitor closes before its greeting', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-qmp-'));
    const sock = path.join(dir, 'qmp');
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    let alive = true;
    setTimeout(() => (alive = false), 300);
    try {
      const err = await Qmp.connect(sock, 5000, () => alive).catch((e: Error) => e);
      assert.ok(err instanceof Error);
      assert.match(err.message, /QEMU exited before its monitor answered/);
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('QEMU command line of a template and a restored copy', () => {
  const spec: BootSpec = {
    image: { path: '/k/vmlinux', kind: 'vmlinux' },
    initramfs: '/k/initramfs.cpio',
    runDir: '/runs/r1',
    accel: 'tcg',
    cpus: 2,
    memoryMb: 1024,
    timeoutMs: 1000,
    cmdline: ['page_poison=1'],
  };
  const snapshot = {
    runtimeImage: '/c/rt.img',
    ramFile: '/c/t/ram',
    share: true,
    controlSocket: '/tmp/s/ctl',
    qmpSocket: '/tmp/s/qmp',
    incoming: false,
  };
  const value = (args: string[], flag: string): string[] =>
    args.flatMap((a, i) => {
      const next = args[i + 1];
      return a === flag && next !== undefined ? [next] : [];
    });

  it('a cold boot shares the host root and the run directory over 9p, with RAM of its own', () => {
    const args = qemuArgs(spec);
    assert.deepEqual(value(args, '-M'), ['q35,smm=off']);
    assert.deepEqual(value(args, '-object'), [`memory-backend-file,id=devbar,size=${2 << 20},mem-path=/runs/r1/device-bar.mem,share=on`]);
    assert.ok(value(args, '-fsdev').some((f) => f.includes('id=hostroot')));
    assert.ok(value(args, '-fsdev').some((f) => f.includes('id=rundir,path=/runs/r1')));
    assert.ok(!args.includes('-incoming'));
    assert.ok(!at(value(args, '-append'), 0, 'the -append value').includes(IMAGE_ROOT_WORD));
  });

  it('a template has RAM in a shared file, the runtime image read-only, the control port and QMP, and no host root', () => {
    const args = qemuArgs({ ...spec, snapshot });
    assert.deepEqual(value(args, '-M'), ['q35,smm=off,memory-backend=ram0']);
    assert.deepEqual(value(args, '-object'), ['memory-backend-file,id=ram0,size=1024M,mem-path=/c/t/ram,share=on']);
    assert.equal(value(args, '-drive')[0], 'file=/c/rt.img,format=raw,if=none,id=rt,readonly=on');
    assert.deepEqual(value(args, '-chardev'), ['socket,id=ctl,path=/tmp/s/ctl']);
    assert.ok(value(args, '-device').includes(`virtserialport,bus=vser.0,nr=1,chardev=ctl,name=${CONTROL_PORT}`));
    assert.deepEqual(value(args, '-qmp'), ['unix:/tmp/s/qmp,server=on,wait=off']);
    assert.ok(!value(args, '-fsdev').some((f) => f.includes('hostroot')), 'a mounted 9p export would block the save');
    assert.ok(
      value(args, '-fsdev').some((f) => f.includes('id=rundir')),
      'the device stays: a copy mounts its own',
    );
    assert.match(at(value(args, '-append'), 0, 'the -append value'), new RegExp(`page_poison=1 ${IMAGE_ROOT_WORD.replace('.', '\\.')}$`));
    assert.ok(!args.includes('-incoming'));
  });

  it('a restored copy differs from its template only in RAM sharing, sockets, run directory and -incoming defer', () => {
    const template = qemuArgs({ ...spec, snapshot });
    const copy = qemuArgs({
      ...spec,
      runDir: '/runs/r2',
      snapshot: { ...snapshot, share: false, controlSocket: '/tmp/t/ctl', qmpSocket: '/tmp/t/qmp', incoming: true },
    });
    assert.deepEqual(copy.slice(-2), ['-incoming', 'defer']);
    // what the template has, in the same order; then the device BAR, which only copies have
    assert.deepEqual(copy.slice(template.length, -2), [
      '-object',
      `memory-backend-file,id=devbar,size=${2 << 20},mem-path=/runs/r2/device-bar.mem,share=on`,
      '-device',
      'ivshmem-plain,memdev=devbar',
      '-device',
      'edu,dma_mask=0xffffffff',
    ]);
    const differ = copy.slice(0, template.length).filter((a, i) => a !== template[i]);
    assert.deepEqual(differ, [
      'memory-backend-file,id=ram0,size=1024M,mem-path=/c/t/ram,share=off',
      'socket,id=ctl,path=/tmp/t/ctl',
      'unix:/tmp/t/qmp,server=on,wait=off',
      'file=/runs/r2/scratch.img,format=raw,if=none,id=scratch,cache=unsafe',
      'local,id=rundir,path=/runs/r2,security_model=none',
    ]);
  });

  it('a cold boot and a restored copy have the ivshmem-plain device, its BAR a shared file in the run directory; a template has not', () => {
    const copy = qemuArgs({ ...spec, snapshot: { ...snapshot, share: false, incoming: true } });
    for (const args of [qemuArgs(spec), copy]) {
      assert.ok(value(args, '-device').includes('ivshmem-plain,memdev=devbar'));
      assert.ok(value(args, '-object').includes(`memory-backend-file,id=devbar,size=${2 << 20},mem-path=/runs/r1/device-bar.mem,share=on`));
    }
    assert.ok(!value(qemuArgs({ ...spec, snapshot }), '-device').some((d) => d.startsWith('ivshmem')));
  });

  it("a cold boot and a restored copy have the edu device (the dma_device allocator's), reaching 32 bits; a template has not", () => {
    for (const args of [qemuArgs(spec), qemuArgs({ ...spec, snapshot: { ...snapshot, incoming: true } })]) {
      assert.equal(value(args, '-device').filter((d) => d === 'edu,dma_mask=0xffffffff').length, 1);
    }
    assert.ok(!value(qemuArgs({ ...spec, snapshot }), '-device').some((d) => d.startsWith('edu')));
  });

  it('every VM has a scratch disk of its own in its run directory, after the runtime image', () => {
    const cold = qemuArgs(spec);
    assert.deepEqual(value(cold, '-drive'), ['file=/runs/r1/scratch.img,format=raw,if=none,id=scratch,cache=unsafe']);
    assert.ok(value(cold, '-device').includes('virtio-blk-pci,drive=scratch,serial=mmaplab-scratch'));
    const template = qemuArgs({ ...spec, snapshot });
    assert.deepEqual(value(template, '-drive'), [
      'file=/c/rt.img,format=raw,if=none,id=rt,readonly=on',
      'file=/runs/r1/scratch.img,format=raw,if=none,id=scratch,cache=unsafe',
    ]);
  });
});

describe('guest init with an image root', () => {
  it('chooses the root by the command line, mounts /dev/vda read-only and runs the template agent; no run directory mount', () => {
    const init = initScript(4096, '/usr/bin/node /repo/dist/lib/runner/agent.js --template');
    assert.match(init, new RegExp(`grep -qw ${IMAGE_ROOT_WORD.replace('.', '\\.')} /proc/cmdline && ROOT=image`));
    assert.match(init, /mount -t ext4 -o ro \/dev\/vda \/host/);
    assert.match(init, /chroot \/newroot \/usr\/bin\/node \/repo\/dist\/lib\/runner\/agent\.js --template/);
    assert.match(init, /\[ \$ROOT = image \] \|\| \$B mount -t 9p .*mmaplabrun/s);
  });

  it('without a template agent (a module is missing), an image root fails loudly', () => {
    assert.match(initScript(4096, null), /fail "this initramfs has no image root/);
  });
});

describe('control port and QMP messages', () => {
  it('parseControlLine reads a message, ignores what is not JSON, and refuses JSON that is no message, naming the place', () => {
    assert.deepEqual(parseControlLine('{"type":"resumed","uptime":7.5}'), { type: 'resumed', uptime: 7.5 });
    assert.equal(parseControlLine('MMAPLAB-TEMPLATE-READY 7.38'), null);
    const refused = (line: string, says: string): void =>
      assert.throws(() => parseControlLine(line), { code: 'ERESTORE', message: `a control port message: ${says}` });
    refused('{"uptime":1}', 'type: expected one of "template-ready", "resume", "resumed", got nothing');
    refused('null', 'expected object, got null');
    refused('{"type":"resume","epochMs":"now","msize":4096}', 'epochMs: expected number, got string "now"');
  });

  it('ControlPort takes messages from the connected side and sends to it, over a real unix socket', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-ctl-'));
    const port = await ControlPort.listen(path.join(dir, 'ctl'));
    const peer = net.connect(port.socket);
    let got = '';
    peer.setEncoding('utf8');
    peer.on('data', (d: string) => (got += d));
    try {
      peer.write('noise\n{"type":"template-ready","uptime":3.25}\n');
      const ready = await port.expect('template-ready', 5000, () => true);
      assert.equal(ready.uptime, 3.25);
      await port.send({ type: 'resume', epochMs: 1, msize: 4096 }, 5000, () => true);
      for (let i = 0; i < 200 && !got.includes('\n'); i++) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(JSON.parse(got), { type: 'resume', epochMs: 1, msize: 4096 });
      const err = await port.expect('resumed', 5000, () => false).catch((e: Error) => e);
      assert.ok(err instanceof Error, 'expected a rejection');
      assert.match(String(err), /ended before its agent said resumed/);
      peer.write('{"type":"resumed","uptime":"late"}\n');
      const bad = await port.expect('resumed', 5000, () => true).catch((e: Error) => e);
      assert.deepEqual(
        [(bad as Error & { code?: string }).code, (bad as Error).message],
        ['ERESTORE', 'a control port message: uptime: expected number, got string "late"'],
      );
    } finally {
      peer.destroy();
      port.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('findPort finds the port by its name in a sysfs-like directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-ports-'));
    try {
      for (const [p, name] of [
        ['vport1p1', 'other'],
        ['vport2p1', CONTROL_PORT],
      ]) {
        fs.mkdirSync(path.join(dir, p as string));
        fs.writeFileSync(path.join(dir, p as string, 'name'), `${name}\n`);
      }
      assert.equal(findPort(CONTROL_PORT, dir), '/dev/vport2p1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parseQmpLine tells a greeting, an event, a return and an error apart', () => {
    assert.equal(parseQmpLine('{"QMP":{"version":{}}}')?.kind, 'greeting');
    assert.equal(parseQmpLine('{"event":"STOP","timestamp":{}}')?.kind, 'event');
    assert.deepEqual(parseQmpLine('{"return":{"status":"paused"}}'), { kind: 'return', body: { status: 'paused' } });
    assert.deepEqual(parseQmpLine('{"return":{}}')?.body, {});
    assert.deepEqual(parseQmpLine('{"return":[]}'), { kind: 'return', body: {} });
    assert.deepEqual(parseQmpLine('{"error":{"class":"GenericError","desc":"no"}}'), {
      kind: 'error',
      body: { class: 'GenericError', desc: 'no' },
    });
  });

  it('qmpText gives a reply member as text: a string as it is, the fallback for nothing, anything else as JSON', () => {
    assert.equal(qmpText('completed', 'none'), 'completed');
    assert.equal(qmpText(undefined, 'none'), 'none');
    assert.equal(qmpText(null, 'failed'), 'failed');
    assert.equal(qmpText(7, 'none'), '7');
    assert.equal(qmpText({ desc: 'x' }, 'none'), '{"desc":"x"}');
  });

  it('parseQmpLine leaves out what is not JSON, and refuses JSON that is not QMP, naming the place', () => {
    assert.equal(parseQmpLine('qemu-system-x86_64: warning'), null);
    const refused = (line: string, says: string): void =>
      assert.throws(() => parseQmpLine(line), { code: 'ERESTORE', message: `a QMP message: ${says}` });
    refused('{"error":{"class":"GenericError"}}', 'error.desc: expected string, got nothing');
    refused('{"event":7}', 'event: expected string, got number 7');
    refused('{"status":"running"}', 'expected a QMP greeting, event, error or return, got object');
  });
});

describe('VM counts in the report', () => {
  const run = (start: VmRun['start']): VmRun => ({
    runDir: '/r',
    boot: { end: 'exited', qemuStatus: 0, durationMs: 1, marks: {}, consoleFile: '', consoleTail: [], stderr: '' },
    events: [],
    agentStatus: 0,
    start,
  });

  it('countVms adds VMs, restored ones, and each reason for a cold fallback once', () => {
    const k: ReportKernel = { release: 'r', series: '6.1', accel: 'tcg', boots: 0 };
    countVms(k, [run({ kind: 'restored', template: 't', loadedMs: 1, resumedMs: 2 }), run({ kind: 'cold' })]);
    assert.deepEqual([k.boots, k.restored, k.coldFallbacks], [2, 1, undefined]);
    countVms(k, [run({ kind: 'cold', fallback: 'no ext4' }), run({ kind: 'cold', fallback: 'no ext4' })]);
    assert.deepEqual(k.coldFallbacks, ['no ext4']);
    assert.equal(k.boots, 4);
    assert.equal(vmsLabel(k), '4 VMs (1 restored, cold because no ext4)');
  });

  it('vmsLabel says only the count when nothing was restored', () => {
    const k: ReportKernel = { release: 'r', series: '6.1', accel: 'tcg', boots: 1 };
    countVms(k, [run({ kind: 'cold' })]);
    assert.equal(vmsLabel(k), '2 VMs');
    assert.equal(vmsLabel({ ...k, boots: 1 }), '1 VM');
  });
});
