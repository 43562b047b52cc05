/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mmaplab: userspace interface of /dev/mmaplab.
 *
 * This header is the only definition of the ioctl numbers and structure
 * layouts. The kernel module and the Node-API addon both include it; the
 * TypeScript side reads the numbers back from the addon and a unit test
 * checks its own layout description against them.
 *
 * Session model: every open file is an independent session. CONFIGURE picks
 * an allocator, a mapping method and a size and allocates the buffer; mmap()
 * then maps that buffer with that method. FILL and VERIFY write and check a
 * seeded pattern from the kernel side, so data can be checked both ways.
 */
#ifndef _UAPI_LINUX_MMAPLAB_H
#define _UAPI_LINUX_MMAPLAB_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MMAPLAB_DEVICE_NAME	"mmaplab"

/*
 * Where the buffer's memory comes from. Zero is never valid; values are
 * never renumbered.
 */
enum mmaplab_alloc {
	/* vmalloc_user(): virtually contiguous, zeroed, VM_USERMAP set */
	MMAPLAB_ALLOC_VMALLOC_USER = 1,
	/*
	 * One alloc_pages(order >= 1) block *without* __GFP_COMP: the tail
	 * pages have a zero refcount. Hazard with every method.
	 */
	MMAPLAB_ALLOC_PAGES_NOCOMP = 2,
	/*
	 * kmalloc(size): slab-backed up to 8 KiB (KMALLOC_MAX_CACHE_SIZE),
	 * whole compound pages from the page allocator above. Page-aligned
	 * (over-allocating and aligning if kmalloc did not align it).
	 */
	MMAPLAB_ALLOC_KMALLOC = 3,
	/* vmalloc(): virtually contiguous, no VM_USERMAP */
	MMAPLAB_ALLOC_VMALLOC = 4,
	/* an array of independent order-0 alloc_pages() pages */
	MMAPLAB_ALLOC_PAGES_ARRAY = 5,
	/* one alloc_pages(__GFP_COMP, order) compound block */
	MMAPLAB_ALLOC_PAGES_COMP = 6,
	/* one alloc_pages(order) block made independent pages by split_page() */
	MMAPLAB_ALLOC_PAGES_SPLIT = 7,
	/* dma_alloc_coherent() on the misc device (DMA mask set like a platform driver) */
	MMAPLAB_ALLOC_DMA_COHERENT = 8,
	/*
	 * A real device's memory: BAR 2 of the PCI device the module drives
	 * (QEMU's ivshmem-plain, memory that the host sees in a file), from
	 * its start. No struct pages, one session at a time; -ENODEV without
	 * the device.
	 */
	MMAPLAB_ALLOC_PCI_BAR = 9,
	/*
	 * dma_alloc_coherent() for the PCI device the module has do DMA
	 * (QEMU's edu: the memory comes from what its DMA engine reaches, 32
	 * bits in mmaplab's VMs, else 28), so DEVICE_DMA can have the device
	 * read and write it. -ENODEV without the device.
	 */
	MMAPLAB_ALLOC_DMA_DEVICE = 10,
	/*
	 * An object of the kernel's shmem filesystem, as GPU drivers back
	 * their buffer objects (DRM GEM shmem): shmem_file_setup(), then
	 * every page read in and held with shmem_read_mapping_page(). The
	 * pages are page-cache pages (page->mapping is the object's), not
	 * the driver's own: they cannot be marked reserved.
	 */
	MMAPLAB_ALLOC_SHMEM = 11,
	/*
	 * dma_alloc_pages() for the DMA device (as DMA_DEVICE's, within its
	 * reach): the non-coherent DMA API's buffer, which DEVICE_DMA hands to
	 * the device and takes back with dma_sync_single_for_device() and
	 * _for_cpu(). The DMA API refuses __GFP_COMP: above one page it is a
	 * block whose tail pages have a zero refcount. -ENODEV without the
	 * device.
	 */
	MMAPLAB_ALLOC_DMA_PAGES = 12,
	MMAPLAB_ALLOC_COUNT
};

/*
 * How mmap() exposes the buffer. Zero is never valid; values are never
 * renumbered. "Hazard" methods reproduce a documented mistake and need
 * allow_hazards=1 and CAP_SYS_ADMIN.
 */
enum mmaplab_method {
	/* remap_vmalloc_range() at mmap time; the kernel wants VM_USERMAP memory */
	MMAPLAB_METHOD_REMAP_VMALLOC_RANGE = 1,
	/*
	 * ->fault returns vmf->page after get_page() (the "nopage" method),
	 * the page found as the allocator requires (vmalloc_to_page, the page
	 * array, page + index). With kmalloc memory it uses virt_to_page:
	 * hazard (the documented "not for kmalloc" claim).
	 */
	MMAPLAB_METHOD_FAULT_PAGE = 2,
	/*
	 * remap_pfn_range(): one call over the whole buffer for physically
	 * contiguous memory, one per page (vmalloc_to_pfn, page array) otherwise.
	 */
	MMAPLAB_METHOD_REMAP_PFN_RANGE = 3,
	/* hazard: one remap_pfn_range of the first pfn over a non-contiguous buffer */
	MMAPLAB_METHOD_REMAP_PFN_RANGE_FIRST_PFN = 4,
	/* hazard: the fault method without get_page() */
	MMAPLAB_METHOD_FAULT_PAGE_NOREF = 5,
	/* hazard: the fault method with virt_to_page() on a vmalloc address */
	MMAPLAB_METHOD_FAULT_VIRT_TO_PAGE = 6,
	/* vm_insert_page() for every page at mmap time */
	MMAPLAB_METHOD_VM_INSERT_PAGE = 7,
	/* vm_insert_pages(), one batched call at mmap time */
	MMAPLAB_METHOD_VM_INSERT_PAGES = 8,
	/* vm_map_pages() over the buffer's page array at mmap time */
	MMAPLAB_METHOD_VM_MAP_PAGES = 9,
	/* ->fault calls vmf_insert_pfn() in a VM_PFNMAP mapping */
	MMAPLAB_METHOD_VMF_INSERT_PFN = 10,
	/* dma_mmap_coherent() of a DMA_COHERENT buffer */
	MMAPLAB_METHOD_DMA_MMAP_COHERENT = 11,
	/*
	 * The device as a file in the page cache. The session's file gets its
	 * own address_space (an inode on the module's internal pseudo-
	 * filesystem, with a writeback-capable backing_dev_info); faults go
	 * through filemap_fault/filemap_map_pages and a page_mkwrite that
	 * dirties the page. The buffer (VMALLOC only) is the backing store,
	 * "the network": ->read_folio copies from it, writeback copies dirty
	 * pages to it and records when and by which path each page arrived.
	 */
	MMAPLAB_METHOD_PAGE_CACHE = 12,
	/*
	 * Deferred I/O, as fbdev's fb_defio: the buffer (VMALLOC or
	 * VMALLOC_USER, "the screen") is mapped page by page from ->fault;
	 * page_mkwrite records the first write to each page and schedules a
	 * flush delay_ms later, which write-protects the dirty pages again and
	 * copies them to a separate backing store in one batch. page->mapping
	 * is set for the write-protect walk and cleared before the free.
	 */
	MMAPLAB_METHOD_DEFERRED_IO = 13,
	/* hazard: DEFERRED_IO that leaves page->mapping set when the buffer is freed */
	MMAPLAB_METHOD_DEFERRED_IO_KEEP_MAPPING = 14,
	/*
	 * ->fault calls vmf_insert_mixed() with the page's pfn in a
	 * VM_MIXEDMAP VMA: on architectures with special PTEs (x86-64) the
	 * PTE is special and no struct page is touched, as for
	 * VMF_INSERT_PFN, but the VMA is not VM_PFNMAP (MAP_PRIVATE works:
	 * the core copies on write from the user address).
	 */
	MMAPLAB_METHOD_VMF_INSERT_MIXED = 15,
	/*
	 * ->fault calls vmf_insert_pfn_prot() with the cache attribute in the
	 * pgprot it passes, the VMA's own vm_page_prot left as the core made
	 * it (VMF_INSERT_PFN puts the attribute in vm_page_prot instead).
	 */
	MMAPLAB_METHOD_VMF_INSERT_PFN_PROT = 16,
	/*
	 * io_remap_pfn_range() of the whole range at mmap time, as drivers
	 * map device memory (on x86-64: remap_pfn_range with the page
	 * protection pgprot_decrypted). Physically contiguous memory only.
	 */
	MMAPLAB_METHOD_IO_REMAP_PFN_RANGE = 17,
	/*
	 * vm_iomap_memory(vma, physical start, length of the buffer): the
	 * helper that checks the VMA's offset and length against the region
	 * itself, then calls io_remap_pfn_range. Contiguous memory only.
	 */
	MMAPLAB_METHOD_VM_IOMAP_MEMORY = 18,
	/*
	 * dma_mmap_pages(): the DMA API's mapping of a dma_alloc_pages()
	 * buffer (one remap_pfn_range of the block, honouring vm_pgoff).
	 */
	MMAPLAB_METHOD_DMA_MMAP_PAGES = 19,
	MMAPLAB_METHOD_COUNT
};

/*
 * Page-table cache attribute of the mapping (pfn-based methods only). The
 * module gives the memory the same type first, as a driver must: RAM is
 * retyped (set_memory_wc/uc), PCI_BAR is mapped for the module with
 * ioremap_cache (WB), ioremap_wc after arch_io_reserve_memtype_wc and
 * arch_phys_wc_add (WC), or ioremap (UC).
 */
enum mmaplab_cache {
	MMAPLAB_CACHE_WB = 0,		/* write-back: the default */
	MMAPLAB_CACHE_WC = 1,		/* pgprot_writecombine */
	MMAPLAB_CACHE_UC = 2,		/* pgprot_noncached */
	MMAPLAB_CACHE_COUNT
};

/* CONFIGURE flags */
/* fault methods: also install ->map_pages (fault-around) */
#define MMAPLAB_CF_FAULT_AROUND		(1U << 0)
/*
 * SetPageReserved on every page of the buffer once it is allocated, and
 * ClearPageReserved before it is freed, as old drivers do "so that mmap
 * works". Allocators with pages of their own only, not the file-backed
 * methods. A hazard for KMALLOC and PAGES_COMP: their pages are parts of
 * compound pages (a slab, a __GFP_COMP block), where PG_reserved is not
 * allowed (PF_NO_COMPOUND; a CONFIG_DEBUG_VM_PGFLAGS kernel BUGs).
 */
#define MMAPLAB_CF_RESERVED		(1U << 1)
/* hazard: RESERVED, but the flag is left set when the buffer is freed */
#define MMAPLAB_CF_RESERVED_KEPT	(1U << 2)
/*
 * hazard: PCI_BAR mapped by REMAP_PFN_RANGE, IO_REMAP_PFN_RANGE or
 * VM_IOMAP_MEMORY without the ->may_split that refuses to split the VMA.
 * x86 PAT reserved the memory type for the whole range at mmap time, and
 * on 6.1 and 6.12 a partial munmap frees it by the pieces' ranges, which
 * the memtype tree does not hold ("x86/PAT: ... freeing invalid memtype").
 */
#define MMAPLAB_CF_SPLITTABLE		(1U << 3)
#define MMAPLAB_CF_ALL			(MMAPLAB_CF_FAULT_AROUND | MMAPLAB_CF_RESERVED | \
					 MMAPLAB_CF_RESERVED_KEPT | MMAPLAB_CF_SPLITTABLE)

/*
 * Largest buffer the uapi allows; the module parameter max_size may lower
 * (never raise) it.
 */
#define MMAPLAB_MAX_SIZE	(64ULL << 20)

/* Limits of mmaplab_config.delay_ms and period_ms. */
#define MMAPLAB_DELAY_MS_DEFAULT	50
#define MMAPLAB_DELAY_MS_MAX		10000
#define MMAPLAB_PERIOD_MS_MIN		10
#define MMAPLAB_PERIOD_MS_MAX		60000

struct mmaplab_config {
	__u32 alloc;		/* enum mmaplab_alloc */
	__u32 method;		/* enum mmaplab_method */
	__u64 size;		/* bytes; a non-zero multiple of the page size */
	__u32 flags;		/* MMAPLAB_CF_* */
	__u32 cache;		/* enum mmaplab_cache */
	/*
	 * DEFERRED_IO*: ms from the first write of a batch to its flush;
	 * 0 means MMAPLAB_DELAY_MS_DEFAULT. Must be 0 for other methods.
	 */
	__u32 delay_ms;
	/*
	 * PAGE_CACHE: write back dirty pages from a kernel work item every
	 * period_ms (the "start the sync from the kernel every so often"
	 * idea); 0 = off. Must be 0 for other methods.
	 */
	__u32 period_ms;
};

/*
 * The pattern: 32-bit little-endian words; the word at byte offset 4*i of
 * the buffer holds mmaplab_pattern_word(seed, i). The word index is mixed in
 * so that a page mapped at the wrong offset is caught, not only garbage.
 */
static inline __u32 mmaplab_pattern_word(__u32 seed, __u32 index)
{
	__u32 x = seed ^ (index * 0x9e3779b1U);

	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/*
 * FILL and VERIFY of the file-backed methods (PAGE_CACHE, DEFERRED_IO*):
 * VERIFY checks the backing store, i.e. what writeback or the deferred
 * flush delivered, not what a mapping may still hold. PAGE_CACHE's FILL
 * writes the store (its buffer) and drops the clean page-cache pages so
 * that mappings read the pattern again; with dirty pages in the cache it
 * is refused (-EBUSY, reason DIRTY) before anything is written: FLUSH or
 * fsync first. DEFERRED_IO's FILL writes both the screen and the store.
 * read() and write() always use the buffer: the store itself for
 * PAGE_CACHE (bypassing the page cache), the screen for DEFERRED_IO.
 */
struct mmaplab_fill {
	__u32 seed;
	__u32 reserved;		/* must be zero */
};

#define MMAPLAB_NO_MISMATCH	(~0ULL)

struct mmaplab_verify {
	__u32 seed;		/* in */
	__u32 reserved;		/* in: must be zero */
	__u64 mismatch;		/* out: byte offset of the first bad word, or MMAPLAB_NO_MISMATCH */
	__u32 expected;		/* out: the word the pattern wanted there */
	__u32 found;		/* out: the word the buffer held */
};

/*
 * Why the last CONFIGURE, mmap or hazard ioctl of this session failed, so
 * a refusal is never just an errno. Cleared by the next success.
 */
enum mmaplab_reason {
	MMAPLAB_REASON_NONE = 0,
	MMAPLAB_REASON_BAD_ENUM = 1,		/* unknown alloc, method or cache */
	MMAPLAB_REASON_BAD_SIZE = 2,		/* 0, not page-aligned, above max_size */
	MMAPLAB_REASON_BAD_FLAGS = 3,		/* unknown flag or non-zero reserved */
	MMAPLAB_REASON_COMBINATION = 4,		/* method cannot map this allocator's memory */
	MMAPLAB_REASON_CACHE = 5,		/* cache attribute not meaningful for the method */
	MMAPLAB_REASON_FAULT_AROUND = 6,	/* fault-around asked of a non-fault method */
	MMAPLAB_REASON_HAZARD_DISABLED = 7,	/* hazard without allow_hazards=1 */
	MMAPLAB_REASON_HAZARD_CAP = 8,		/* hazard without CAP_SYS_ADMIN */
	MMAPLAB_REASON_MAPPED = 9,		/* buffer is mapped (reconfigure, free) */
	MMAPLAB_REASON_NOT_CONFIGURED = 10,
	MMAPLAB_REASON_RANGE = 11,		/* mmap offset/length outside the buffer */
	MMAPLAB_REASON_PRIVATE = 12,		/* MAP_PRIVATE the method cannot honour */
	MMAPLAB_REASON_NOMEM = 13,
	MMAPLAB_REASON_KERNEL = 14,		/* the kernel API refused; errno is its answer */
	MMAPLAB_REASON_FREED = 15,		/* buffer was freed by FREE_WHILE_MAPPED */
	MMAPLAB_REASON_TIMING = 16,		/* delay_ms/period_ms out of range or not for it */
	MMAPLAB_REASON_NO_STORE = 17,		/* STORE of an id the module no longer keeps */
	MMAPLAB_REASON_DIRTY = 18,		/* FILL would discard dirty page-cache pages */
	MMAPLAB_REASON_NOT_OWNER = 19,		/* STORE by id of another user's store */
	MMAPLAB_REASON_NO_DEVICE = 20,		/* PCI_BAR without a device bound to the module */
	MMAPLAB_REASON_DEVICE_BUSY = 21,	/* PCI_BAR while another session holds the BAR */
	MMAPLAB_REASON_UNPINNED = 22,		/* a SHMEM buffer whose pages SHMEM_PIN gave back */
	MMAPLAB_REASON_EXPORTED = 23,		/* CONFIGURE while a dma-buf of the buffer lives */
	MMAPLAB_REASON_OUT_OF_REACH = 24,	/* DEVICE_DMA of pages the device cannot address */
	MMAPLAB_REASON_COUNT
};

#define MMAPLAB_REASON_TEXT_LEN	96

struct mmaplab_last_error {
	__s32 error;		/* negative errno of the failure, 0 if none */
	__u32 reason;		/* enum mmaplab_reason */
	char text[MMAPLAB_REASON_TEXT_LEN];	/* NUL-terminated, for people */
};

/* Counters of one session, since open. */
struct mmaplab_stats {
	__u64 faults;		/* ->fault calls that served a page or pfn */
	__u64 map_pages_calls;	/* ->map_pages calls */
	__u64 pages_mapped;	/* pages/pfns installed by any method */
	__u64 vma_opens;	/* ->mmap successes plus VMA ->open (split, fork) */
	__u64 vma_closes;	/* VMA ->close */
	__u64 read_calls;
	__u64 read_bytes;
	__u64 write_calls;
	__u64 write_bytes;
	/* PAGE_CACHE and DEFERRED_IO* only (zero otherwise): */
	__u64 read_folio_calls;		/* pages filled from the backing store */
	__u64 writeback_calls;		/* ->writepages and ->writepage calls, defio flush runs */
	__u64 pages_written;		/* pages copied to the backing store, any path */
	__u64 batches;			/* writeback calls or flushes that wrote >= 1 page */
	__u64 mkwrite_faults;		/* ->page_mkwrite calls */
	__u64 periodic_runs;		/* runs of the period_ms work */
	__u64 flush_latency_last_ns;	/* first write of a page -> its arrival, latest */
	__u64 flush_latency_max_ns;	/* ... longest since open */
};

/* mmaplab_info.flags */
#define MMAPLAB_INFO_CONFIGURED		(1U << 0)
#define MMAPLAB_INFO_CONTIGUOUS		(1U << 1)	/* physically contiguous */
#define MMAPLAB_INFO_FREED		(1U << 2)	/* freed while mapped */
#define MMAPLAB_INFO_SLAB		(1U << 3)	/* KMALLOC came from a slab cache */
#define MMAPLAB_INFO_UNPINNED		(1U << 4)	/* SHMEM: the pages are the object's */

/* mmaplab_page_info.flags: what explains an outcome */
#define MMAPLAB_PAGE_COMPOUND		(1U << 0)
#define MMAPLAB_PAGE_HEAD		(1U << 1)
#define MMAPLAB_PAGE_TAIL		(1U << 2)
#define MMAPLAB_PAGE_SLAB		(1U << 3)
#define MMAPLAB_PAGE_TYPED		(1U << 4)	/* a page type (buddy, table, 6.12 slab) */
#define MMAPLAB_PAGE_RESERVED		(1U << 5)
#define MMAPLAB_PAGE_NO_STRUCT_PAGE	(1U << 6)	/* pfn has no struct page */

struct mmaplab_page_info {
	__u64 pfn;
	__u32 flags;		/* MMAPLAB_PAGE_* */
	__s32 refcount;		/* page_ref_count() */
	__s32 mapcount;		/* page_mapcount() (0 when typed) */
	__u32 order;		/* compound order of the head, 0 otherwise */
};

struct mmaplab_info {
	__u32 alloc;		/* out */
	__u32 method;		/* out */
	__u64 size;		/* out */
	__u64 nr_pages;		/* out */
	__u32 flags;		/* out: MMAPLAB_INFO_* */
	__u32 cache;		/* out */
	__u32 config_flags;	/* out: MMAPLAB_CF_* */
	__u32 mappings;		/* out: live VMAs */
	__u64 pages_ptr;	/* in: user array of struct mmaplab_page_info, or 0 */
	__u64 pages_max;	/* in: entries available at pages_ptr */
	__u64 pages_filled;	/* out: entries written */
};

/*
 * How a page reached the backing store (PAGE_CACHE, DEFERRED_IO*). The
 * flusher's reasons come from its writeback_control; the module's own
 * calls name themselves.
 */
enum mmaplab_path {
	MMAPLAB_PATH_NONE = 0,		/* never arrived */
	MMAPLAB_PATH_WRITEBACK = 1,	/* flusher writeback, no more specific reason */
	MMAPLAB_PATH_BACKGROUND = 2,	/* flusher: over the background dirty threshold */
	MMAPLAB_PATH_EXPIRY = 3,	/* flusher: periodic (kupdate), dirty_expire passed */
	MMAPLAB_PATH_SYNC = 4,		/* sync(2)/syncfs(2) */
	MMAPLAB_PATH_RECLAIM = 5,	/* ->writepage from memory reclaim */
	MMAPLAB_PATH_FSYNC = 6,		/* ->fsync: fsync(2), fdatasync(2), msync(MS_SYNC) */
	MMAPLAB_PATH_FLUSH = 7,		/* MMAPLAB_IOC_FLUSH */
	MMAPLAB_PATH_DEFERRED = 8,	/* the deferred-I/O flush, delay_ms after a first write */
	MMAPLAB_PATH_PERIODIC = 9,	/* the period_ms work */
	MMAPLAB_PATH_RELEASE = 10,	/* the session's last close */
	MMAPLAB_PATH_COUNT
};

/* One page of the backing store. Times are CLOCK_MONOTONIC ns. */
struct mmaplab_store_page {
	__u64 arrived_ns;	/* latest arrival, 0 if the page never arrived */
	__u64 dirtied_ns;	/* first write (page_mkwrite) before that arrival, 0 unknown */
	__u32 path;		/* enum mmaplab_path of the latest arrival */
	__u32 arrivals;		/* times the page was copied to the store */
};

/*
 * Read a backing store: this session's (id 0) or, by id, one kept after
 * its session was closed (the module keeps the most recent
 * MMAPLAB_STORES_KEPT stores, so what the last close sent can be read).
 * A store ends with its session's last close or with a CONFIGURE that
 * replaces it; either sends the dirty pages first (path RELEASE). An open
 * store can be read by id from another session too.
 *
 * Ownership: a store belongs to the user who opened the session that
 * created it (the effective uid of that open). By id, open or kept, only
 * a session opened by that same effective uid, or opened with
 * CAP_SYS_ADMIN in the initial user namespace, may read it; any other is
 * refused with -EPERM, reason NOT_OWNER, before anything is copied. Both
 * are the credentials the session's file was opened with, not those of
 * the process making the call. Id 0 (the session's own store) is always
 * allowed. -EPERM, as for the hazards: a privilege is missing; -EACCES
 * remains what the node's mode answers at open.
 *
 * Errors: -EINVAL BAD_FLAGS (reserved), -ENODEV NOT_CONFIGURED (id 0, no
 * CONFIGURE yet), -EINVAL COMBINATION (id 0, method without a store),
 * -ENOENT NO_STORE (id unknown or evicted), -EPERM NOT_OWNER (by id,
 * another user's store, without CAP_SYS_ADMIN), -EFAULT.
 */
#define MMAPLAB_STORES_KEPT	8

struct mmaplab_store {
	__u64 id;		/* in: 0 = this session's; out: the store's id */
	__u64 data_ptr;		/* in: user buffer for the store's bytes, or 0 */
	__u64 data_len;		/* in: bytes wanted from offset 0 (at most size) */
	__u64 pages_ptr;	/* in: user array of struct mmaplab_store_page, or 0 */
	__u64 pages_max;	/* in: entries available at pages_ptr */
	__u64 pages_filled;	/* out: entries written */
	__u64 size;		/* out: the store's size in bytes */
	__u64 now_ns;		/* out: CLOCK_MONOTONIC when the store was read */
	__u64 batches;		/* out: batches that reached the store */
	__u32 open;		/* out: 1 while its session is open */
	__u32 reserved;		/* in: must be zero */
};

/*
 * What the whole module holds right now (COUNTERS, on any open file, no
 * CONFIGURE needed), for leak checks: after every session is closed all
 * three are back where they started.
 *
 * @buffers counts a buffer from the CONFIGURE that allocates it to the
 * CONFIGURE that replaces it or its session's last close (a buffer freed
 * by FREE_WHILE_MAPPED still counts until then: its description lives on).
 * @pages counts the pages of memory those buffers hold: it drops when the
 * memory is given back, by FREE_WHILE_MAPPED too, or is handed to a
 * PAGE_CACHE backing store (the stores the module keeps are not counted).
 * Memory the module has to leak (its memory type could not be set back to
 * write-back) stays counted.
 */
struct mmaplab_module_counters {
	__u64 buffers;		/* out: buffers allocated */
	__u64 pages;		/* out: pages held by those buffers */
	__u64 sessions;		/* out: open files of the device */
	__u64 reserved;		/* out: zero, room for one more counter */
};

#define MMAPLAB_IOC_MAGIC	0xb7
#define MMAPLAB_IOC_CONFIGURE	_IOW(MMAPLAB_IOC_MAGIC, 1, struct mmaplab_config)
#define MMAPLAB_IOC_FILL	_IOW(MMAPLAB_IOC_MAGIC, 2, struct mmaplab_fill)
#define MMAPLAB_IOC_VERIFY	_IOWR(MMAPLAB_IOC_MAGIC, 3, struct mmaplab_verify)
#define MMAPLAB_IOC_STATS	_IOR(MMAPLAB_IOC_MAGIC, 4, struct mmaplab_stats)
#define MMAPLAB_IOC_INFO	_IOWR(MMAPLAB_IOC_MAGIC, 5, struct mmaplab_info)
#define MMAPLAB_IOC_LAST_ERROR	_IOR(MMAPLAB_IOC_MAGIC, 6, struct mmaplab_last_error)
/* hazard: free the buffer while it is mapped (no argument) */
#define MMAPLAB_IOC_FREE_WHILE_MAPPED	_IO(MMAPLAB_IOC_MAGIC, 7)
#define MMAPLAB_IOC_STORE	_IOWR(MMAPLAB_IOC_MAGIC, 8, struct mmaplab_store)
/*
 * PAGE_CACHE, DEFERRED_IO*: send the dirty pages to the store now (path
 * FLUSH) and return when they are there; -EINVAL COMBINATION for other
 * methods. fsync(2) and msync(MS_SYNC) do the same with path FSYNC; for
 * the other methods the device answers them -EINVAL, as before it had
 * ->fsync.
 */
#define MMAPLAB_IOC_FLUSH	_IO(MMAPLAB_IOC_MAGIC, 9)
#define MMAPLAB_IOC_COUNTERS	_IOR(MMAPLAB_IOC_MAGIC, 10, struct mmaplab_module_counters)

/*
 * DEVICE_DMA: the device itself reads or writes the whole buffer by
 * bus-master DMA, a page at a time through its own memory (and a bounce
 * page of the module's):
 *   TO_DEVICE    the device reads the buffer; the module checks what it
 *                read against the pattern of @seed (@mismatch etc. as
 *                VERIFY's): "the device saw what userspace wrote";
 *   FROM_DEVICE  the device writes the pattern of @seed into the buffer,
 *                which userspace then checks through its mapping.
 * How the device reaches the memory depends on the allocator:
 *   DMA_DEVICE   the coherent buffer's own DMA address;
 *   DMA_PAGES    its own address too, synced for the device before and
 *                for the CPU after;
 *   any other allocator with struct pages (streaming DMA of the driver's
 *                own pages, as a driver does around each transfer while
 *                userspace keeps its mapping): the pages are put in a
 *                scatterlist, dma_map_sgtable()'d in the transfer's
 *                direction, and unmapped after it.
 * @segments says how many DMA segments the device was given (1 for the
 * first two). Slow by design of the emulated device (four transfers of
 * 100 ms a page), so a buffer of more than MMAPLAB_DMA_MAX_PAGES pages is
 * refused: the session is held throughout. The device's writes do not
 * dirty a SHMEM buffer's pages; SHMEM_PIN 0 marks them all dirty anyway.
 * Errors: -EINVAL COMBINATION (memory with no struct page, or a
 * file-backed session), BAD_FLAGS (direction or @reserved), BAD_SIZE
 * (too many pages), -ENODEV NOT_CONFIGURED / FREED / NO_DEVICE, -EBUSY
 * UNPINNED, -ERANGE OUT_OF_REACH (the device's mask does not cover all of
 * memory: the module does not rely on bounce buffers), -ENOMEM NOMEM,
 * KERNEL (dma_map_sgtable's own errno, or -ETIMEDOUT when the device did
 * not finish a transfer), -EINTR (fatal signal).
 */
#define MMAPLAB_DMA_MAX_PAGES	64

enum mmaplab_dma_direction {
	MMAPLAB_DMA_TO_DEVICE = 1,
	MMAPLAB_DMA_FROM_DEVICE = 2,
};

struct mmaplab_device_dma {
	__u32 direction;	/* in: enum mmaplab_dma_direction */
	__u32 seed;		/* in */
	__u64 mismatch;		/* out (TO_DEVICE): as mmaplab_verify's */
	__u32 expected;		/* out */
	__u32 found;		/* out */
	__u64 transfers;	/* out: DMA transfers the device made */
	__u32 segments;		/* out: DMA segments the device was given */
	__u32 reserved;		/* in: 0 */
};

#define MMAPLAB_IOC_DEVICE_DMA	_IOWR(MMAPLAB_IOC_MAGIC, 11, struct mmaplab_device_dma)

/*
 * SHMEM_PIN: a SHMEM buffer gives its pages back to the object, or takes
 * them again, as a GPU driver's shrinker does with an idle object (i915's
 * put_pages and get_pages):
 *   @pin 0  mark every page dirty (the object must keep what the kernel and
 *           userspace wrote) and drop the buffer's references; the object
 *           becomes evictable, so reclaim may move its pages to swap. Only
 *           while nothing maps the buffer. Until it is pinned again, FILL,
 *           VERIFY, read(), write() and mmap are refused (reason UNPINNED).
 *   @pin 1  read every page in again (from swap where reclaim put it) and
 *           hold it; @from_swap says how many came back from swap.
 *   @pin 2  hazard: unpin without marking the pages dirty, as a shrinker
 *           that forgets set_page_dirty does: a page only the kernel wrote
 *           is clean to reclaim, which may drop it instead of swapping it
 *           out, and what was in it is lost. Needs allow_hazards=1 and
 *           CAP_SYS_ADMIN (-EPERM HAZARD_DISABLED / HAZARD_CAP).
 * Each is a no-op when the buffer is already so.
 * Errors: -EINVAL COMBINATION (not SHMEM), BAD_FLAGS (@pin above 2 or
 * @reserved), -EPERM (@pin 2 without the hazard's permissions), -EBUSY
 * MAPPED (unpin while mapped), -ENODEV NOT_CONFIGURED / FREED, -ENOMEM and
 * the like from reading a page in, reason KERNEL.
 */
#define MMAPLAB_SHMEM_UNPIN		0
#define MMAPLAB_SHMEM_PIN		1
#define MMAPLAB_SHMEM_UNPIN_CLEAN	2

struct mmaplab_shmem_pin {
	__u32 pin;		/* in: MMAPLAB_SHMEM_UNPIN, _PIN or _UNPIN_CLEAN */
	__u32 reserved;		/* in: 0 */
	__u64 from_swap;	/* out (pin): pages read back from swap */
};

#define MMAPLAB_IOC_SHMEM_PIN	_IOWR(MMAPLAB_IOC_MAGIC, 12, struct mmaplab_shmem_pin)

/*
 * DMABUF: the session's buffer as a dma-buf, the way a GPU, camera or
 * media driver hands its memory to userspace and to other drivers.
 *   EXPORT  @fd is a new descriptor (O_CLOEXEC) of the buffer's dma-buf:
 *           the one already exported while it lives, a new one otherwise
 *           (O_RDWR, or O_RDONLY when the session was opened read-only).
 *           mmap(2) of @fd maps the buffer with the session's method, as
 *           mmap of the device does (same checks, errors, counters and
 *           LAST_ERROR). DMA_BUF_IOCTL_SYNC on it is counted in
 *           @cpu_begin and @cpu_end, and syncs a DMA_PAGES buffer for the
 *           CPU at the start and for the device at the end.
 *   QUERY   only the outputs below.
 * The dma-buf holds the session: the buffer lives until the last
 * descriptor and the last mapping of the dma-buf are gone, and CONFIGURE is
 * refused meanwhile (EXPORTED). SHMEM_PIN may still give a SHMEM buffer's
 * pages back while no mapping holds them; the dma-buf's mmap is then
 * refused (UNPINNED) until they are pinned again. No device attaches to
 * it: an importer's dma_buf_map_attachment() is answered -EOPNOTSUPP.
 * Errors: -EINVAL BAD_FLAGS (@op, @reserved), COMBINATION (a file-backed
 * method: its mappings are of the session's own inode), -ENODEV
 * NOT_CONFIGURED / FREED, -EBUSY UNPINNED, errno KERNEL (the export, or
 * no descriptor left).
 */
enum mmaplab_dmabuf_op {
	MMAPLAB_DMABUF_QUERY = 0,
	MMAPLAB_DMABUF_EXPORT = 1,
};

struct mmaplab_dmabuf {
	__u32 op;		/* in: enum mmaplab_dmabuf_op */
	__s32 fd;		/* out (EXPORT): the new descriptor; -1 otherwise */
	__u64 cpu_begin;	/* out: DMA_BUF_IOCTL_SYNC START calls on the session's dma-bufs */
	__u64 cpu_end;		/* out: ... END calls */
	__u32 alive;		/* out: 1 while a dma-buf of the buffer exists */
	__u32 reserved;		/* in: 0 */
};

#define MMAPLAB_IOC_DMABUF	_IOWR(MMAPLAB_IOC_MAGIC, 13, struct mmaplab_dmabuf)

#endif /* _UAPI_LINUX_MMAPLAB_H */
