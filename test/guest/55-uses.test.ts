/**
 * Guest suite, module loaded WITHOUT allow_hazards: one representative use
 * of each family of what a program does with a mapping (lib/experiments/
 * uses), through the device API a user would call, with the data checked
 * both ways and the kernel log clean at the end.
 *
 * - kernel: another process reads and writes the mapping (process_vm_*,
 *   /proc/PID/mem, ptrace): ordinary pages are reachable, a VM_PFNMAP
 *   mapping is refused with the errno each path gives; O_DIRECT on the VM's
 *   scratch disk reads into and writes from inserted pages, not pfns.
 * - space: mremap moves a mapping with its data and the module counts the
 *   VMAs back to zero; mincore calls a fully mapped VM_PFNMAP range not
 *   resident.
 * - placement: the THP switch does not decide whether a fault handler's
 *   PMD-order block is PMD-mapped (6.1: always, 6.12: never).
 * - observe: smaps shows each method's VMA flags; pagemap shows the
 *   driver's own pfns for inserted pages and nothing for pfn mappings.
 * - pressure: a child of a memory-limited cgroup holds the mapping while
 *   the kernel reclaims that cgroup's page cache; the driver's pages keep
 *   their pfns and their data.
 */
import * as assert from 'node:assert/strict';
import {
  Device,
  freeAddress,
  isSyscallError,
  type AllocName,
  type MethodName,
  pagemapOf,
  remoteRead,
  remoteWrite,
  setThpMode,
  smapsAt,
  thpMode,
} from '../../lib/device';
import * as os from 'node:os';
import { seriesOf } from '../../lib/vm/kernels';
import { transferAll } from '../../lib/device/kernel-io';
import { deviceUseContext, runUse, scratchDisk } from '../../lib/runner/uses';
import { SEED_KERNEL as USE_SEED_KERNEL } from '../../lib/runner/seeds';
import * as fs from 'node:fs';
import { moduleWindow } from './module-window';

const PAGE = 4096;
const SIZE = 16 * 1024;
const KERNEL_SEED = 0x1234;
const USER_SEED = 0x4321;

function configured(alloc: AllocName, method: MethodName): Device {
  const d = Device.open();
  d.configure({ alloc, method, size: SIZE });
  d.fill(KERNEL_SEED);
  return d;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isSyscallError(err)) return `${err.code} ${err.syscall}`;
    throw err;
  }
  return 'not refused';
}

describe('uses: what a program does with a mapping', function () {
  const window = moduleWindow();

  describe('kernel family: another process reaches into the mapping', function () {
    it('process_vm_readv/writev, /proc/PID/mem and ptrace reach vm_insert_page memory, both ways', function () {
      const d = configured('pages_array', 'vm_insert_page');
      const map = d.map();
      try {
        for (const how of ['process_vm', 'proc_mem', 'ptrace'] as const) {
          d.fill(KERNEL_SEED);
          const r = remoteRead(map, how, KERNEL_SEED);
          assert.deepEqual(r, { bytes: SIZE, mismatch: null }, `${how} read`);
          assert.equal(remoteWrite(map, how, USER_SEED), SIZE, `${how} write`);
          assert.equal(map.checkPattern(USER_SEED), null, `${how}: this process sees the other's writes`);
          assert.equal(d.verify(USER_SEED).mismatch, null, `${how}: the driver sees them`);
        }
      } finally {
        map.unmap();
        d.close();
      }
    });

    it('a VM_PFNMAP mapping (remap_pfn_range) is refused: EFAULT through get_user_pages, EIO through access_remote_vm', function () {
      const d = configured('pages_comp', 'remap_pfn_range');
      const map = d.map();
      try {
        assert.equal(map.checkPattern(KERNEL_SEED), null, 'the process itself reads it');
        assert.equal(
          refusal(() => remoteRead(map, 'process_vm', KERNEL_SEED)),
          'EFAULT process_vm_readv',
        );
        assert.equal(
          refusal(() => remoteRead(map, 'proc_mem', KERNEL_SEED)),
          'EIO pread',
        );
        assert.equal(
          refusal(() => remoteWrite(map, 'ptrace', USER_SEED)),
          'EIO ptrace(POKEDATA)',
        );
        assert.equal(d.verify(KERNEL_SEED).mismatch, null, 'nothing was written');
      } finally {
        map.unmap();
        d.close();
      }
    });
  });

  describe("kernel family: O_DIRECT through the mapping, on the VM's scratch disk", function () {
    it('a vm_insert_pages mapping is read into and written from by the disk; a remap_pfn_range one is EFAULT', function () {
      const disk = scratchDisk();
      const d = configured('pages_array', 'vm_insert_pages');
      const map = d.map();
      const direct = fs.openSync(disk, fs.constants.O_RDWR | fs.constants.O_DIRECT);
      try {
        assert.equal(transferAll(map, direct, 'out', 0), SIZE, 'written to the disk');
        map.fill(0);
        assert.equal(transferAll(map, direct, 'in', 0), SIZE, 'read back from the disk');
        assert.equal(map.checkPattern(KERNEL_SEED), null, 'the disk held what the driver wrote');
      } finally {
        fs.closeSync(direct);
        map.unmap();
        d.close();
      }
      const p = configured('pages_comp', 'remap_pfn_range');
      const pmap = p.map();
      const again = fs.openSync(disk, fs.constants.O_RDWR | fs.constants.O_DIRECT);
      try {
        assert.equal(
          refusal(() => transferAll(pmap, again, 'in', 0)),
          'EFAULT pread',
        );
        assert.equal(pmap.checkPattern(KERNEL_SEED), null, 'nothing was read into it');
      } finally {
        fs.closeSync(again);
        pmap.unmap();
        p.close();
      }
    });
  });

  describe('space family: address-space calls', function () {
    it('mremap moves a vmf_insert_pfn mapping with its data; the module counts its VMAs back to zero', function () {
      const d = configured('pages_comp', 'vmf_insert_pfn');
      const map = d.map();
      assert.equal(map.checkPattern(KERNEL_SEED), null);
      const to = freeAddress(SIZE, PAGE);
      const moved = map.remap(SIZE, { to });
      try {
        assert.equal(moved.address, to);
        assert.equal(map.unmapped, true, 'the old buffer is detached');
        assert.equal(moved.checkPattern(KERNEL_SEED), null);
        moved.writePattern(USER_SEED);
        assert.equal(d.verify(USER_SEED).mismatch, null);
      } finally {
        moved.unmap();
      }
      assert.equal(d.info().mappings, 0);
      d.close();
    });

    it('mincore calls every page of a remap_pfn_range mapping not resident, of a vm_map_pages one resident', function () {
      for (const [alloc, method, resident] of [
        ['pages_comp', 'remap_pfn_range', 0],
        ['pages_array', 'vm_map_pages', SIZE / PAGE],
      ] as const) {
        const d = configured(alloc, method);
        const map = d.map();
        try {
          assert.equal(map.checkPattern(KERNEL_SEED), null, `${method}: every page read`);
          assert.equal(map.residentPages(), resident, method);
        } finally {
          map.unmap();
          d.close();
        }
      }
    });
  });

  describe('placement family: transparent huge pages', function () {
    it('a fault handler over one 2 MiB compound block at a 2 MiB-aligned address: one PMD on 6.1 even with THP "never", PTEs on 6.12', function () {
      const M2 = 2 << 20;
      const before = thpMode();
      assert.ok(before !== null, 'this kernel has a THP switch');
      setThpMode('never');
      const d = Device.open();
      try {
        d.configure({ alloc: 'pages_comp', method: 'fault_page', size: M2 });
        d.fill(KERNEL_SEED);
        const want = freeAddress(M2, M2);
        const map = d.map({ placement: { mode: 'hint', address: want } });
        try {
          assert.equal(map.address, want);
          assert.equal(map.checkPattern(KERNEL_SEED), null);
          const e = smapsAt(map.address);
          assert.ok(e);
          const expected = seriesOf(os.release()) === '6.1' ? 2048 : 0;
          assert.equal(e.filePmdKb, expected, `FilePmdMapped on ${os.release()}`);
          map.writePattern(USER_SEED);
          assert.equal(d.verify(USER_SEED).mismatch, null);
        } finally {
          map.unmap();
        }
      } finally {
        d.close();
        setThpMode(before);
      }
    });
  });

  describe('observe family: what the kernel shows', function () {
    it("smaps shows each method's VMA flags; pagemap shows inserted pages' pfns and hides pfn mappings", function () {
      const cases: ReadonlyArray<readonly [AllocName, MethodName, string[], boolean]> = [
        ['pages_comp', 'remap_pfn_range', ['io', 'pf', 'de', 'dd'], false],
        ['pages_array', 'vm_insert_pages', ['mm'], true],
        ['vmalloc_user', 'remap_vmalloc_range', ['de', 'dd', 'mm'], true],
      ];
      for (const [alloc, method, flags, present] of cases) {
        const d = configured(alloc, method);
        const map = d.map();
        try {
          assert.equal(map.checkPattern(KERNEL_SEED), null);
          const e = smapsAt(map.address);
          assert.ok(e, `${method}: an smaps entry`);
          const special = ['io', 'pf', 'de', 'dd', 'mm'].filter((f) => e.flags.includes(f));
          assert.deepEqual(special, flags, `${method}: ${e.flags.join(' ')}`);
          const entries = pagemapOf(map.address, SIZE / PAGE);
          const pfns = (d.info({ pages: true }).pages ?? []).map((p) => p.pfn);
          assert.deepEqual(
            entries.map((x) => x.present),
            entries.map(() => present),
            `${method}: present bits`,
          );
          if (present)
            assert.deepEqual(
              entries.map((x) => x.pfn),
              pfns,
              `${method}: the driver's pfns`,
            );
        } finally {
          map.unmap();
          d.close();
        }
      }
    });
  });

  describe('pressure family: reclaim with the mapping held', function () {
    it("a child in a 4 MiB cgroup reads the disk past its limit; the driver's pages stay put and keep their data", function () {
      for (const [alloc, method] of [
        ['pages_array', 'vm_insert_pages'],
        ['vmalloc_user', 'remap_vmalloc_range'],
        ['pages_comp', 'remap_pfn_range'],
      ] as const) {
        const d = configured(alloc, method);
        d.fill(USE_SEED_KERNEL);
        const map = d.map();
        const views: string[] = [];
        try {
          assert.equal(map.checkPattern(USE_SEED_KERNEL), null);
          const found = runUse(
            'reclaim-pressure',
            deviceUseContext(d, {
              map,
              held: [map],
              view: (what, mismatch) => {
                if (mismatch !== null) views.push(`${what} at ${mismatch.offset}`);
              },
              verify: () => undefined,
            }),
          );
          assert.ok(Number(found.facts['limitHits']) > 0, `${method}: the cgroup hit its limit (${JSON.stringify(found.facts)})`);
          assert.equal(found.facts['oomKills'], 0, `${method}: reclaim, not the OOM killer`);
          assert.equal(found.outcome, 'unmoved', `${method}: the same pfns before and after`);
          assert.deepEqual(views, [], `${method}: the child and this process read the driver's data`);
          map.writePattern(USER_SEED);
          assert.equal(d.verify(USER_SEED).mismatch, null, `${method}: the driver sees writes after the pressure`);
        } finally {
          map.unmap();
          d.close();
        }
      }
    });
  });

  // A describe of its own: mocha runs a block's own tests before its nested blocks.
  describe('afterwards', function () {
    it('leaves the kernel log clean and the kernel untainted', function () {
      window.assertClean();
    });
  });
});
