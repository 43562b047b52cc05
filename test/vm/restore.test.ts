/**
 * Restored VMs against cold boots, on each default kernel: a subset of cells
 * (hazards that damage the kernel, so each needs a fresh one, and safe cells)
 * run both ways must give the same verdicts; a saved state QEMU refuses is
 * saved again and the cells still run restored; a template that cannot be
 * saved at all leaves the cells to cold boots, and the runs say why.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { compare } from '../../lib/experiments/expectations';
import type { CellResult, CellSpec } from '../../lib/experiments/types';
import { sealFile } from '../../lib/util/verified-cache';
import { REQUIRED_SERIES } from '../../lib/vm/kernels';
import { ensureModule } from '../../lib/vm/kmod';
import { qemuVersionLine } from '../../lib/vm/qemu';
import { SavedVms } from '../../lib/vm/saved-vms';
import { runCells } from '../../lib/runner/cell-vms';
import { DEFAULT_VM, templateShapeOf, type VmOptions, type VmRun } from '../../lib/vm/session';
import { STATE_FILE, templateInputs, templateLog, templatesDir } from '../../lib/vm/template';
import { installedKernel } from '../installed-kernel';
import { at } from '../../lib/util/at';

/**
 * Cells whose verdicts did not vary in three full matrix runs, one restored
 * and two cold (docs/booting.md, "Boot once, restore many"; the first-pfn and missing
 * get_page hazards vary from run to run either way, by what memory they
 * reach): two safe cells, and hazards that leave a Bad page state (both
 * kernels), an oops (6.1) and data read after the free.
 */
export const COMPARED_CELLS: readonly string[] = [
  'vmalloc/remap_vmalloc_range/16K/basic',
  'pages_array/vm_insert_pages/16K/fork',
  'pages_nocomp/fault_page/16K/basic',
  'kmalloc/fault_page/4K/write-first',
  'pages_comp/remap_pfn_range/16K/free-while-mapped',
];

/**
 * Compared cells whose verdict depends on the kernel's history on a series,
 * and so cannot be compared between two VMs: on 6.12 a fault handler that
 * maps a slab page is counted as a file page at the fault and, on some runs,
 * as an anonymous one at unmap ("Bad rss-counter ... MM_FILEPAGES val:1 /
 * MM_ANONPAGES val:-1"): the words the core reads to tell are slab's own
 * bookkeeping, so the verdict follows what the slab cache did in between.
 * Measured (2026-12-03): restored copies showed it in 4 of 7 runs of this
 * test, cold boots in none of 16.
 */
const HISTORY_DEPENDENT: Readonly<Record<string, readonly string[]>> = {
  '6.12': ['kmalloc/fault_page/4K/write-first'],
};

/** The compared cells on `series`: those whose verdict does not follow the kernel's history there. */
export function comparedCells(series: string): string[] {
  const skip = HISTORY_DEPENDENT[series] ?? [];
  return COMPARED_CELLS.filter((id) => !skip.includes(id));
}

/** The cells each VM that reached its agent ran, in order: how the cells were spread over fresh kernels. */
function cellsPerVm(runs: readonly VmRun[]): string[][] {
  return runs
    .filter((r) => r.events.some((e) => e.type === 'ready'))
    .map((r) => r.events.flatMap((e) => (e.type === 'cell-start' ? [e.id] : [])));
}

const describeRuns = (runs: readonly VmRun[]): string => runs.map((r) => `${r.start.kind} ${r.boot.end} ${r.runDir}`).join('\n');

function cellsById(ids: readonly string[]): CellSpec[] {
  return ids.map((id) => {
    const cell = CATALOGUE.find((c) => c.id === id);
    if (cell === undefined) throw new Error(`no cell ${id} in the catalogue`);
    return cell;
  });
}

/** The cell's result agrees with its prediction (or its observation record) for this series. */
function assertMeetsPrediction(r: CellResult | undefined, series: string): void {
  assert.ok(r, 'the cell has a result');
  const agreement = compare(r.cell, series, r.verdict, r.detail);
  assert.ok(agreement === 'agrees' || agreement === 'as-recorded', `${r.cell.id}: ${r.verdict} (${r.detail}) is ${agreement}`);
}

const verdictOf = (r: CellResult): string => `${r.verdict}${r.detail ? ` (${r.detail})` : ''}`;

for (const { series } of REQUIRED_SERIES) {
  const installed = installedKernel(series);
  describe(`restored VMs on ${installed.title} (QEMU)`, function () {
    this.timeout(600_000);
    const cells = cellsById(comparedCells(series));
    const logged: string[] = [];
    const write = templateLog.write;
    before(() => {
      templateLog.write = (line) => logged.push(line);
    });
    after(() => {
      templateLog.write = write;
    });
    const moduleOf = (): { path: string; params: Record<string, string> } => ({
      path: ensureModule(installed.get()).path,
      params: { allow_hazards: '1' },
    });

    it(`the compared cells give the same verdicts restored as cold on ${installed.title}`, async () => {
      const kernel = installed.get();
      const cold = await runCells(kernel, cells, moduleOf(), { ...DEFAULT_VM, restore: false });
      const restored = await runCells(kernel, cells, moduleOf(), { ...DEFAULT_VM, restore: true });
      assert.ok(cold.runs.every((r) => r.start.kind === 'cold'));
      assert.ok(
        restored.runs.every((r) => r.start.kind === 'restored'),
        `every VM restored: ${restored.runs.map((r) => `${r.start.kind} ${r.runDir}`).join(', ')}`,
      );
      // A boot that never reaches its agent is tried again, either way; the
      // VMs that ran cells must have run the same cells.
      assert.ok(cellsPerVm(cold.runs).length > 1, 'a hazard ended a VM, so a fresh kernel was needed');
      assert.deepEqual(
        cellsPerVm(restored.runs),
        cellsPerVm(cold.runs),
        `the same cells in each VM either way\ncold:\n${describeRuns(cold.runs)}\nrestored:\n${describeRuns(restored.runs)}`,
      );
      const table = (rs: CellResult[]): string[] => rs.map((r) => `${r.cell.id}: ${verdictOf(r)}`).sort();
      assert.deepEqual(
        table(restored.results),
        table(cold.results),
        `the same verdicts either way\ncold:\n${describeRuns(cold.runs)}\nrestored:\n${describeRuns(restored.runs)}`,
      );
    });

    // What QEMU does with a bad state, and what the harness does when no template can be saved, is
    // the same whatever the guest kernel: the newer kernel shows it, the older one only the comparison.
    // (Defined on 6.12 alone, not skipped on 6.1: a skipped test fails the run.)
    const harnessOnly = (title: string, fn: () => Promise<void>): void => {
      if (series === '6.12') it(title, fn);
    };

    harnessOnly(`a saved state QEMU refuses is saved again, and the cells run restored, on ${installed.title}`, async () => {
      const kernel = installed.get();
      const vm: VmOptions = { ...DEFAULT_VM, restore: true, savedVms: new SavedVms() };
      // A good template first, then its state replaced by bytes QEMU cannot
      // load, with a matching checksum so that only QEMU can tell.
      const inputs = templateInputs(kernel, templateShapeOf(vm), qemuVersionLine());
      await runCells(kernel, cellsById([at(COMPARED_CELLS, 0, 'the first compared cell')]), moduleOf(), vm);
      const state = path.join(templatesDir(), inputs.key, STATE_FILE);
      assert.ok(fs.existsSync(state), `the template was saved at ${state}`);
      fs.writeFileSync(state, Buffer.alloc(4096, 0x5a));
      sealFile(state);
      logged.length = 0;
      const out = await runCells(kernel, cellsById([at(COMPARED_CELLS, 1, 'the second compared cell')]), moduleOf(), {
        ...vm,
        savedVms: new SavedVms(),
      });
      const [refused, next] = out.runs as [VmRun, VmRun];
      assert.equal(out.runs.length, 2, out.runs.map((r) => r.runDir).join(', '));
      assert.equal(refused.start.kind, 'restored');
      assert.ok(['restore-failed', 'qemu-error'].includes(refused.boot.end), `the refused copy ended ${refused.boot.end}`);
      assert.equal(next.start.kind, 'restored', 'restored from the template saved again');
      assert.equal(next.boot.end, 'exited');
      assertMeetsPrediction(out.results[0], series);
      assert.ok(
        logged.some((l) => /did not come up .*; saving it again/.test(l)),
        logged.join('\n'),
      );
    });

    harnessOnly(`when no template can be saved, the cells boot cold and the runs say why, on ${installed.title}`, async () => {
      const kernel = installed.get();
      const empty = path.join(templatesDir(), `empty-runtime-${process.pid}.img`);
      fs.mkdirSync(templatesDir(), { recursive: true });
      fs.writeFileSync(empty, Buffer.alloc(1 << 20));
      logged.length = 0;
      try {
        // The template's root is an image with no file system: its /init fails, nothing is saved.
        const saved = new SavedVms((k, shape, qemu) => ({
          ...templateInputs(k, shape, qemu),
          runtimeImage: empty,
          key: `test-unmountable-${process.pid}`,
        }));
        const out = await runCells(kernel, cellsById([at(COMPARED_CELLS, 0, 'the first compared cell')]), moduleOf(), {
          ...DEFAULT_VM,
          restore: true,
          savedVms: saved,
        });
        assertMeetsPrediction(out.results[0], series);
        const last = at(out.runs, out.runs.length - 1, 'the last VM');
        assert.equal(last.start.kind, 'cold');
        assert.match(last.start.kind === 'cold' ? (last.start.fallback ?? '') : '', /saving a VM failed/);
        assert.ok(
          logged.some((l) => /cells boot cold: saving a VM failed/.test(l)),
          logged.join('\n'),
        );
        const outcome = JSON.parse(fs.readFileSync(path.join(last.runDir, 'outcome.json'), 'utf8')) as {
          start: { kind: string; fallback?: string };
        };
        assert.equal(outcome.start.kind, 'cold');
        assert.match(outcome.start.fallback ?? '', /saving a VM failed/);
      } finally {
        fs.rmSync(empty, { force: true });
      }
    });
  });
}
