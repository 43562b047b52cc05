/**
 * The experiments mmaplab knows. Each cell is one allocator x mapping method
 * x size x scenario; the catalogue says nothing about outcomes (that is the
 * expectations table's job, and the kernel's).
 */
import type { AllocName, CellSpec, MethodName, Scenario } from './types';

function kib(n: number): string {
  return n % 1024 === 0 ? `${n / 1024}K` : `${n}B`;
}

export function cellId(alloc: AllocName, method: MethodName, size: number, scenario: Scenario): string {
  return `${alloc}/${method}/${kib(size)}/${scenario}`;
}

function cell(
  alloc: AllocName,
  method: MethodName,
  size: number,
  hazard: boolean,
  title: string,
): CellSpec {
  return { id: cellId(alloc, method, size, 'basic'), alloc, method, size, scenario: 'basic', hazard, title };
}

export const CATALOGUE: readonly CellSpec[] = [
  cell(
    'vmalloc_user',
    'remap_vmalloc_range',
    64 * 1024,
    false,
    'vmalloc_user buffer mapped with remap_vmalloc_range',
  ),
  cell(
    'pages_nocomp',
    'fault_page',
    16 * 1024,
    true,
    'alloc_pages(order 2) without __GFP_COMP handed out by a fault handler with get_page',
  ),
];

export function findCells(patterns: readonly string[]): CellSpec[] {
  if (patterns.length === 0) return [...CATALOGUE];
  return CATALOGUE.filter((c) => patterns.some((p) => c.id.includes(p)));
}
