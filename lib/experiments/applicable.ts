/**
 * Which cells can run on a kernel: a use cell whose use needs a kernel option
 * (uses.ts `requires`) is not applicable on a kernel built without it. The
 * THP-mode uses set /sys/kernel/mm/transparent_hugepage/enabled, which a
 * kernel without CONFIG_TRANSPARENT_HUGEPAGE (Debian's PREEMPT_RT ones) does
 * not have: run there, they could only end in an error.
 */
import { optionEnabled, type KernelConfig } from '../vm/kernel-config';
import type { CellSpec } from './types';
import { useRequires } from './uses';

/** Cells left out on one kernel for want of one option (it travels in report.json: ./schema defines it). */
export type { NotApplicable } from './schema';
import type { NotApplicable } from './schema';

export interface Applicable {
  cells: CellSpec[];
  notApplicable: NotApplicable[];
}

/**
 * The cells that can run on a kernel with this configuration; with no
 * configuration to read (null), every cell runs and the kernel shows what it has.
 */
export function applicableCells(cells: readonly CellSpec[], config: KernelConfig | null): Applicable {
  const run: CellSpec[] = [];
  const left = new Map<string, NotApplicable>();
  // Each option looked up once: a .config is a quarter of a megabyte, and a matrix has thousands of cells.
  const enabled = new Map<string, boolean>();
  const has = (option: string): boolean => {
    if (config === null) return true;
    const known = enabled.get(option);
    if (known !== undefined) return known;
    const now = optionEnabled(config, option);
    enabled.set(option, now);
    return now;
  };
  for (const c of cells) {
    const requires = c.use === undefined ? undefined : useRequires(c.use);
    if (requires === undefined || has(requires)) {
      run.push(c);
      continue;
    }
    const entry = left.get(requires) ?? { requires, uses: [], cells: [] };
    if (!entry.uses.includes(c.use as string)) entry.uses.push(c.use as string);
    entry.cells.push(c.id);
    left.set(requires, entry);
  }
  return { cells: run, notApplicable: [...left.values()] };
}

/** "498 cell(s) not applicable: no CONFIG_TRANSPARENT_HUGEPAGE (use:thp-always, use:thp-madvise, use:thp-never)". */
export function notApplicableLine(n: NotApplicable): string {
  return `${n.cells.length} cell(s) not applicable: no ${n.requires} (${n.uses.map((u) => `use:${u}`).join(', ')})`;
}
