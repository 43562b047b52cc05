/**
 * The experiments mmaplab knows: every allocator x mapping method (at the
 * sizes that matter for that allocator), plus variants for cache attributes,
 * fault-around and freeing the buffer while mapped. The catalogue says
 * nothing about outcomes: that is the expectations table's job, and the
 * kernel's.
 */
import {
  BAR_REMAP_METHODS,
  COMPOUND_PAGE_ALLOCS,
  configHazard,
  FAULT_METHODS,
  OWN_PAGE_ALLOCS,
  PFN_METHODS,
  reservedIsHazard,
  support,
} from './support';
import {
  CELL_ALLOCS,
  CELL_METHODS,
  type AllocName,
  type BootProfile,
  type CacheName,
  type CellSpec,
  type CellMethodName,
  PLACEMENT_SCENARIOS,
  type Scenario,
  SCENARIOS,
} from './types';
import { PMD_SIZED_USES, type UseName, USES, useTitle } from './uses';

export const KIB = 1024;

/**
 * Sizes per allocator: kmalloc in both regimes (slab up to 8 KiB, whole
 * compound pages above); 16 KiB elsewhere (order 2 for block allocators:
 * several pages, so tail pages exist).
 */
export const SIZES: Record<AllocName, readonly number[]> = {
  kmalloc: [4 * KIB, 64 * KIB],
  vmalloc: [16 * KIB],
  vmalloc_user: [16 * KIB],
  pages_array: [16 * KIB],
  pages_comp: [16 * KIB],
  pages_split: [16 * KIB],
  pages_nocomp: [16 * KIB],
  dma_coherent: [16 * KIB],
  // The device's BAR is 2 MiB (lib/vm/qemu's DEVICE_BAR_BYTES): the placement size fits too.
  pci_bar: [16 * KIB],
  dma_device: [16 * KIB],
  shmem: [16 * KIB],
  dma_pages: [16 * KIB],
};

const MIB = 1024 * KIB;

/**
 * Besides each allocator's own sizes, the placement scenarios run at 2 MiB:
 * a PMD's worth, which the block allocators give as one PMD-sized
 * compound page, the one kind of page the core may map with a huge PMD.
 */
export const PLACEMENT_SIZE = 2 * MIB;

/** Every allocator x method pair the module maps without a hazard, allocator by allocator. */
export const SAFE_PAIRS: readonly (readonly [AllocName, CellMethodName])[] = CELL_ALLOCS.flatMap((a) =>
  CELL_METHODS.filter((m) => support(a, m) === 'safe').map((m) => [a, m] as const),
);

/**
 * One allocator per method that the method maps correctly: the pairs
 * that run every scenario beyond basic, and the size sweep.
 */
export const SCENARIO_PAIRS: readonly (readonly [AllocName, CellMethodName])[] = [
  ['pages_comp', 'remap_pfn_range'],
  ['vmalloc_user', 'remap_pfn_range'],
  ['pages_array', 'fault_page'],
  ['vmalloc_user', 'fault_page'],
  ['pages_array', 'vm_insert_page'],
  ['pages_array', 'vm_insert_pages'],
  ['pages_array', 'vm_map_pages'],
  ['vmalloc_user', 'remap_vmalloc_range'],
  ['pages_comp', 'vmf_insert_pfn'],
  ['pages_comp', 'vmf_insert_pfn_prot'],
  ['pages_array', 'vmf_insert_mixed'],
  ['dma_coherent', 'dma_mmap_coherent'],
  ['pci_bar', 'io_remap_pfn_range'],
  // The page cache's pages (a shmem object's) served by a fault handler, as GPU drivers' objects are.
  ['shmem', 'fault_page'],
];

/**
 * The scenarios that every SCENARIO_PAIRS pair runs, at 16 KiB: all but
 * basic (everywhere), the two that exist for particular hazards and the
 * placement ones (every safe pair runs those, see PLACEMENT_SIZE).
 */
export const PAIR_SCENARIOS: readonly Scenario[] = SCENARIOS.filter(
  (s) =>
    s !== 'basic' &&
    s !== 'write-first' &&
    s !== 'free-while-mapped' &&
    s !== 'use' &&
    !(PLACEMENT_SCENARIOS as readonly Scenario[]).includes(s),
);

/**
 * Allocators whose buffer has pages of its own to mark reserved: DMA memory
 * and the BAR have none the module hands out, a shmem object's pages are
 * the page cache's.
 */
export const RESERVABLE_ALLOCS: readonly AllocName[] = OWN_PAGE_ALLOCS;

/** The buffers freed with PG_reserved still set: order-0 pages (array, vmalloc) and high-order blocks (compound, large kmalloc). */
export const RESERVED_KEPT_BUFFERS: readonly (readonly [AllocName, number])[] = [
  ['pages_array', 16 * KIB],
  ['vmalloc_user', 16 * KIB],
  ['pages_comp', 16 * KIB],
  ['kmalloc', 64 * KIB],
];

/** The size every use runs at: several pages, below a pipe's 64 KiB. */
export const USE_SIZE = 16 * KIB;

/**
 * The boundaries a size crosses: one page, two pages (the largest slab
 * kmalloc), above 8 KiB (large kmalloc: compound pages), a high-order block,
 * 2 MiB (a PMD's worth, naturally aligned for the block allocators).
 */
export const SWEEP_SIZES: readonly number[] = [4 * KIB, 8 * KIB, 16 * KIB, 64 * KIB, 2 * MIB];

/** kmalloc's methods in the sweep: the ones it supports without a hazard. */
const KMALLOC_SWEEP_METHODS: readonly CellMethodName[] = [
  'remap_pfn_range',
  'vm_insert_page',
  'vm_insert_pages',
  'vm_map_pages',
  'vmf_insert_pfn',
];

function sizeLabel(n: number): string {
  if (n % MIB === 0) return `${n / MIB}M`;
  return n % KIB === 0 ? `${n / KIB}K` : `${n}B`;
}

export interface CellOptions {
  scenario?: Scenario;
  /** With scenario 'use' (implied when given). */
  use?: UseName;
  cache?: CacheName;
  faultAround?: boolean;
  reserved?: 'cleared' | 'kept';
  splittable?: boolean;
  via?: 'dmabuf';
}

export function cellId(alloc: AllocName, method: CellMethodName, size: number, o: CellOptions = {}): string {
  const parts = [alloc, method, sizeLabel(size), o.use !== undefined ? `use:${o.use}` : (o.scenario ?? 'basic')];
  if (o.cache && o.cache !== 'wb') parts.push(o.cache);
  if (o.faultAround) parts.push('fault-around');
  if (o.reserved !== undefined) parts.push(o.reserved === 'kept' ? 'reserved-kept' : 'reserved');
  if (o.splittable === true) parts.push('splittable');
  if (o.via === 'dmabuf') parts.push('dmabuf');
  return parts.join('/');
}

const SCENARIO_TITLES: Record<Scenario, string> = {
  basic: '',
  'write-first': 'written before read',
  'free-while-mapped': 'buffer freed while mapped',
  fork: 'a forked child writes',
  'private-write': 'MAP_PRIVATE then written',
  'partial-munmap': 'second page unmapped',
  'dontneed-retouch': 'madvise(DONTNEED) then read again',
  'mprotect-write': 'mprotect(PROT_READ) then written',
  'past-end': 'mapped one page past the buffer',
  'hint-2m': 'mapped at a 2 MiB-aligned hint, written by a child',
  'hint-1g': 'mapped at a 1 GiB-aligned hint, written by a child',
  'fixed-over': 'MAP_FIXED over part of a mapping of the same session, written by a child',
  'short-length': 'mapped 100 bytes short of the end, written by a child',
  use: '',
};

export function makeCell(alloc: AllocName, method: CellMethodName, size: number, o: CellOptions = {}): CellSpec {
  const scenario = o.use !== undefined ? 'use' : (o.scenario ?? 'basic');
  const profile: BootProfile = scenario === 'free-while-mapped' ? 'poison' : 'default';
  const extras = [
    o.cache && o.cache !== 'wb' ? `${o.cache} cache` : '',
    o.faultAround ? 'fault-around' : '',
    o.reserved === 'cleared' ? 'pages marked reserved, cleared before the free' : '',
    o.reserved === 'kept' ? 'pages left reserved when freed' : '',
    o.splittable === true ? 'VMA left splittable' : '',
    o.via === 'dmabuf' ? 'through a dma-buf of the buffer' : '',
  ]
    .filter((x) => x !== '')
    .join(', ');
  return {
    id: cellId(alloc, method, size, o),
    alloc,
    method,
    size,
    scenario,
    cache: o.cache ?? 'wb',
    faultAround: o.faultAround ?? false,
    profile,
    hazard: scenario === 'free-while-mapped' || configHazard(alloc, method, o) !== null,
    ...(o.use !== undefined ? { use: o.use } : {}),
    ...(o.reserved !== undefined ? { reserved: o.reserved } : {}),
    ...(o.splittable === true ? { splittable: true as const } : {}),
    ...(o.via === 'dmabuf' ? { via: 'dmabuf' as const } : {}),
    title:
      `${alloc} (${sizeLabel(size)}) mapped with ${method}` +
      (extras ? ` (${extras})` : '') +
      (o.use !== undefined ? `, then ${useTitle(o.use)}` : SCENARIO_TITLES[scenario] ? `, ${SCENARIO_TITLES[scenario]}` : ''),
  };
}

/** Every allocator x method at the allocator's sizes. */
function basicCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const alloc of CELL_ALLOCS) {
    for (const method of CELL_METHODS) {
      for (const size of SIZES[alloc]) cells.push(makeCell(alloc, method, size));
    }
  }
  return cells;
}

/**
 * Cache attributes where they mean something: the pfn-based methods (not
 * dma_mmap_pages, whose only memory the module does not retype), and on
 * the device's memory, where the memory type is the driver's to set up.
 */
function cacheCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const method of PFN_METHODS.filter((m) => m !== 'dma_mmap_pages')) {
    const alloc: AllocName =
      method === 'dma_mmap_coherent' ? 'dma_coherent' : method === 'remap_pfn_range_first_pfn' ? 'pages_array' : 'pages_comp';
    for (const cache of ['wc', 'uc'] as const) cells.push(makeCell(alloc, method, 16 * KIB, { cache }));
  }
  for (const method of PFN_METHODS.filter((m) => support('pci_bar', m) === 'safe')) {
    for (const cache of ['wc', 'uc'] as const) cells.push(makeCell('pci_bar', method, 16 * KIB, { cache }));
  }
  return cells;
}

/** Fault-around, for counting faults per mapping with and without it. */
function faultAroundCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const method of FAULT_METHODS) {
    for (const alloc of ['vmalloc_user', 'pages_array'] as const) {
      cells.push(makeCell(alloc, method, 64 * KIB, {}), makeCell(alloc, method, 64 * KIB, { faultAround: true }));
    }
  }
  return cells;
}

/**
 * The slab fault hazard with a write as the first touch of each page, and
 * the driver freeing its buffer while userspace still maps it.
 */
function hazardScenarioCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const size of SIZES.kmalloc.filter((n) => n <= 8192)) {
    cells.push(makeCell('kmalloc', 'fault_page', size, { scenario: 'write-first' }));
  }
  for (const [alloc, method] of [
    ['pages_comp', 'remap_pfn_range'],
    ['vmalloc_user', 'remap_vmalloc_range'],
    ['pages_array', 'vm_insert_page'],
    ['pages_comp', 'vmf_insert_pfn'],
  ] as const) {
    cells.push(makeCell(alloc, method, 16 * KIB, { scenario: 'free-while-mapped' }));
  }
  return cells;
}

/** Every scenario on one working allocator per method; then sizes across the boundaries, for the same pairs and for kmalloc. */
function scenarioAndSweepCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const [alloc, method] of SCENARIO_PAIRS) {
    for (const scenario of PAIR_SCENARIOS) cells.push(makeCell(alloc, method, 16 * KIB, { scenario }));
  }
  for (const size of SWEEP_SIZES) {
    for (const [alloc, method] of SCENARIO_PAIRS) cells.push(makeCell(alloc, method, size));
    for (const method of KMALLOC_SWEEP_METHODS) cells.push(makeCell('kmalloc', method, size));
  }
  return cells;
}

/**
 * Placement: every safe pair at its allocator's sizes and at 2 MiB; the
 * fault method also with fault-around (its VMA is VM_MIXEDMAP).
 */
function placementCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const [alloc, method] of SAFE_PAIRS) {
    const arounds = (FAULT_METHODS as readonly CellMethodName[]).includes(method) ? [false, true] : [false];
    for (const size of [...SIZES[alloc], PLACEMENT_SIZE]) {
      for (const scenario of PLACEMENT_SCENARIOS) {
        for (const faultAround of arounds) cells.push(makeCell(alloc, method, size, { scenario, faultAround }));
      }
    }
  }
  return cells;
}

/**
 * The reserved-page ritual of old drivers, as an A/B against the basic
 * cells: every safe pair whose allocator has pages of its own (not DMA
 * memory, not the file-backed methods) with SetPageReserved on every
 * page. On compound pages (kmalloc, pages_comp) the ritual is itself a
 * hazard, run once per buffer by remap_pfn_range. And, as hazards, the
 * flag left set at the free for an order-0 and a high-order buffer of
 * each kind.
 */
function reservedCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const [alloc, method] of SAFE_PAIRS.filter(([a]) => RESERVABLE_ALLOCS.includes(a) && !reservedIsHazard(a))) {
    for (const size of SIZES[alloc]) cells.push(makeCell(alloc, method, size, { reserved: 'cleared' }));
  }
  for (const alloc of COMPOUND_PAGE_ALLOCS) {
    for (const size of SIZES[alloc]) cells.push(makeCell(alloc, 'remap_pfn_range', size, { reserved: 'cleared' }));
  }
  for (const [alloc, size] of RESERVED_KEPT_BUFFERS) cells.push(makeCell(alloc, 'remap_pfn_range', size, { reserved: 'kept' }));
  return cells;
}

/**
 * A remapped BAR split by a partial munmap: refused by the module, and as
 * a hazard without that refusal, for each remap_pfn_range variant.
 */
function barSplitCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const method of BAR_REMAP_METHODS as readonly CellMethodName[]) {
    cells.push(
      makeCell('pci_bar', method, 16 * KIB, { scenario: 'partial-munmap' }),
      makeCell('pci_bar', method, 16 * KIB, { scenario: 'partial-munmap', splittable: true }),
    );
  }
  return cells;
}

/**
 * The same mappings made through a dma-buf of the buffer, as a GPU or
 * camera driver hands its memory out: every safe pair at its sizes, and
 * the scenarios of the scenario pairs. (The file-backed methods, which
 * the module refuses to export, are not matrix cells.)
 */
function dmabufCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const [alloc, method] of SAFE_PAIRS) {
    for (const size of SIZES[alloc]) cells.push(makeCell(alloc, method, size, { via: 'dmabuf' }));
  }
  for (const [alloc, method] of SCENARIO_PAIRS) {
    for (const scenario of PAIR_SCENARIOS) cells.push(makeCell(alloc, method, 16 * KIB, { scenario, via: 'dmabuf' }));
  }
  return cells;
}

/**
 * What programs do with a mapping: every use on one allocator per method;
 * the huge-page ones at 2 MiB on every safe pair, since there whether the
 * buffer is one PMD-sized block matters.
 */
function useCells(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const [alloc, method] of SCENARIO_PAIRS) {
    for (const use of USES.filter((u) => !PMD_SIZED_USES.includes(u))) cells.push(makeCell(alloc, method, USE_SIZE, { use }));
  }
  for (const [alloc, method] of SAFE_PAIRS) {
    for (const use of PMD_SIZED_USES) cells.push(makeCell(alloc, method, PLACEMENT_SIZE, { use }));
  }
  return cells;
}

/** The default matrix's cells in catalogue order, each id once (its first occurrence). */
function build(): CellSpec[] {
  const cells: CellSpec[] = [
    ...basicCells(),
    ...cacheCells(),
    ...faultAroundCells(),
    ...hazardScenarioCells(),
    ...scenarioAndSweepCells(),
    ...placementCells(),
    ...reservedCells(),
    ...barSplitCells(),
    ...dmabufCells(),
    ...useCells(),
  ];
  const seen = new Set<string>();
  return cells.filter((c) => (seen.has(c.id) ? false : (seen.add(c.id), true)));
}

/** The default matrix. */
export const CATALOGUE: readonly CellSpec[] = build();

/**
 * The rest of the full set of uses (--use-pairs all): every use that is not
 * about huge pages on every safe pair beyond SCENARIO_PAIRS, at USE_SIZE.
 */
function buildAllPairsUses(): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const [alloc, method] of SAFE_PAIRS) {
    if (SCENARIO_PAIRS.some(([a, m]) => a === alloc && m === method)) continue;
    for (const use of USES.filter((u) => !PMD_SIZED_USES.includes(u))) cells.push(makeCell(alloc, method, USE_SIZE, { use }));
  }
  return cells;
}

export const ALL_PAIRS_USE_CELLS: readonly CellSpec[] = buildAllPairsUses();

/** Every cell mmaplab knows: the default matrix, then the full set's extra use cells. */
export const FULL_CATALOGUE: readonly CellSpec[] = [...CATALOGUE, ...ALL_PAIRS_USE_CELLS];

/** Cells whose id contains any of the patterns (all cells for none). */
export function findCells(patterns: readonly string[]): CellSpec[] {
  if (patterns.length === 0) return [...CATALOGUE];
  return FULL_CATALOGUE.filter((c) => patterns.some((p) => c.id.includes(p)));
}
