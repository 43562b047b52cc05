/**
 * The device's memory as a buffer (pci_bar, the ivshmem-plain BAR): which
 * methods take it, the cells and their predictions, the device API's
 * splittable option, and the host-side check of what the device saw.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderEvidence } from '../../lib/cli/evidence';
import { Device } from '../../lib/device';
import { writePattern } from '../../lib/device/pattern';
import { CATALOGUE, SCENARIO_PAIRS } from '../../lib/experiments/catalogue';
import { BAR_REMAP_METHODS, support } from '../../lib/experiments/support';
import { CELL_METHODS, emptyObservation, type CellResult } from '../../lib/experiments/types';
import { judge } from '../../lib/experiments/verdict';
import { readDeviceSide } from '../../lib/runner/device-side';
import { DEVICE_BAR_BYTES } from '../../lib/vm/device-bar';
import { prediction } from './prediction';

describe('pci_bar: a PCI device BAR mapped to userspace', function () {
  it('only the pfn methods take the BAR (no struct pages); the io helpers take it and one RAM and one DMA buffer', function () {
    const takes = CELL_METHODS.filter((m) => support('pci_bar', m) === 'safe');
    assert.deepEqual(takes, [
      'remap_pfn_range',
      'vmf_insert_pfn',
      'vmf_insert_pfn_prot',
      'vmf_insert_mixed',
      'io_remap_pfn_range',
      'vm_iomap_memory',
    ]);
    for (const m of ['io_remap_pfn_range', 'vm_iomap_memory'] as const) {
      assert.deepEqual(
        ['kmalloc', 'pages_comp', 'dma_coherent', 'pci_bar', 'vmalloc'].map((a) => support(a as never, m)),
        ['unsupported', 'safe', 'safe', 'safe', 'unsupported'],
      );
    }
  });

  it('runs every scenario through io_remap_pfn_range, and WC and UC on every method that takes it', function () {
    assert.ok(SCENARIO_PAIRS.some(([a, m]) => a === 'pci_bar' && m === 'io_remap_pfn_range'));
    for (const m of CELL_METHODS.filter((x) => support('pci_bar', x) === 'safe')) {
      for (const cache of ['wc', 'uc'])
        assert.ok(
          CATALOGUE.some((c) => c.id === `pci_bar/${m}/16K/basic/${cache}`),
          `${m} ${cache}`,
        );
    }
    assert.ok(
      CATALOGUE.filter((c) => c.alloc === 'pci_bar').every((c) => c.size <= DEVICE_BAR_BYTES),
      'every cell fits in the BAR',
    );
  });

  it('predicts a split of a remapped BAR refused by the module, and the PAT complaint without that refusal', function () {
    for (const m of BAR_REMAP_METHODS) {
      for (const series of ['6.1', '6.12']) {
        assert.equal(prediction(`pci_bar/${m}/16K/partial-munmap`, series), 'refused (EINVAL)');
        assert.equal(prediction(`pci_bar/${m}/16K/partial-munmap/splittable`, series), 'kernel-complaint (pat)');
      }
    }
    assert.equal(prediction('pci_bar/remap_pfn_range/16K/fixed-over', '6.1'), 'refused (ENOMEM)');
    assert.equal(prediction('pci_bar/remap_pfn_range/16K/fixed-over', '6.12'), 'refused (EINVAL)');
    assert.equal(prediction('pci_bar/io_remap_pfn_range/16K/use:mremap-shrink', '6.12'), 'refused (EINVAL)');
    // fault-filled mappings reserve nothing by range: they split like any other
    assert.equal(prediction('pci_bar/vmf_insert_pfn/16K/fixed-over', '6.12'), 'ok');
    assert.equal(prediction('pages_comp/remap_pfn_range/16K/partial-munmap', '6.12'), 'ok');
  });

  it('the device API refuses splittable unless hazards are asked for, and checks its type', function () {
    const d = Object.create(Device.prototype) as Device;
    assert.throws(
      () => d.configure({ alloc: 'pci_bar', method: 'remap_pfn_range', size: 16384, splittable: true }),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_HAZARD_NOT_REQUESTED' && /splittable/.test(e.message),
    );
    assert.throws(
      () => d.configure({ alloc: 'pci_bar', method: 'remap_pfn_range', size: 16384, splittable: 1 as never }),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
  });

  describe("what the device saw (the BAR's backing file)", function () {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-bar-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const file = (name: string, words: Uint32Array): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, Buffer.from(words.buffer, words.byteOffset, words.byteLength));
      return f;
    };

    it('matches the pattern userspace wrote, over the length asked for', function () {
      const w = new Uint32Array(2048);
      writePattern(w.subarray(0, 1024), 7);
      const f = file('good', w);
      assert.deepEqual(readDeviceSide(4096, 7, f), { via: `host side: ${f}`, checked: true, mismatch: null });
    });

    it('names the first word the device does not hold', function () {
      const w = new Uint32Array(1024);
      writePattern(w, 7);
      w[5] = 0xdeadbeef;
      const side = readDeviceSide(4096, 7, file('bad', w));
      assert.ok(side.checked);
      assert.deepEqual(side.mismatch, {
        offset: 20,
        expected: (() => {
          const x = new Uint32Array(1024);
          writePattern(x, 7);
          return x[5];
        })(),
        found: 0xdeadbeef,
      });
    });

    it('says it did not check, and why, with no file or a short one', function () {
      const none = readDeviceSide(4096, 7, path.join(dir, 'absent'));
      assert.deepEqual([none.checked, !none.checked && /ENOENT/.test(none.why)], [false, true]);
      const short = readDeviceSide(8192, 7, file('short', new Uint32Array(1024)));
      assert.deepEqual([short.checked, !short.checked && short.why], [false, 'the backing file holds 4096 of 8192 bytes']);
    });

    it('a mismatch on the device side is wrong data, and the evidence shows the host-side check', function () {
      const obs = emptyObservation();
      obs.steps = ['open', 'configure', 'fill', 'mmap', 'read', 'write', 'verify', 'device'];
      obs.deviceSide = { via: 'host side: /run/mmaplab/device-bar.mem', checked: true, mismatch: { offset: 8, expected: 1, found: 2 } };
      obs.view = { what: 'device-saw', mismatch: { offset: 8, expected: 1, found: 2 } };
      const j = judge({ kmsg: [], findings: [], taintGained: [], observation: obs });
      assert.deepEqual([j.verdict, j.detail], ['wrong-data', 'device-saw']);
      const cell = CATALOGUE.find((c) => c.id === 'pci_bar/io_remap_pfn_range/16K/basic');
      assert.ok(cell);
      const r: CellResult = {
        kernel: '6.12.117+deb12-amd64',
        cell,
        ...j,
        evidence: { kmsg: [], findings: [], taintGained: [], observation: obs },
        durationMs: 1,
      };
      assert.match(
        renderEvidence(r),
        /device saw: {3}mismatch at offset 8: expected 0x1, found 0x2 \(host side: \/run\/mmaplab\/device-bar\.mem\)/,
      );
      obs.deviceSide = { via: 'host side: /x', checked: false, why: 'no backing file to read (ENOENT)' };
      assert.match(renderEvidence(r), /device saw: {3}not checked: no backing file to read \(ENOENT\)/);
    });
  });
});
