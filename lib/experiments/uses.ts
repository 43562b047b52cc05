/**
 * Uses: what a program does with a mapping of the device besides touching
 * it, each run as a cell against one allocator per method. A use cell
 * maps the buffer the kernel filled, reads it, then does its one thing and
 * checks the data again where the use moves data; its verdict comes from
 * the same evidence as every cell (refusal with its errno, signal, data,
 * kernel log), and an ok use also says what it found where there is
 * something to find (mincore's residency, the VMA's flags in smaps...).
 *
 * Families:
 * - kernel: the kernel or another process reaches the pages (the GUP
 *   users: process_vm_*, /proc/PID/mem, ptrace, vmsplice, splice, a shared
 *   futex) or copies to and from them (read/write of a pipe or socket, a
 *   private futex, O_DIRECT to and from a virtio disk, io_uring reads and
 *   writes, a registered io_uring buffer).
 * - space: address-space calls on the mapping (mremap, mlock, madvise
 *   advice by advice, mprotect, msync, mincore).
 * - placement: transparent huge pages, switched always / madvise / never,
 *   on a mapping at a 2 MiB-aligned address (these run at 2 MiB, on every
 *   safe pair: whether the buffer is one PMD-sized block matters).
 * - pressure: reclaim in a memory-limited cgroup while a process of it holds
 *   the mapping.
 * - observe: what the kernel shows about the mapping (smaps, pagemap,
 *   soft-dirty), and
 *   the tools that watch it (userfaultfd registration, a core dump).
 */

export const USE_FAMILIES = ['kernel', 'space', 'placement', 'observe', 'pressure'] as const;
export type UseFamily = (typeof USE_FAMILIES)[number];

interface UseEntry {
  family: UseFamily;
  /** What the program does, for people ("a debugger peeks every word with ptrace(PEEKDATA)"). */
  title: string;
  /**
   * A kernel option the use cannot run without: on a kernel built without it
   * the use's cells are not applicable and are not run (the report says so).
   * Only for uses that have nothing to observe there (no switch to set).
   */
  requires?: string;
}

/** Every use, in report order. */
export const USE_TABLE = {
  'pipe-read': { family: 'kernel', title: 'read(2) from a pipe into the mapping' },
  'pipe-write': { family: 'kernel', title: 'write(2) of the mapping into a pipe' },
  'socket-read': { family: 'kernel', title: 'read(2) from a unix socket into the mapping' },
  'socket-write': { family: 'kernel', title: 'write(2) of the mapping to a unix socket' },
  'process-vm-read': { family: 'kernel', title: 'another process reads it with process_vm_readv' },
  'process-vm-write': { family: 'kernel', title: 'another process writes it with process_vm_writev' },
  'proc-mem-read': { family: 'kernel', title: 'another process reads it through /proc/PID/mem' },
  'proc-mem-write': { family: 'kernel', title: 'another process writes it through /proc/PID/mem' },
  'ptrace-peek': { family: 'kernel', title: 'a debugger reads it with ptrace(PEEKDATA)' },
  'ptrace-poke': { family: 'kernel', title: 'a debugger writes it with ptrace(POKEDATA)' },
  vmsplice: { family: 'kernel', title: 'vmsplice(2) of the mapping into a pipe, read back' },
  splice: { family: 'kernel', title: 'vmsplice(2) into a pipe, splice(2) on to a file, read back' },
  'futex-shared': { family: 'kernel', title: 'a process-shared futex in the mapping: one process waits, another wakes it' },
  'futex-private': { family: 'kernel', title: 'a private futex wait on a word of the mapping' },
  'odirect-read': { family: 'kernel', title: 'read(2) with O_DIRECT from a virtio disk into the mapping' },
  'odirect-write': { family: 'kernel', title: 'write(2) with O_DIRECT of the mapping to a virtio disk, read back' },
  'io-uring-read': { family: 'kernel', title: 'io_uring IORING_OP_READ from a pipe into the mapping' },
  'io-uring-write': { family: 'kernel', title: 'io_uring IORING_OP_WRITE of the mapping into a pipe' },
  'io-uring-fixed': {
    family: 'kernel',
    title: 'the mapping registered as an io_uring fixed buffer (IORING_REGISTER_BUFFERS), then READ_FIXED from a pipe into it',
  },
  'mremap-shrink': { family: 'space', title: 'mremap(2) to half its length' },
  'mremap-grow': { family: 'space', title: 'mremap(2) one page longer (MREMAP_MAYMOVE), the new page touched' },
  'mremap-move': { family: 'space', title: 'mremap(2) moved to a free address (MREMAP_FIXED)' },
  'mremap-fixed': { family: 'space', title: 'mremap(2) moved over another mapping of the process (MREMAP_FIXED)' },
  'mremap-dontunmap': { family: 'space', title: 'mremap(2) with MREMAP_DONTUNMAP, the old range touched' },
  mlock: { family: 'space', title: 'mlock2(2) of the mapping, then munlock' },
  mlockall: { family: 'space', title: 'mlockall(MCL_CURRENT | MCL_ONFAULT) in a forked child holding the mapping, its smaps read' },
  'madv-free': { family: 'space', title: 'madvise(MADV_FREE)' },
  'madv-cold': { family: 'space', title: 'madvise(MADV_COLD)' },
  'madv-pageout': { family: 'space', title: 'madvise(MADV_PAGEOUT)' },
  'madv-willneed': { family: 'space', title: 'madvise(MADV_WILLNEED)' },
  'madv-populate-read': { family: 'space', title: 'madvise(MADV_POPULATE_READ)' },
  'madv-populate-write': { family: 'space', title: 'madvise(MADV_POPULATE_WRITE)' },
  'madv-dontfork': { family: 'space', title: 'madvise(MADV_DONTFORK), then a forked child reads the range' },
  'madv-wipeonfork': { family: 'space', title: 'madvise(MADV_WIPEONFORK)' },
  'madv-mergeable': { family: 'space', title: 'madvise(MADV_MERGEABLE) (KSM)' },
  'madv-hugepage': { family: 'space', title: 'madvise(MADV_HUGEPAGE)' },
  'madv-collapse': { family: 'space', title: 'madvise(MADV_COLLAPSE)' },
  'fork-exits-last': {
    family: 'space',
    title: 'a forked child keeps the mapping after the parent unmapped it, then writes through it and exits',
  },
  'mprotect-cycle': { family: 'space', title: 'mprotect(2) to read-only, none, read-write, then written' },
  'msync-sync': { family: 'space', title: 'msync(MS_SYNC)' },
  'msync-async': { family: 'space', title: 'msync(MS_ASYNC)' },
  'msync-invalidate': { family: 'space', title: 'msync(MS_ASYNC | MS_INVALIDATE)' },
  mincore: { family: 'space', title: 'mincore(2) after every page was read' },
  'thp-always': {
    family: 'placement',
    requires: 'CONFIG_TRANSPARENT_HUGEPAGE',
    title: 'transparent huge pages "always": mapped again at a 2 MiB-aligned address, read, then smaps FilePmdMapped',
  },
  'thp-madvise': {
    family: 'placement',
    requires: 'CONFIG_TRANSPARENT_HUGEPAGE',
    title: 'transparent huge pages "madvise", MADV_HUGEPAGE on a mapping at a 2 MiB-aligned address, read, then smaps',
  },
  'thp-never': {
    family: 'placement',
    requires: 'CONFIG_TRANSPARENT_HUGEPAGE',
    title: 'transparent huge pages "never": mapped again at a 2 MiB-aligned address, read, then smaps FilePmdMapped',
  },
  smaps: { family: 'observe', title: "/proc/self/smaps: the VMA's special flags and its Rss" },
  pagemap: { family: 'observe', title: "/proc/self/pagemap: present bits and pfns against the driver's own" },
  'pagemap-soft-dirty': {
    family: 'observe',
    title: 'soft-dirty tracking: clear_refs, pagemap, a write to every page, pagemap again',
  },
  'uffd-missing': { family: 'observe', title: 'userfaultfd registration of the mapping, missing mode' },
  'uffd-wp': { family: 'observe', title: 'userfaultfd registration of the mapping, write-protect mode' },
  'uffd-minor': { family: 'observe', title: 'userfaultfd registration of the mapping, minor mode' },
  'core-dump': {
    family: 'observe',
    title: 'a forked child dumps core, shared file mappings out of its coredump_filter (0x10, as by default): is the mapping in the core?',
  },
  'core-dump-shared': {
    family: 'observe',
    title: 'a forked child dumps core with shared file mappings in its coredump_filter (0x18): is the mapping in the core?',
  },
  'reclaim-pressure': {
    family: 'pressure',
    title:
      "a forked child holding the mapping reads a disk through a cgroup limited to 4 MiB, so the kernel reclaims under it; do the driver's pages move?",
  },
} as const satisfies Record<string, UseEntry>;

export type UseName = keyof typeof USE_TABLE;

export const USES = Object.keys(USE_TABLE) as UseName[];

export function isUse(name: string): name is UseName {
  return Object.hasOwn(USE_TABLE, name);
}

export function useFamily(name: UseName): UseFamily {
  return USE_TABLE[name].family;
}

export function useTitle(name: UseName): string {
  return USE_TABLE[name].title;
}

/** The kernel option a use cannot run without, if any. */
export function useRequires(name: UseName): string | undefined {
  const entry: UseEntry = USE_TABLE[name];
  return entry.requires;
}

/** The uses of a family, in report order. */
export function usesOf(family: UseFamily): UseName[] {
  return USES.filter((u) => USE_TABLE[u].family === family);
}

/** The uses that run at 2 MiB on every safe pair rather than at 16 KiB on the scenario pairs. */
export const PMD_SIZED_USES: readonly UseName[] = ['thp-always', 'thp-madvise', 'thp-never'];
