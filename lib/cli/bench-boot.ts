/**
 * `mmaplab bench-boot`: how long a cell takes to start, per kernel, for the
 * two ways of booting: the extracted vmlinux (PVH) and the bzImage (the
 * kernel decompresses itself, under TCG). Both are measured in the same run
 * and reported as medians and a ratio; nothing here asserts a time.
 */
import { findCells } from '../experiments/catalogue';
import { MmaplabError } from '../util/errors';
import { MARK_AGENT_READY, MARK_CELL_DONE } from '../vm/job';
import { selectKernels, type Kernel } from '../vm/kernels';
import { ensureModule } from '../vm/kmod';
import { requireQemu } from '../vm/qemu';
import { runJob, type VmOptions } from '../vm/session';
import type { CliOptions } from './args';
import { vmOptionsFor } from './vm-options';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Sample {
  ready: number;
  firstCell: number;
}

async function sample(kernel: Kernel, vm: VmOptions, path: 'vmlinux' | 'bzimage'): Promise<Sample> {
  const cell = findCells(['vmalloc_user/remap_vmalloc_range'])[0];
  if (!cell) throw new MmaplabError('EBENCH', 'the safe benchmark cell is missing from the catalogue');
  const run = await runJob(
    kernel,
    { kind: 'cells', kernel: kernel.release, module: { path: ensureModule(kernel).path, params: {} }, cells: [cell] },
    { ...vm, bootPath: path },
    `bench-${path}`,
  );
  const ready = run.boot.marks[MARK_AGENT_READY];
  const firstCell = run.boot.marks[MARK_CELL_DONE];
  if (ready === undefined || firstCell === undefined) {
    throw new MmaplabError('EBENCH', `${kernel.release} (${path}) never reached the first cell; see ${run.runDir}`);
  }
  return { ready, firstCell };
}

function s(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export async function runBenchBoot(opts: CliOptions): Promise<number> {
  requireQemu();
  const kernels = selectKernels(opts.kernels);
  const lines: string[] = [];
  for (const k of kernels) {
    const vm = await vmOptionsFor(opts, k);
    const got: Record<'vmlinux' | 'bzimage', Sample[]> = { vmlinux: [], bzimage: [] };
    // Interleave the two paths so drift in host load affects both alike.
    for (let i = 0; i < opts.runs; i++) {
      for (const p of ['vmlinux', 'bzimage'] as const) {
        const x = await sample(k, vm, p);
        got[p].push(x);
        process.stderr.write(`${k.release} ${p} run ${i + 1}/${opts.runs}: ready ${s(x.ready)}, first cell ${s(x.firstCell)}\n`);
      }
    }
    const med = (p: 'vmlinux' | 'bzimage', f: keyof Sample): number => median(got[p].map((x) => x[f]));
    lines.push(
      `${k.release} (${vm.accel}, ${opts.runs} boots each, median from QEMU start)`,
      `  vmlinux (PVH): agent ready ${s(med('vmlinux', 'ready'))}, first cell done ${s(med('vmlinux', 'firstCell'))}`,
      `  bzImage:       agent ready ${s(med('bzimage', 'ready'))}, first cell done ${s(med('bzimage', 'firstCell'))}`,
      `  bzImage / vmlinux: ${(med('bzimage', 'ready') / med('vmlinux', 'ready')).toFixed(2)}x to agent ready, ` +
        `${(med('bzimage', 'firstCell') / med('vmlinux', 'firstCell')).toFixed(2)}x to first cell`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
