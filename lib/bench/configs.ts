/**
 * Which mapping configurations the guest benchmark measures: pure, so the
 * list can be checked without a VM.
 *
 * Per size: the two anonymous baselines, then every allocator x method
 * pair the support table calls safe (the file-backed methods excepted:
 * they are measured by `mmaplab files`, and what they cost is writeback,
 * not mapping), with, for the fault method, the same pair with
 * fault-around, and with cache modes, the pfn methods' pairs again as
 * write-combining and uncached mappings.
 */
import { FAULT_METHODS, FILE_METHODS, PFN_METHODS, support } from '../device/support';
import { CELL_ALLOCS, type AllocName, type CacheName, CELL_METHODS, type CellMethodName } from '../experiments/types';
import type { Baseline } from './types';

/** One row of the map-cost table before it is measured. */
export interface MapCostConfig {
  /** null for a baseline. */
  alloc: AllocName | null;
  method: CellMethodName | Baseline;
  size: number;
  cache: CacheName;
  faultAround: boolean;
}

export const BASELINES: readonly Baseline[] = ['anon', 'anon_populate'];

/** The cache attributes measured beyond write-back when cacheModes is on. */
export const EXTRA_CACHE_MODES: readonly CacheName[] = ['wc', 'uc'];

export function isBaseline(method: CellMethodName | Baseline): method is Baseline {
  return (BASELINES as readonly string[]).includes(method);
}

const isIn = (list: readonly string[], m: string): boolean => list.includes(m);

/** The safe, non-file allocator x method pairs, in the catalogue's order. */
export function safePairs(): { alloc: AllocName; method: CellMethodName }[] {
  const out: { alloc: AllocName; method: CellMethodName }[] = [];
  for (const method of CELL_METHODS) {
    if (isIn(FILE_METHODS, method)) continue;
    for (const alloc of CELL_ALLOCS) {
      if (support(alloc, method) === 'safe') out.push({ alloc, method });
    }
  }
  return out;
}

/** Every configuration to measure for these sizes, size by size. */
export function mapCostConfigs(sizes: readonly number[], cacheModes: boolean): MapCostConfig[] {
  const out: MapCostConfig[] = [];
  for (const size of sizes) {
    for (const method of BASELINES) out.push({ alloc: null, method, size, cache: 'wb', faultAround: false });
    for (const { alloc, method } of safePairs()) {
      out.push({ alloc, method, size, cache: 'wb', faultAround: false });
      if (isIn(FAULT_METHODS, method)) out.push({ alloc, method, size, cache: 'wb', faultAround: true });
      if (cacheModes && isIn(PFN_METHODS, method)) {
        for (const cache of EXTRA_CACHE_MODES) out.push({ alloc, method, size, cache, faultAround: false });
      }
    }
  }
  return out;
}

/** A short name for progress lines: 'pages_array/fault_page/64K+fa', 'anon/2M'. */
export function configLabel(c: MapCostConfig): string {
  const MIB = 1 << 20;
  const size = c.size % MIB === 0 ? `${c.size / MIB}M` : c.size % 1024 === 0 ? `${c.size / 1024}K` : `${c.size}`;
  const parts = [c.alloc, c.method, size].filter((p) => p !== null);
  return `${parts.join('/')}${c.cache !== 'wb' ? `/${c.cache}` : ''}${c.faultAround ? '+fa' : ''}`;
}
