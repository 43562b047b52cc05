/**
 * `mmaplab check` (its library function) on the shipped examples, on both
 * default kernels, in QEMU: the correct driver gives no finding; the one
 * that frees pages still marked reserved gives exactly one, at unload, a
 * "Bad page state" because of PAGE_FLAGS_CHECK_AT_FREE, explained by the
 * reserved-page rule; the LDD3-style one (no node, a buffer allocated by
 * an ioctl) checked through a node made from /proc/devices and a setup
 * file, with no finding. A driver that oopses in one scenario (a test
 * fixture) costs that scenario one VM, reported as vm-died, and the rest
 * run in a fresh one (here twice: the mmap-argument fuzz meets the bug too).
 * A use that kills the process running the uses (another fixture) is that
 * use's signal, and the next uses run in a new process of the same VM. Then bad input: a module that does not build (the
 * compiler's words and the kernel), and a device node that never appears
 * (the nodes that did). Each VM is restored from the kernel's template
 * (DEFAULT_VM restores), as the matrix's are.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { explain } from '../../lib/check/explain';
import { checkKernel, checkKernelNodes } from '../../lib/check/run';
import { readHook } from '../../lib/check/hook';
import { readSetup } from '../../lib/check/setup';
import { checkItems, type CheckResult, isFinding } from '../../lib/check/types';
import { REPO_ROOT } from '../../lib/paths';
import { MmaplabError } from '../../lib/util/errors';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { ensureUserModule } from '../../lib/vm/kmod';
import { DEFAULT_VM } from '../../lib/vm/session';
import { installedKernel } from '../installed-kernel';

const EXAMPLES = path.join(REPO_ROOT, 'examples');
const SIZE = 16 * 1024;

/** A test driver of test/fixtures/kmod. */
const fixture = (name: string): string => path.join(REPO_ROOT, 'test', 'fixtures', 'kmod', name);

/** One line per result, for assertion messages. */
const tableOf = (results: readonly CheckResult[]): string => results.map((r) => `${r.scenario}: ${r.verdict} (${r.detail})`).join('\n');

for (const { series } of REQUIRED_SERIES) {
  const installed = installedKernel(series);
  describe(`mmaplab check on ${installed.title}, the default ${series} kernel (QEMU)`, function () {
    this.timeout(10 * 60_000);

    it('examples/good-vmalloc (vmalloc_user + remap_vmalloc_range): every scenario and use ran, no finding, the kernel silent', async () => {
      const c = await checkKernel(installed.get(), DEFAULT_VM, {
        module: { kmod: path.join(EXAMPLES, 'good-vmalloc') },
        params: {},
        device: '/dev/mmap_good',
        size: SIZE,
      });
      const table = tableOf(c.results);
      assert.deepEqual(
        c.results.map((r) => r.scenario),
        checkItems(true),
        table,
      );
      assert.equal(c.vms.length, 1, table);
      // the kernel and other processes reach pages with a struct page: the GUP users work
      for (const use of ['use:process-vm-read', 'use:vmsplice', 'use:odirect-read'] as const) {
        assert.equal(c.results.find((r) => r.scenario === use)?.verdict, 'ok', `${use}\n${table}`);
      }
      // but 6.1's io_uring refuses a fixed buffer in any file mapping but shmem's (the matrix's rule use-io-uring-fixed-refuses-file-6.1)
      const fixed = c.results.find((r) => r.scenario === 'use:io-uring-fixed');
      if (series === '6.1') assert.match(fixed?.detail ?? '', /^EOPNOTSUPP/, table);
      else assert.equal(fixed?.verdict, 'ok', table);
      assert.deepEqual(c.results.filter(isFinding), [], table);
      assert.ok(
        c.results.every((r) => (r.verdict !== 'not-run' || r.scenario === 'read-write') && r.findings.length === 0),
        table,
      );
      // what a driver that maps everything at mmap time does after MADV_DONTNEED
      assert.equal(c.results.find((r) => r.scenario === 'dontneed-retouch')?.verdict, 'signal', table);
      assert.equal(c.results.find((r) => r.scenario === 'past-end')?.verdict, 'refused', table);
      // it has neither read(2) nor write(2): detected, not a finding
      const rw = c.results.find((r) => r.scenario === 'read-write');
      assert.deepEqual(
        [rw?.verdict, rw?.detail],
        ['not-run', 'the driver has neither read(2) nor write(2): no read(2) (EINVAL), no write(2) (EINVAL)'],
        table,
      );
      assert.deepEqual(c.buildWarnings, []);
    });

    it('examples/ldd-chrdev (register_chrdev, no node; the buffer allocated by an ioctl): the node made from /proc/devices, the setup ioctl run before mapping, no finding', async () => {
      const dir = path.join(EXAMPLES, 'ldd-chrdev');
      const c = await checkKernel(installed.get(), DEFAULT_VM, {
        module: { kmod: dir },
        params: {},
        device: '/dev/mmap_ldd',
        size: SIZE,
        setup: readSetup(path.join(dir, 'setup.json')),
        uses: false,
      });
      const table = tableOf(c.results);
      assert.ok(
        c.notes.some((n) => /^\/dev\/mmap_ldd made from \/proc\/devices: mmap_ldd, major \d+, minor 0$/.test(n)),
        c.notes.join('\n'),
      );
      assert.deepEqual(c.results.filter(isFinding), [], table);
      assert.equal(c.results.find((r) => r.scenario === 'map-write-read')?.verdict, 'ok', table);
      // it has read(2) and write(2), through the same buffer
      const rw = c.results.find((r) => r.scenario === 'read-write');
      assert.deepEqual(
        [rw?.verdict, rw?.detail],
        ['ok', "read(2) gave the mapping's first 16384 bytes; the mapping showed the 16384 bytes write(2) put there"],
        table,
      );
    });

    it(`examples/bad-reserved (SetPageReserved, never cleared): one finding, at unload, Bad page state for PG_reserved, explained${series === '6.1' ? '; the uses that pin pages refused (EFAULT)' : ''}`, async () => {
      const c = await checkKernel(installed.get(), DEFAULT_VM, {
        module: { kmod: path.join(EXAMPLES, 'bad-reserved') },
        params: {},
        device: '/dev/mmap_reserved',
        size: SIZE,
        // the uses on one kernel: good-vmalloc runs them on both
        uses: series === '6.1',
      });
      const table = tableOf(c.results);
      // remap_pfn_range makes a pfn mapping: nothing can pin its pages
      if (series === '6.1') {
        for (const use of ['use:process-vm-read', 'use:vmsplice', 'use:odirect-read', 'use:io-uring-fixed'] as const) {
          assert.match(c.results.find((r) => r.scenario === use)?.detail ?? '', /^EFAULT/, `${use}\n${table}`);
        }
      }
      const findings = c.results.filter(isFinding);
      assert.deepEqual(
        findings.map((r) => [r.scenario, r.verdict]),
        [['unload', 'kernel-complaint']],
        table,
      );
      const unload = findings[0];
      assert.ok(
        unload?.findings.some((f) => f.kind === 'bad-page-state' && /PAGE_FLAGS_CHECK_AT_FREE/.test(f.reason ?? '')),
        table,
      );
      assert.ok(
        unload?.kmsg.some((l) => /flags: .*reserved/.test(l)),
        'the page dump names the reserved flag',
      );
      assert.match(explain(unload as NonNullable<typeof unload>)?.instead ?? '', /ClearPageReserved/);
      assert.deepEqual(c.buildWarnings, []);
    });
  });
}

describe('mmaplab check: a driver that oopses', function () {
  this.timeout(5 * 60_000);
  const installed = installedKernel('6.12');

  it('test/fixtures/kmod/check-oops (NULL dereference in ->mmap of a private mapping): private and mmap-args are vm-died with the oops, the rest ran in further VMs', async () => {
    const c = await checkKernel(installed.get(), DEFAULT_VM, {
      module: { kmod: fixture('check-oops') },
      params: {},
      device: '/dev/mmap_oops',
      size: SIZE,
      uses: false,
    });
    const table = tableOf(c.results);
    assert.deepEqual(
      c.results.map((r) => r.scenario),
      checkItems(false),
      table,
    );
    // the fuzz of mmap arguments makes private mappings too, so it meets the same bug
    assert.deepEqual(
      c.results.filter(isFinding).map((r) => [r.scenario, r.verdict]),
      [
        ['private', 'vm-died'],
        ['mmap-args', 'vm-died'],
      ],
      table,
    );
    for (const died of c.results.filter(isFinding)) {
      assert.ok(
        died.findings.some((f) => ['null-deref', 'oops', 'page-fault-oops'].includes(f.kind)),
        table,
      );
    }
    assert.equal(c.vms.length, 3, 'a VM up to each oops, one for the rest');
    assert.deepEqual(
      c.vms.map((v) => v.start),
      ['restored', 'restored', 'restored'],
      "each VM restored from the kernel's template",
    );
    assert.ok(
      c.results.every((r) => r.verdict !== 'not-run' || r.scenario === 'read-write'),
      table,
    );
  });
});

describe('mmaplab check: a driver that leaks', function () {
  this.timeout(5 * 60_000);
  const installed = installedKernel('6.1');

  it('test/fixtures/kmod/check-leak (8 KiB of per-open state never freed): map-unmap-leak is a leak in two windows, explained, and the only finding', async () => {
    const c = await checkKernel(installed.get(), DEFAULT_VM, {
      module: { kmod: fixture('check-leak') },
      params: {},
      device: '/dev/mmap_leak',
      size: SIZE,
      uses: false,
    });
    const table = tableOf(c.results);
    assert.deepEqual(
      c.results.filter(isFinding).map((r) => [r.scenario, r.verdict]),
      [['map-unmap-leak', 'leak']],
      table,
    );
    const leak = c.results.find((r) => r.scenario === 'map-unmap-leak');
    // 600 cycles x 8 KiB: about 4800 kB a window, against a 2072 kB bound
    assert.match(leak?.detail ?? '', /in each of two windows \(bound 2072 kB/, table);
    assert.match(explain(leak as NonNullable<typeof leak>)?.instead ?? '', /free in release what open allocated/);
  });
});

describe('mmaplab check: a use that kills the process running the uses', function () {
  this.timeout(5 * 60_000);
  const installed = installedKernel('6.12');

  it("test/fixtures/kmod/check-sigbus (SIGBUS in a mapping advised MADV_HUGEPAGE): thp-madvise is the signal that killed the uses' process, the uses after it run in a new one, the THP switch it left is put back, no finding", async () => {
    const c = await checkKernel(installed.get(), DEFAULT_VM, {
      module: { kmod: fixture('check-sigbus') },
      params: {},
      device: '/dev/mmap_sigbus',
      size: SIZE,
    });
    const table = tableOf(c.results);
    assert.deepEqual(
      c.results.map((r) => r.scenario),
      checkItems(true),
      table,
    );
    const died = c.results.find((x) => x.scenario === 'use:thp-madvise');
    assert.equal(died?.verdict, 'signal', table);
    // the use had set the switch to madvise; it goes back to always, Debian's default (CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS)
    assert.equal(died?.detail, 'the process running the use died of SIGBUS (the THP switch put back from madvise to always)', table);
    // thp-never ran after it in a new process, with the switch at "never" and put back: no finding, and the mapping read
    assert.match(c.results.find((r) => r.scenario === 'use:thp-never')?.detail ?? '', /^pte-mapped/, table);
    assert.equal(c.results.find((r) => r.scenario === 'use:smaps')?.verdict, 'ok', table);
    assert.deepEqual(c.results.filter(isFinding), [], table);
    assert.equal(c.vms.length, 1, 'a use that kills its process costs a process, not a VM');
  });
});

describe('mmaplab check: finding the node, and the poison profile', function () {
  this.timeout(5 * 60_000);
  const installed = installedKernel('6.12');

  it('examples/ldd-chrdev with its setup as a JavaScript hook (setup.js): the hook allocates the buffer on every descriptor, no finding', async () => {
    const dir = path.join(EXAMPLES, 'ldd-chrdev');
    const c = await checkKernel(installed.get(), DEFAULT_VM, {
      module: { kmod: dir },
      params: {},
      device: '/dev/mmap_ldd',
      size: SIZE,
      hook: readHook(path.join(dir, 'setup.js')),
      uses: false,
    });
    const table = tableOf(c.results);
    assert.deepEqual(c.results.filter(isFinding), [], table);
    assert.equal(c.results.find((r) => r.scenario === 'map-write-read')?.verdict, 'ok', table);
  });

  it('a --device pattern that matches one node checks it, and says which', async () => {
    const c = await checkKernel(installed.get(), DEFAULT_VM, {
      module: { kmod: path.join(EXAMPLES, 'good-vmalloc') },
      params: {},
      device: '/dev/mmap_go*',
      size: SIZE,
      uses: false,
    });
    assert.deepEqual(c.notes, ['/dev/mmap_go* matched /dev/mmap_good: checking /dev/mmap_good']);
    assert.deepEqual(c.results.filter(isFinding), []);
  });

  it("a pattern that matches several nodes checks each, in a VM of its own: test/fixtures/kmod/check-multi's second node ignores vm_pgoff, its first does not", async () => {
    const checks = await checkKernelNodes(installed.get(), DEFAULT_VM, {
      module: { kmod: fixture('check-multi') },
      params: {},
      device: '/dev/mmap_multi*',
      size: SIZE,
      uses: false,
    });
    const table = checks.map((c) => `${c.device}:\n${tableOf(c.results)}`).join('\n');
    assert.deepEqual(
      checks.map((c) => c.device),
      ['/dev/mmap_multi0', '/dev/mmap_multi1'],
      table,
    );
    assert.deepEqual(checks[0]?.nodes, ['/dev/mmap_multi0', '/dev/mmap_multi1'], table);
    assert.deepEqual(
      checks.map((c) => c.results.filter(isFinding).map((r) => [r.scenario, r.verdict])),
      [[], [['offset-map', 'data-mismatch']]],
      table,
    );
  });

  it('--profile poison boots with freed pages poisoned and slab objects checked; the correct example still has no finding', async () => {
    const c = await checkKernel(installed.get(), DEFAULT_VM, {
      module: { kmod: path.join(EXAMPLES, 'good-vmalloc') },
      params: {},
      device: '/dev/mmap_good',
      size: SIZE,
      profile: 'poison',
      uses: false,
    });
    assert.ok(
      c.notes.some((n) => /^booted with the poison profile: page_poison=1 init_on_free=1 slub_debug=FZPU/.test(n)),
      c.notes.join('\n'),
    );
    const table = tableOf(c.results);
    assert.deepEqual(c.results.filter(isFinding), [], table);
  });
});

describe('mmaplab check: bad input is a clear error', function () {
  this.timeout(5 * 60_000);
  const installed = installedKernel('6.12');

  it('a module that does not build: EKMODBUILD with the compiler output and the kernel it was for', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-broken-'));
    try {
      fs.writeFileSync(path.join(dir, 'Kbuild'), 'obj-m := broken.o\n');
      fs.writeFileSync(
        path.join(dir, 'broken.c'),
        '#include <linux/module.h>\nint broken_init(void) { return undeclared_thing; }\nMODULE_LICENSE("GPL");\n',
      );
      const k = installed.get();
      assert.throws(
        () => ensureUserModule(k, dir),
        (err: unknown) =>
          err instanceof MmaplabError &&
          err.code === 'EKMODBUILD' &&
          err.message.includes(k.release) &&
          /undeclared_thing/.test(err.message) &&
          /error:/.test(err.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a setup step that fails: ECHECK naming the step and the errno', async () => {
    await assert.rejects(
      checkKernel(installed.get(), DEFAULT_VM, {
        module: { kmod: path.join(EXAMPLES, 'ldd-chrdev') },
        params: {},
        device: '/dev/mmap_ldd',
        size: SIZE,
        setup: [
          { ioctl: 0x40086d01, arg: '0040000000000000' },
          { ioctl: 0x6d02, arg: null },
        ],
      }),
      (err: unknown) =>
        err instanceof MmaplabError &&
        err.code === 'ECHECK' &&
        /setup step 2 \(ioctl 0x6d02\) on \/dev\/mmap_ldd failed: ENOTTY/.test(err.message),
    );
  });

  it('a setup hook that fails: ECHECK naming the hook and the errno', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-hook-'));
    try {
      const file = path.join(dir, 'bad-setup.js');
      fs.writeFileSync(file, 'module.exports = (fd, dev) => { dev.ioctl(0x6d02); };\n');
      await assert.rejects(
        checkKernel(installed.get(), DEFAULT_VM, {
          module: { kmod: path.join(EXAMPLES, 'ldd-chrdev') },
          params: {},
          device: '/dev/mmap_ldd',
          size: SIZE,
          hook: readHook(file),
        }),
        (err: unknown) =>
          err instanceof MmaplabError &&
          err.code === 'ECHECK' &&
          /setup hook .*bad-setup\.js on \/dev\/mmap_ldd failed: ENOTTY/.test(err.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a device node that never appears: ECHECK naming the nodes that did', async () => {
    await assert.rejects(
      checkKernel(installed.get(), DEFAULT_VM, {
        module: { kmod: path.join(EXAMPLES, 'good-vmalloc') },
        params: {},
        device: '/dev/mmap_nothing',
        size: SIZE,
      }),
      (err: unknown) =>
        err instanceof MmaplabError &&
        err.code === 'ECHECK' &&
        /\/dev\/mmap_nothing did not appear/.test(err.message) &&
        /\/dev\/mmap_good/.test(err.message),
    );
  });
});
