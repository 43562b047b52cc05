/**
 * Guest suite, module loaded WITHOUT allow_hazards: the pci_bar allocator
 * against the VM's ivshmem-plain device. The module drives the device; the
 * BAR is one session's at a time; data written through a user mapping of
 * the BAR is in the host's backing file (read back through the run
 * directory, not through the BAR); a remapped BAR's VMA cannot be split;
 * and the kernel's own sysfs mapping of the BAR, the reference, is refused
 * while a driver holds the region. The kernel log stays clean.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Device, failureReason, isSyscallError } from '../../lib/device';
import { native } from '../../lib/device/native';
import { GUEST_DEVICE_FILE, readDeviceSide } from '../../lib/runner/device-side';
import { DEVICE_BAR_BYTES } from '../../lib/vm/device-bar';
import { moduleWindow } from './module-window';
import { at } from '../../lib/util/at';

const PAGE = 4096;
const DRIVER_DIR = '/sys/bus/pci/drivers/mmaplab';

function code(err: unknown): string | undefined {
  return isSyscallError(err) ? err.code : (err as { code?: string }).code;
}

/** The PCI address of the ivshmem device the module drives (its driver directory holds a link named after each device). */
function boundDevice(): string {
  const ivshmem = (d: string): boolean =>
    ['vendor', 'device'].map((f) => fs.readFileSync(`/sys/bus/pci/devices/${d}/${f}`, 'utf8').trim()).join(':') === '0x1af4:0x1110';
  const bound = fs.readdirSync(DRIVER_DIR).filter((e) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(e) && ivshmem(e));
  assert.equal(bound.length, 1, `one ivshmem device bound to the module: ${bound.join(' ') || 'none'}`);
  return at(bound, 0, 'the bound ivshmem device');
}

describe(`pci_bar: the ivshmem-plain BAR on ${os.release()}`, function () {
  const kernel = moduleWindow();

  it('the module drives the device: its BAR 2 is a 2 MiB memory BAR, requested by the module', function () {
    const dev = boundDevice();
    const [start, end] = (fs.readFileSync(`/sys/bus/pci/devices/${dev}/resource`, 'utf8').split('\n')[2] ?? '').split(' ');
    assert.ok(start !== undefined && end !== undefined, 'BAR 2 has a start and an end');
    assert.equal(BigInt(end) - BigInt(start) + 1n, BigInt(DEVICE_BAR_BYTES));
    assert.match(fs.readFileSync('/proc/iomem', 'utf8'), /: mmaplab\n/, '/proc/iomem names the module as the holder of the region');
  });

  it('one session holds the BAR at a time: the next is refused EBUSY (device-busy) until the first lets go', function () {
    const a = Device.open();
    a.configure({ alloc: 'pci_bar', method: 'io_remap_pfn_range', size: 16 * PAGE });
    const b = Device.open();
    try {
      assert.throws(
        () => b.configure({ alloc: 'pci_bar', method: 'io_remap_pfn_range', size: 16 * PAGE }),
        (e: unknown) => code(e) === 'EBUSY' && failureReason(e)?.reason === 'device-busy',
      );
      a.close();
      b.configure({ alloc: 'pci_bar', method: 'io_remap_pfn_range', size: 16 * PAGE });
      assert.throws(
        () => b.configure({ alloc: 'pci_bar', method: 'vm_iomap_memory', size: DEVICE_BAR_BYTES + PAGE }),
        (e: unknown) => code(e) === 'EINVAL' && failureReason(e)?.reason === 'bad-size',
      );
    } finally {
      b.close();
    }
  });

  it('the buffer has no struct pages, its pfns are consecutive, and it starts zeroed', function () {
    using d = Device.open();
    d.configure({ alloc: 'pci_bar', method: 'vmf_insert_pfn', size: 4 * PAGE });
    const pages = d.info({ pages: true }).pages ?? [];
    assert.equal(pages.length, 4);
    assert.ok(
      pages.every((p, i) => {
        const before = pages[i - 1];
        return p.noStructPage && (before === undefined || p.pfn === before.pfn + 1n);
      }),
    );
    using m = d.map();
    assert.ok(new Uint8Array(m.buffer).every((x) => x === 0));
  });

  for (const method of ['io_remap_pfn_range', 'vm_iomap_memory', 'remap_pfn_range', 'vmf_insert_pfn', 'vmf_insert_mixed'] as const) {
    for (const cache of ['wb', 'wc', 'uc'] as const) {
      it(`${method}, ${cache}: what userspace writes is in the host's file, what the kernel fills userspace reads`, function () {
        using d = Device.open();
        d.configure({ alloc: 'pci_bar', method, size: 16 * PAGE, cache });
        using m = d.map();
        d.fill(11);
        assert.equal(m.checkPattern(11), null);
        m.writePattern(12);
        assert.equal(d.verify(12).ok, true);
        assert.deepEqual(readDeviceSide(16 * PAGE, 12), { via: `host side: ${GUEST_DEVICE_FILE}`, checked: true, mismatch: null });
      });
    }
  }

  it('a remapped BAR cannot be split: munmap of a part and mprotect of a part are EINVAL, the whole unmaps', function () {
    using d = Device.open();
    d.configure({ alloc: 'pci_bar', method: 'io_remap_pfn_range', size: 4 * PAGE });
    const m = d.map();
    assert.throws(
      () => m.unmapRange({ offset: PAGE, length: PAGE }),
      (e: unknown) => code(e) === 'EINVAL',
    );
    assert.throws(
      () => native().mprotect(m.buffer, 1, 0, PAGE),
      (e: unknown) => code(e) === 'EINVAL',
    );
    assert.equal(m.checkPattern(0) !== null, true, 'still mapped whole (zeroes, not a pattern)');
    m.unmap();
    assert.equal(d.info().mappings, 0);
  });

  it("the reference: the kernel's own sysfs resource2 mapping is refused while the module holds the region", function () {
    const file = `/sys/bus/pci/devices/${boundDevice()}/resource2`;
    const fd = native().open(file, fs.constants.O_RDWR);
    try {
      assert.throws(
        () => native().mmap(fd, PAGE, 3, 1, 0),
        (e: unknown) => code(e) === 'EINVAL',
      );
    } finally {
      native().close(fd);
    }
  });

  it('leaves the kernel log clean and the module holding nothing', function () {
    using d = Device.open();
    assert.deepEqual(d.counters(), { buffers: 0, pages: 0, sessions: 1 });
    kernel.assertClean();
  });
});
