/**
 * Which cells a matrix run takes: catalogue filters, then the shard.
 *
 * Filters: the values of one option are alternatives (--alloc kmalloc
 * --alloc vmalloc: either), different options must all match. The shard
 * is taken last, over the filtered list in catalogue order: the cell at
 * index k (0-based) belongs to shard (k mod n) + 1. So shards 1..n of the
 * same filters are disjoint, together are the whole selection, and differ in
 * size by at most one cell; every kernel of a shard runs the same cells.
 */
import { CATALOGUE, FULL_CATALOGUE } from '../experiments/catalogue';
import type { CellSpec } from '../experiments/types';
import { useFamily } from '../experiments/uses';
import { usageError, type CliOptions, type Shard } from './args';

export type CellFilter = Pick<
  CliOptions,
  'cells' | 'allocs' | 'methods' | 'scenarios' | 'uses' | 'useCells' | 'usePairs' | 'sizes' | 'hazards' | 'profiles'
>;

/** A use cell of one of the uses or use families named (any use cell for none). */
function matchesUse(c: CellSpec, wanted: readonly string[]): boolean {
  if (c.use === undefined) return wanted.length === 0;
  return wanted.length === 0 || wanted.includes(c.use) || wanted.includes(useFamily(c.use));
}

export function matchesFilter(c: CellSpec, f: CellFilter): boolean {
  const any = <T>(wanted: readonly T[], v: T): boolean => wanted.length === 0 || wanted.includes(v);
  return (
    (f.cells.length === 0 || f.cells.some((p) => c.id.includes(p))) &&
    any(f.allocs, c.alloc) &&
    any(f.methods, c.method) &&
    any(f.scenarios, c.scenario) &&
    any(f.sizes, c.size) &&
    any(f.profiles, c.profile) &&
    matchesUse(c, f.uses) &&
    (f.useCells === 'yes' || (f.useCells === 'only') === (c.scenario === 'use')) &&
    (f.hazards === 'yes' || (f.hazards === 'only') === c.hazard)
  );
}

/** The cells a selection starts from: the default matrix, or with --use-pairs all the full set. */
export function baseCatalogue(f: Pick<CellFilter, 'usePairs'>): readonly CellSpec[] {
  return f.usePairs === 'all' ? FULL_CATALOGUE : CATALOGUE;
}

export function filterCells(f: CellFilter, catalogue: readonly CellSpec[] = baseCatalogue(f)): CellSpec[] {
  return catalogue.filter((c) => matchesFilter(c, f));
}

/** The cells of shard i of n (see the file comment). */
export function shardCells<T>(cells: readonly T[], shard: Shard | null): T[] {
  if (shard === null) return [...cells];
  return cells.filter((_, k) => k % shard.count === shard.index - 1);
}

function sizeText(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)}M`;
  return n % 1024 === 0 ? `${n / 1024}K` : String(n);
}

/** The filter options as given, for messages ("--alloc kmalloc --size 16K"). */
export function describeFilter(f: CellFilter): string {
  const parts: string[] = [];
  for (const p of f.cells) parts.push(`--cell ${p}`);
  for (const a of f.allocs) parts.push(`--alloc ${a}`);
  for (const t of f.methods) parts.push(`--method ${t}`);
  for (const s of f.scenarios) parts.push(`--scenario ${s}`);
  for (const u of f.uses) parts.push(`--use ${u}`);
  if (f.useCells !== 'yes') parts.push(`--uses ${f.useCells}`);
  if (f.usePairs !== 'default') parts.push(`--use-pairs ${f.usePairs}`);
  for (const s of f.sizes) parts.push(`--size ${sizeText(s)}`);
  for (const p of f.profiles) parts.push(`--profile ${p}`);
  if (f.hazards !== 'yes') parts.push(`--hazards ${f.hazards}`);
  return parts.join(' ');
}

/** The matrix command's cells: filtered, then sharded; none is a usage error. */
export function selectCells(opts: CliOptions, catalogue: readonly CellSpec[] = baseCatalogue(opts)): CellSpec[] {
  const filtered = filterCells(opts, catalogue);
  if (filtered.length === 0) throw usageError(`no cell matches ${describeFilter(opts)}`, 'matrix');
  const mine = shardCells(filtered, opts.shard);
  if (mine.length === 0) {
    const s = opts.shard as Shard;
    throw usageError(`shard ${s.index}/${s.count} is empty: the selection has only ${filtered.length} cell(s)`, 'matrix');
  }
  return mine;
}
