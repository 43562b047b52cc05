/**
 * Predictions for the use cells (./uses), written from the kernel's rules
 * for the VMA each method builds, before any run:
 *
 * - remap_pfn_range, dma_mmap_coherent, dma_mmap_pages, io_remap_pfn_range
 *   and vm_iomap_memory (remap_pfn_range underneath): VM_IO | VM_PFNMAP |
 *   VM_DONTEXPAND | VM_DONTDUMP, special PTEs with no struct page behind
 *   them as far as the core is concerned;
 * - vmf_insert_pfn and vmf_insert_pfn_prot (this module): VM_PFNMAP |
 *   VM_DONTEXPAND | VM_DONTDUMP;
 * - vmf_insert_mixed (this module): VM_MIXEDMAP | VM_DONTEXPAND |
 *   VM_DONTDUMP, but with special PTEs (x86-64 has pte_special): no struct
 *   page is touched and vm_normal_page finds none, so get_user_pages
 *   fails on them with EEXIST (follow_pfn_pte) where VM_PFNMAP is EFAULT;
 * - vm_insert_page, vm_insert_pages, vm_map_pages: VM_MIXEDMAP, ordinary
 *   reference-counted pages, no ->fault;
 * - remap_vmalloc_range: VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP;
 * - fault_page: VM_DONTEXPAND | VM_DONTDUMP, pages handed over by ->fault.
 *
 * Every one of them is VM_SPECIAL (VM_IO, VM_DONTEXPAND, VM_PFNMAP or
 * VM_MIXEDMAP), and none of the driver's pages is a page-cache or
 * anonymous page.
 */
import type { ExpectationRule } from './expectations';
import { BAR_REMAP_METHODS } from './support';
import type { CellSpec, CellMethodName } from './types';
import type { UseName } from './uses';

/** Methods whose VMA is VM_PFNMAP. */
const PFNMAP: readonly CellMethodName[] = [
  'remap_pfn_range',
  'io_remap_pfn_range',
  'vm_iomap_memory',
  'remap_pfn_range_first_pfn',
  'vmf_insert_pfn',
  'vmf_insert_pfn_prot',
  'dma_mmap_coherent',
  'dma_mmap_pages',
];
/** Methods whose VMA is VM_MIXEDMAP but whose PTEs are special (no struct page for the core). */
const SPECIAL_MIXED: readonly CellMethodName[] = ['vmf_insert_mixed'];
/** Methods whose VMA is VM_PFNMAP and VM_IO. */
const IO: readonly CellMethodName[] = [
  'remap_pfn_range',
  'remap_pfn_range_first_pfn',
  'dma_mmap_coherent',
  'dma_mmap_pages',
  'io_remap_pfn_range',
  'vm_iomap_memory',
];
/** Methods whose VMA is VM_MIXEDMAP. */
const MIXED: readonly CellMethodName[] = ['vm_insert_page', 'vm_insert_pages', 'vm_map_pages', 'remap_vmalloc_range', 'vmf_insert_mixed'];
/** Methods whose VMA this module leaves without VM_DONTEXPAND (the kernel helpers do not set it). */
const EXPANDABLE: readonly CellMethodName[] = ['vm_insert_page', 'vm_insert_pages', 'vm_map_pages'];

const pfnmap = (c: CellSpec): boolean => PFNMAP.includes(c.method);
const specialMixed = (c: CellSpec): boolean => SPECIAL_MIXED.includes(c.method);
/** No struct page behind the PTEs as far as the core is concerned (smaps Rss counts none). */
const specialPtes = (m: CellMethodName): boolean => PFNMAP.includes(m) || SPECIAL_MIXED.includes(m);
const using =
  (...uses: readonly UseName[]) =>
  (c: CellSpec): boolean =>
    c.scenario === 'use' && c.use !== undefined && uses.includes(c.use);
const both =
  (a: (c: CellSpec) => boolean, b: (c: CellSpec) => boolean) =>
  (c: CellSpec): boolean =>
    a(c) && b(c);

/** The VmFlags smaps shows for each method's VMA, of io, pf, de, dd, mm, in that order. */
export function predictedSmapsFlags(method: CellMethodName): string {
  const flags: string[] = [];
  if (IO.includes(method)) flags.push('io');
  if (PFNMAP.includes(method)) flags.push('pf');
  if (!EXPANDABLE.includes(method)) flags.push('de', 'dd');
  if (MIXED.includes(method)) flags.push('mm');
  return flags.join('+');
}

const GUP_USES: readonly UseName[] = ['process-vm-read', 'process-vm-write', 'vmsplice', 'splice'];
const REMOTE_USES: readonly UseName[] = ['proc-mem-read', 'proc-mem-write', 'ptrace-peek', 'ptrace-poke'];

export const USE_RULES: ExpectationRule[] = [
  // --- the kernel reaches the pages -------------------------------------
  {
    name: 'use-copy-through-page-tables',
    series: '*',
    matches: using('pipe-read', 'pipe-write', 'socket-read', 'socket-write', 'futex-private'),
    verdict: 'ok',
    reason:
      'read(2), write(2) and a private futex copy to and from the user address with copy_to_user/get_user: ' +
      "the CPU walks the page tables as for the program's own access, faulting in through the driver where needed",
  },
  {
    name: 'use-gup-refuses-pfnmap',
    series: '*',
    matches: both(using(...GUP_USES), pfnmap),
    verdict: 'refused',
    detail: 'EFAULT',
    reason:
      'process_vm_readv/writev and vmsplice take the pages with get_user_pages, which refuses VM_IO and VM_PFNMAP ' +
      'VMAs (check_vma_flags) and cannot use special PTEs: EFAULT',
  },
  {
    name: 'use-gup-special-mixed-remote-pin',
    series: '*',
    matches: both(using('process-vm-read', 'process-vm-write'), specialMixed),
    verdict: 'refused',
    detail: 'EFAULT',
    reason:
      "process_vm_readv/writev pin the other process's pages with pin_user_pages_remote and turn any failure into " +
      'EFAULT; the pin fails because vm_normal_page finds no page behind a special PTE (follow_pfn_pte: EEXIST)',
  },
  {
    name: 'use-gup-special-mixed',
    series: '*',
    matches: both(using('vmsplice', 'splice', 'odirect-read', 'odirect-write', 'io-uring-fixed', 'futex-shared'), specialMixed),
    verdict: 'refused',
    detail: 'EEXIST',
    reason:
      "a VM_MIXEDMAP VMA passes get_user_pages' VMA check, but its PTEs are special and vm_normal_page finds no page: " +
      "follow_pfn_pte answers EEXIST, and vmsplice, the bio of a direct read or write, io_uring's pin of a fixed " +
      "buffer and the futex key all return that error as it is (6.1's io_uring check for file VMAs comes after the pin)",
  },
  {
    name: 'use-remote-access-pfnmap',
    series: '*',
    matches: both(using(...REMOTE_USES), (c) => pfnmap(c) || specialMixed(c)),
    verdict: 'refused',
    detail: 'EIO',
    reason:
      '/proc/PID/mem and ptrace go through access_remote_vm: get_user_pages fails on a VM_PFNMAP VMA or a special ' +
      'PTE and the ' +
      'fallback is vm_ops->access, which this driver (like most) does not provide (generic_access_phys would): ' +
      'nothing is copied, and the caller gets EIO - a debugger cannot read or write such a mapping',
  },
  {
    name: 'use-gup-pages',
    series: '*',
    matches: using(...GUP_USES, ...REMOTE_USES),
    verdict: 'ok',
    reason:
      'the PTEs point at ordinary reference-counted pages (vm_normal_page finds them in a VM_MIXEDMAP VMA too), ' +
      'so get_user_pages takes them like any user page and the other process or the pipe sees the same data',
  },
  {
    name: 'use-odirect-refuses-pfnmap',
    series: '*',
    matches: both(using('odirect-read', 'odirect-write'), pfnmap),
    verdict: 'refused',
    detail: 'EFAULT',
    reason:
      'direct I/O to a block device takes the user pages for the bio (get_user_pages_fast on 6.1, ' +
      'pin_user_pages_fast on 6.12), which refuse VM_PFNMAP: nothing moves and read/write answers EFAULT',
  },
  {
    name: 'use-odirect-pages',
    series: '*',
    matches: using('odirect-read', 'odirect-write'),
    verdict: 'ok',
    reason:
      'the bio takes the ordinary pages behind the PTEs (faulted in through ->fault where needed); without ' +
      "FOLL_LONGTERM no dirty-tracking rule applies, so the disk reads into and writes from the driver's memory",
  },
  {
    name: 'use-io-uring-copies',
    series: '*',
    matches: using('io-uring-read', 'io-uring-write'),
    verdict: 'ok',
    reason:
      'a plain io_uring read or write of a pipe copies with copy_to_user/copy_from_user (in an io-wq worker that ' +
      'shares the mm on 6.1, inline on 6.12), through the page tables like read(2) and write(2)',
  },
  {
    name: 'use-io-uring-fixed-refuses-pfnmap',
    series: '*',
    matches: both(using('io-uring-fixed'), pfnmap),
    verdict: 'refused',
    detail: 'EFAULT',
    reason: 'registering a fixed buffer pins its pages long-term with pin_user_pages, which refuses VM_PFNMAP: EFAULT',
  },
  {
    name: 'use-io-uring-fixed-refuses-file-6.1',
    series: '6.1',
    matches: using('io-uring-fixed'),
    verdict: 'refused',
    detail: 'EOPNOTSUPP',
    reason:
      "6.1's io_pin_pages pins the pages, then refuses any file-backed VMA that is not shmem or hugetlbfs " +
      '("don\'t support file backed memory"): a mapping of a device is one, so EOPNOTSUPP',
  },
  {
    name: 'use-io-uring-fixed-pins',
    series: '*',
    matches: using('io-uring-fixed'),
    verdict: 'ok',
    reason:
      'from 6.4 io_uring leaves the decision to GUP: a long-term pin of a shared file mapping is allowed when the ' +
      "VMA needs no dirty tracking, and a device's (no page_mkwrite, a backing device without writeback) does not; " +
      'the pinned pages take the read',
  },
  {
    name: 'use-shared-futex-needs-file-or-anon-page',
    series: '*',
    matches: using('futex-shared'),
    verdict: 'refused',
    detail: 'EFAULT',
    reason:
      'a process-shared futex is keyed by the page: get_futex_key wants an anonymous page or a page-cache page ' +
      '(page->mapping); a driver page is neither (and a VM_PFNMAP VMA has no page for get_user_pages_fast), ' +
      'so FUTEX_WAKE answers EFAULT and a PTHREAD_PROCESS_SHARED mutex cannot live in driver memory',
    observed: [
      {
        series: '*',
        verdict: 'ok',
        detail: 'woken',
        only: (c) => c.alloc === 'shmem',
        note:
          "seen on both series (2026-12-03, shmem/fault_page): a shmem object's page is a page-cache page, so " +
          "get_futex_key keys the futex by the object's inode and the page index, whatever VMA maps it; the " +
          "prediction, written for driver pages, did not single the page cache's pages out",
      },
    ],
  },
  // --- address-space calls -----------------------------------------------
  {
    name: 'use-mremap-shrink-bar-unsplittable',
    series: '*',
    matches: both(using('mremap-shrink'), (c) => c.alloc === 'pci_bar' && (BAR_REMAP_METHODS as readonly string[]).includes(c.method)),
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      "shrinking unmaps the tail, which splits the VMA; the module's ->may_split refuses that for a BAR a " +
      'remap_pfn_range variant mapped (x86 PAT would free its memtype by the pieces), so mremap fails with -EINVAL',
  },
  {
    name: 'use-mremap-shrink',
    series: '*',
    matches: using('mremap-shrink'),
    verdict: 'ok',
    reason: 'shrinking is an munmap of the tail, allowed for any VMA; the rest keeps mapping the buffer',
  },
  {
    name: 'use-mremap-grow-refused',
    series: '*',
    matches: both(using('mremap-grow'), (c) => !EXPANDABLE.includes(c.method)),
    verdict: 'refused',
    detail: 'EFAULT',
    reason: 'mremap refuses to grow a VM_DONTEXPAND or VM_PFNMAP VMA (vma_to_resize): EFAULT',
  },
  {
    name: 'use-mremap-grow-sigbus',
    series: '*',
    matches: using('mremap-grow'),
    verdict: 'user-signal',
    detail: 'SIGBUS',
    reason:
      'vm_insert_page and friends do not set VM_DONTEXPAND, so mremap grows the VMA past the buffer; the new page ' +
      'has no PTE and the VMA no ->fault: touching it is SIGBUS (a driver should set VM_DONTEXPAND itself)',
  },
  {
    name: 'use-mremap-move',
    series: '*',
    matches: using('mremap-move', 'mremap-fixed'),
    verdict: 'ok',
    reason:
      'moving a VMA (MREMAP_FIXED, same length) moves its page table entries, special or not, and calls ->open on ' +
      'the copy: the moved mapping shows the same buffer',
  },
  {
    name: 'use-mremap-dontunmap-refused',
    series: '*',
    matches: both(using('mremap-dontunmap'), (c) => !EXPANDABLE.includes(c.method)),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'MREMAP_DONTUNMAP refuses VM_DONTEXPAND and VM_PFNMAP VMAs: EINVAL',
  },
  {
    name: 'use-mremap-dontunmap-empty-old-range',
    series: '*',
    matches: using('mremap-dontunmap'),
    verdict: 'ok',
    detail: 'old-range-sigbus',
    reason:
      'MREMAP_DONTUNMAP moves the entries and leaves the old VMA empty; with no ->fault, a touch of the old range ' +
      'is SIGBUS while the new one shows the buffer',
  },
  {
    name: 'use-mlock-special',
    series: '*',
    matches: using('mlock', 'mlockall'),
    verdict: 'ok',
    detail: 'not-locked',
    reason:
      'mlock skips VM_SPECIAL VMAs (mlock_fixup) and still answers 0: every method here is VM_SPECIAL, so the ' +
      'VMA never becomes VM_LOCKED (smaps shows no "lo") - the pages stay because the driver holds them, not because of mlock',
  },
  {
    name: 'use-madv-anonymous-only',
    series: '*',
    matches: using('madv-free', 'madv-wipeonfork'),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'MADV_FREE and MADV_WIPEONFORK are for private anonymous memory only: EINVAL on any file or shared VMA',
  },
  {
    name: 'use-madv-lru-refuses-pfnmap',
    series: '*',
    matches: both(using('madv-cold', 'madv-pageout'), pfnmap),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'MADV_COLD and MADV_PAGEOUT refuse VM_PFNMAP VMAs (can_madv_lru_vma): EINVAL',
  },
  {
    name: 'use-madv-lru-skips-driver-pages',
    series: '*',
    matches: using('madv-cold', 'madv-pageout'),
    verdict: 'ok',
    reason:
      "reclaim hints only act on pages on an LRU list; a driver's pages are on none, so nothing is deactivated " +
      'or paged out and the data stays',
  },
  {
    name: 'use-madv-populate-refuses-pfnmap',
    series: '*',
    matches: both(using('madv-populate-read', 'madv-populate-write'), pfnmap),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'MADV_POPULATE_* fault in through get_user_pages, which refuses VM_IO/VM_PFNMAP; madvise reports it as EINVAL',
  },
  {
    name: 'use-madv-populate',
    series: '*',
    matches: using('madv-populate-read', 'madv-populate-write'),
    verdict: 'ok',
    reason: "populating faults in (or finds) the driver's pages like a touch of every page",
  },
  {
    name: 'use-madv-dontfork',
    series: '*',
    matches: using('madv-dontfork'),
    verdict: 'ok',
    detail: 'not-inherited',
    reason: 'MADV_DONTFORK sets VM_DONTCOPY on any VMA (only MADV_DOFORK refuses VM_IO): a forked child has no mapping there',
  },
  {
    name: 'use-madv-collapse-refused',
    series: '*',
    matches: using('madv-collapse'),
    verdict: 'refused',
    detail: 'EINVAL',
    reason: 'MADV_COLLAPSE refuses VMAs khugepaged may not touch, and every VM_SPECIAL VMA is one: EINVAL',
  },
  {
    name: 'use-madv-hints-accepted',
    series: '*',
    matches: using('madv-willneed', 'madv-mergeable', 'madv-hugepage'),
    verdict: 'ok',
    reason:
      'WILLNEED of a file VMA asks the file for readahead and ignores its answer; MERGEABLE returns 0 without ' +
      'marking a shared or special VMA; HUGEPAGE only sets a flag: all answer 0 and change nothing the driver maps',
  },
  {
    name: 'use-fork-exits-last',
    series: '*',
    matches: using('fork-exits-last'),
    verdict: 'ok',
    reason:
      "a forked child's copy of a MAP_SHARED VMA (->open counted it) maps the same buffer on its own: it outlives " +
      "the parent's munmap, the child's writes reach the driver, and its exit takes the last VMA down cleanly",
  },
  {
    name: 'use-mprotect-cycle',
    series: '*',
    matches: using('mprotect-cycle'),
    verdict: 'ok',
    reason:
      "mprotect changes the PTEs' protection in place; back at read-write, a write fault on a shared VMA without " +
      'page_mkwrite/pfn_mkwrite just makes the entry writable again',
  },
  {
    name: 'use-msync-sync-needs-fsync',
    series: '*',
    matches: using('msync-sync'),
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      "MS_SYNC on a shared file VMA calls the file's ->fsync; this driver's fsync only syncs the file-backed " +
      "methods' store and refuses the rest with EINVAL (a driver without ->fsync gets EINVAL from the VFS)",
  },
  {
    name: 'use-msync-async',
    series: '*',
    matches: using('msync-async', 'msync-invalidate'),
    verdict: 'ok',
    reason: 'MS_ASYNC is a no-op since 2.6.19, and MS_INVALIDATE only refuses locked VMAs: 0',
  },
  {
    name: 'use-mincore-pfnmap',
    series: '*',
    matches: both(using('mincore'), pfnmap),
    verdict: 'ok',
    detail: 'resident-none',
    reason:
      "mincore walks the page tables but skips VM_PFNMAP VMAs as holes, then asks the file's page cache, where " +
      "the driver's memory is not: every page reported not resident although every one is mapped",
  },
  {
    name: 'use-mincore-pages',
    series: '*',
    matches: using('mincore'),
    verdict: 'ok',
    detail: 'resident-all',
    reason: 'present PTEs count as resident: every page was read before the call',
  },
  // --- observers ----------------------------------------------------------
  {
    name: 'use-pagemap-pfnmap',
    series: '*',
    matches: both(using('pagemap'), pfnmap),
    verdict: 'ok',
    detail: 'not-present',
    reason: 'the page walker skips VM_PFNMAP VMAs, so pagemap reports holes: no pfn is shown for a mapped page',
  },
  {
    name: 'use-pagemap-pages',
    series: '*',
    matches: using('pagemap'),
    verdict: 'ok',
    detail: 'present-pfns-match',
    reason: "present PTEs of ordinary pages: pagemap shows them present with the driver's own pfns (read as root)",
  },
  {
    name: 'use-thp-fault-compound-6.1',
    series: '6.1',
    matches: both(using('thp-always', 'thp-madvise', 'thp-never'), (c) => c.method === 'fault_page' && c.alloc === 'pages_comp'),
    verdict: 'ok',
    detail: 'pmd-mapped',
    reason:
      "6.1's finish_fault hands a PMD-order compound page to do_set_pmd, which checks only the alignment of the " +
      "VMA and the page's order, never the THP switch or MADV_*HUGEPAGE: at a 2 MiB-aligned address one PMD maps " +
      'the block, in every mode (smaps FilePmdMapped)',
  },
  {
    name: 'use-thp-pte-mapped',
    series: '*',
    matches: using('thp-always', 'thp-madvise', 'thp-never'),
    verdict: 'ok',
    detail: 'pte-mapped',
    reason:
      'only a fault handler over one PMD-order block can be PMD-mapped (pfn and insert methods write PTEs one ' +
      "by one), and on 6.12 finish_fault no longer maps a file folio past i_size with a PMD (a device inode's " +
      'i_size is 0): PTE-mapped whatever the THP switch says',
  },
  {
    name: 'use-soft-dirty-pfnmap',
    series: '*',
    matches: both(using('pagemap-soft-dirty'), pfnmap),
    verdict: 'ok',
    detail: 'not-present',
    reason: 'the page walks of clear_refs and pagemap skip VM_PFNMAP VMAs: no page, so no soft-dirty bit, is ever shown',
  },
  {
    name: 'use-soft-dirty-tracked',
    series: '*',
    matches: using('pagemap-soft-dirty'),
    verdict: 'ok',
    detail: 'tracked',
    reason:
      'clear_refs write-protects the PTEs and clears their soft-dirty bits; the next write faults, and the fault ' +
      'makes the entry dirty, which on x86 sets soft-dirty again: every written page shows it',
  },
  {
    name: 'use-uffd-anon-shmem-hugetlb-only',
    series: '*',
    matches: using('uffd-missing', 'uffd-wp', 'uffd-minor'),
    verdict: 'refused',
    detail: 'EINVAL',
    reason:
      'userfaultfd registers only anonymous, shmem and hugetlbfs VMAs (vma_can_userfault; minor mode only the ' +
      "last two); a VMA with the driver's vm_ops is none of them: EINVAL in every mode",
  },
  {
    name: 'use-core-dump-filter-off',
    series: '*',
    matches: using('core-dump'),
    verdict: 'ok',
    detail: 'not-dumped',
    reason:
      'a shared file mapping is dumped only with bit 3 of coredump_filter (off by default, and in 0x10); the ' +
      'segment is in the core with no bytes',
  },
  {
    name: 'use-core-dump-dontdump',
    series: '*',
    matches: both(using('core-dump-shared'), (c) => !EXPANDABLE.includes(c.method)),
    verdict: 'ok',
    detail: 'not-dumped',
    reason: 'VM_DONTDUMP (and VM_IO) are checked before the filter: these VMAs are never dumped, whatever the filter',
  },
  {
    name: 'use-core-dump-mixedmap',
    series: '*',
    matches: using('core-dump-shared'),
    verdict: 'ok',
    detail: 'dumped',
    reason:
      'vm_insert_page and friends leave the VMA without VM_DONTDUMP, so with bit 3 set the whole mapping is ' +
      "dumped, the driver's data read page by page through get_dump_page",
  },
  {
    name: 'use-reclaim-skips-driver-pages',
    series: '*',
    matches: using('reclaim-pressure'),
    verdict: 'ok',
    detail: 'unmoved',
    reason:
      "reclaim works on the pages of its LRU lists, and a driver's pages are on none (nor charged to the cgroup): " +
      'under pressure the mapping keeps the same pages and the same data, whatever the method',
  },
  ...(
    [
      'remap_pfn_range',
      'vmf_insert_pfn',
      'vmf_insert_pfn_prot',
      'vmf_insert_mixed',
      'dma_mmap_coherent',
      'io_remap_pfn_range',
      'vm_iomap_memory',
      'vm_insert_page',
      'vm_insert_pages',
      'vm_map_pages',
      'remap_vmalloc_range',
      'fault_page',
    ] as const
  ).map((method): ExpectationRule => ({
    name: `use-smaps-${method}`,
    series: '*',
    matches: both(using('smaps'), (c) => c.method === method),
    verdict: 'ok',
    detail: `${predictedSmapsFlags(method)} rss-${specialPtes(method) ? 'none' : 'all'}`,
    reason:
      `${method} leaves the VMA ${predictedSmapsFlags(method).replace(/\+/g, ' ')} in VmFlags; Rss counts the pages ` +
      'vm_normal_page finds, which are none behind special PTEs and all of them otherwise',
  })),
];
