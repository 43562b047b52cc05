/**
 * Guest suite, module loaded WITHOUT allow_hazards: a session's buffer
 * exported as a dma-buf (ioctl DMABUF), mapped through the dma-buf's
 * descriptor and bracketed with DMA_BUF_IOCTL_SYNC, as userspace of a GPU
 * or camera driver does; and the kernel's own exporters beside it where
 * the kernel has them (udmabuf and the DMA-BUF system heap: 6.12's Debian
 * kernel, not 6.1's).
 *
 * What was predicted before the first run, from both kernels'
 * drivers/dma-buf: the dma-buf core hands the VMA to the exporter's ->mmap
 * as it is, so a mapping through the dma-buf is the method's mapping
 * with the dma-buf's file; the core refuses a range past the dma-buf's size
 * itself; DMA_BUF_IOCTL_SYNC reaches the exporter once per call and flags
 * without READ or WRITE, or unknown bits, are EINVAL; the dma-buf has no
 * read(); udmabuf (6.12) and the system heap map with VM_PFNMAP, so
 * get_user_pages (O_DIRECT) on their mappings is EFAULT, where a mapping of
 * struct pages (vm_insert_pages) through mmaplab's dma-buf is not.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import {
  Device,
  type DmaBuf,
  failureReason,
  isSyscallError,
  type Mapping,
  SYSTEM_HEAP_PATH,
  systemHeapBuffer,
  UDMABUF_PATH,
  udmabufOf,
} from '../../lib/device';
import { native } from '../../lib/device/native';
import { smapsAt } from '../../lib/device/proc-self';
import { scratchDisk } from '../../lib/runner/uses';
import { seriesOf } from '../../lib/vm/kernels';
import { moduleWindow } from './module-window';

const PAGE = 4096;
const SIZE = 4 * PAGE;
const series = seriesOf(os.release());

function code(err: unknown): string | undefined {
  return isSyscallError(err) ? err.code : (err as { code?: string }).code;
}

/** The fields of /proc/self/fdinfo/FD ("size", "exp_name", "ino"...). */
function fdinfo(fd: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n')) {
    const [, name, value] = /^([a-z_]+):\s*(.*)$/.exec(line) ?? [];
    if (name !== undefined && value !== undefined) out[name] = value;
  }
  return out;
}

/** The smaps entry of a mapping: its header (with the file's path) and VmFlags. */
function smapsOf(m: Mapping): { header: string; flags: string[] } {
  const e = smapsAt(m.address);
  assert.ok(e, `an smaps entry at ${m.address.toString(16)}`);
  return e;
}

/** O_DIRECT write of the whole mapping to the scratch disk: get_user_pages on it. Its errno, or 'ok'. */
function directWrite(m: Mapping): string {
  const direct = fs.openSync(scratchDisk(), fs.constants.O_RDWR | fs.constants.O_DIRECT);
  try {
    const n = native().transfer(m.buffer, 0, m.length, direct, true, 0);
    return n === m.length ? 'ok' : `short ${n}`;
  } catch (err) {
    return code(err) ?? String(err);
  } finally {
    fs.closeSync(direct);
  }
}

function refusal(fn: () => unknown): { code: string | undefined; reason: string | undefined } {
  try {
    fn();
  } catch (err) {
    return { code: code(err), reason: failureReason(err)?.reason ?? undefined };
  }
  return { code: 'no error', reason: undefined };
}

describe(`dma-buf: a driver's buffer exported and mapped through the dma-buf on ${os.release()}`, function () {
  const kernel = moduleWindow();

  /** A session with a filled 16 KiB buffer of `method`, exported. */
  function exported(method: 'vm_insert_pages' | 'remap_pfn_range', fn: (d: Device, buf: DmaBuf) => void): void {
    using d = Device.open();
    d.configure({ alloc: 'pages_array', method, size: SIZE });
    d.fill(71);
    using buf = d.exportDmaBuf();
    fn(d, buf);
  }

  it('the descriptor is a dma-buf of the buffer: fdinfo names the exporter and the size, read() is EINVAL', function () {
    exported('vm_insert_pages', (_d, buf) => {
      const info = fdinfo(buf.fd);
      assert.equal(info.exp_name, 'mmaplab');
      assert.equal(info.size, String(SIZE));
      assert.equal(fs.fstatSync(buf.fd).size, SIZE);
      assert.equal(refusal(() => fs.readSync(buf.fd, Buffer.alloc(8))).code, 'EINVAL');
    });
  });

  it("a mapping through it is the method's mapping of the dma-buf's file, and the data crosses both ways", function () {
    exported('vm_insert_pages', (d, buf) => {
      using m = buf.map();
      const e = smapsOf(m);
      assert.match(e.header, /\/dmabuf:/, "the VMA is the dma-buf file's");
      assert.ok(e.flags.includes('mm'), `vm_insert_pages makes the VMA VM_MIXEDMAP: ${e.flags.join(' ')}`);
      buf.beginCpuAccess('read');
      assert.equal(m.checkPattern(71), null, 'what the kernel wrote');
      buf.endCpuAccess('read');
      buf.beginCpuAccess('write');
      m.writePattern(72);
      buf.endCpuAccess('write');
      assert.equal(d.verify(72).ok, true, 'what userspace wrote');
      assert.deepEqual(d.dmaBufState(), { alive: true, cpuBegin: 2, cpuEnd: 2 });
    });
  });

  it('DMA_BUF_IOCTL_SYNC without READ or WRITE, or with unknown bits, is EINVAL and never reaches the exporter', function () {
    exported('vm_insert_pages', (d, buf) => {
      for (const flags of [0n, 4n, 8n | 3n, 1n << 40n]) {
        assert.equal(refusal(() => buf.syncRaw(flags)).code, 'EINVAL', `flags ${flags}`);
      }
      assert.deepEqual(d.dmaBufState(), { alive: true, cpuBegin: 0, cpuEnd: 0 });
    });
  });

  it('a range past the buffer is refused by the dma-buf core, before the module sees it', function () {
    exported('vm_insert_pages', (d, buf) => {
      const r = refusal(() => buf.map({ length: SIZE + PAGE }));
      assert.deepEqual(r, { code: 'EINVAL', reason: undefined });
      assert.equal(d.lastError().reason, 'none');
    });
  });

  it('while the dma-buf lives CONFIGURE is refused (EBUSY exported); a second EXPORT is the same dma-buf', function () {
    using d = Device.open();
    d.configure({ alloc: 'pages_array', method: 'vm_insert_pages', size: SIZE });
    const first = d.exportDmaBuf();
    const second = d.exportDmaBuf();
    assert.notEqual(first.fd, second.fd);
    assert.equal(fdinfo(first.fd).ino, fdinfo(second.fd).ino, 'one dma-buf, two descriptors');
    first.close();
    const again = refusal(() => d.configure({ alloc: 'pages_array', method: 'vm_insert_pages', size: SIZE }));
    assert.deepEqual(again, { code: 'EBUSY', reason: 'exported' });
    second.close();
    assert.equal(d.dmaBufState().alive, false);
    d.configure({ alloc: 'pages_array', method: 'vm_insert_pages', size: SIZE });
  });

  it('the dma-buf holds the session: with both descriptors closed the mapping works, and the buffer goes with it', function () {
    using probe = Device.open();
    const before = probe.counters();
    const d = Device.open();
    d.configure({ alloc: 'pages_array', method: 'vm_insert_pages', size: SIZE });
    d.fill(73);
    const buf = d.exportDmaBuf();
    const m = buf.map();
    buf.close();
    d.close();
    assert.equal(m.checkPattern(73), null);
    m.writePattern(74);
    assert.equal(m.checkPattern(74), null);
    assert.equal(probe.counters().buffers, before.buffers + 1, 'the buffer is alive while mapped');
    m.unmap();
    assert.deepEqual(probe.counters(), before, 'and freed with the last mapping');
  });

  it('a session opened read-only exports a read-only dma-buf: a writable shared mapping of it is EACCES', function () {
    using ro = Device.open(undefined, { access: 'r' });
    ro.configure({ alloc: 'pages_array', method: 'vm_insert_pages', size: SIZE });
    ro.fill(75);
    using buf = ro.exportDmaBuf();
    assert.equal(fdinfo(buf.fd).flags?.slice(-1), '0', `O_RDONLY: ${fdinfo(buf.fd).flags}`);
    assert.equal(refusal(() => buf.map({ length: SIZE })).code, 'EACCES');
    using m = buf.map({ length: SIZE, prot: 'r' });
    assert.equal(m.checkPattern(75), null);
  });

  it('a file-backed method is not exported (EINVAL combination); nor is an unconfigured session (ENODEV)', function () {
    using d = Device.open();
    assert.deepEqual(
      refusal(() => d.exportDmaBuf()),
      { code: 'ENODEV', reason: 'not-configured' },
    );
    d.configure({ alloc: 'vmalloc', method: 'page_cache', size: SIZE });
    assert.deepEqual(
      refusal(() => d.exportDmaBuf()),
      { code: 'EINVAL', reason: 'combination' },
    );
  });

  it("get_user_pages works on mmaplab's dma-buf mapped as pages (O_DIRECT), and is EFAULT mapped as pfns", function () {
    exported('vm_insert_pages', (_d, buf) => {
      using m = buf.map();
      assert.equal(directWrite(m), 'ok');
    });
    exported('remap_pfn_range', (_d, buf) => {
      using m = buf.map();
      assert.ok(smapsOf(m).flags.includes('pf'));
      assert.equal(directWrite(m), 'EFAULT');
    });
  });

  describe("the kernel's own exporters", function () {
    const present = (p: string): boolean => fs.existsSync(p);

    if (series === '6.1') {
      it('6.1 has neither udmabuf nor a DMA heap (CONFIG_UDMABUF and CONFIG_DMABUF_HEAPS are off)', function () {
        assert.equal(present(UDMABUF_PATH), false);
        assert.equal(present(SYSTEM_HEAP_PATH), false);
      });
      return;
    }

    it("udmabuf maps a memfd's pages as pfns (VM_PFNMAP): the data is the memfd's, O_DIRECT is EFAULT, MAP_PRIVATE EINVAL", function () {
      const { buf, memfd } = udmabufOf(SIZE);
      try {
        const data = Buffer.alloc(SIZE, 0x5a);
        fs.writeSync(memfd, data, 0, SIZE, 0);
        using m = buf.map();
        const e = smapsOf(m);
        assert.match(e.header, /\/dmabuf:/);
        assert.ok(e.flags.includes('pf') && !e.flags.includes('mm'), e.flags.join(' '));
        assert.equal(Buffer.from(m.buffer).equals(data), true);
        assert.equal(fdinfo(buf.fd).exp_name, 'udmabuf');
        assert.equal(directWrite(m), 'EFAULT');
        assert.equal(refusal(() => buf.map({ private: true })).code, 'EINVAL', 'udmabuf maps shared only');
      } finally {
        buf.close();
        fs.closeSync(memfd);
      }
    });

    it('the system heap maps with remap_pfn_range (VM_IO | VM_PFNMAP): O_DIRECT is EFAULT, MAP_PRIVATE of several pages EINVAL', function () {
      using buf = systemHeapBuffer(SIZE);
      assert.equal(fdinfo(buf.fd).exp_name, 'system');
      {
        using m = buf.map();
        const e = smapsOf(m);
        assert.ok(e.flags.includes('io') && e.flags.includes('pf'), e.flags.join(' '));
        buf.beginCpuAccess('write');
        new Uint8Array(m.buffer).fill(0x3c);
        buf.endCpuAccess('write');
        assert.equal(
          new Uint8Array(m.buffer).every((b) => b === 0x3c),
          true,
        );
        assert.equal(directWrite(m), 'EFAULT');
      }
      assert.equal(refusal(() => buf.map({ private: true })).code, 'EINVAL');
    });
  });

  it('the kernel log stayed clean: no complaint, no new taint', function () {
    kernel.assertClean();
  });
});
