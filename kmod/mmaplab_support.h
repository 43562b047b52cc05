/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmaplab: what CONFIGURE accepts, as data. Per allocator, the marks its
 * rules read; per method x allocator pair, whether the method takes the
 * allocator's memory and whether the pair is a hazard.
 *
 * This is the only statement of those rules. mmaplab_map.c checks every
 * CONFIGURE against it; the addon compiles the same header (in user space,
 * native/support.c) and exports both tables, and lib/device/support.ts
 * derives the TypeScript side from that export. So the header is plain C
 * that builds on both sides: the uapi header and C types only.
 */
#ifndef _MMAPLAB_SUPPORT_H
#define _MMAPLAB_SUPPORT_H

#include <uapi/linux/mmaplab.h>

/*
 * What mmaplab_support[method][alloc] says of a pair. MMAPLAB_HAZARD pairs
 * reproduce a documented mistake and need allow_hazards=1 and
 * CAP_SYS_ADMIN. An unsupported pair (a missing entry) is refused with
 * -EINVAL, reason COMBINATION.
 */
enum {
	MMAPLAB_UNSUPPORTED = 0,
	MMAPLAB_SUPPORTED,
	MMAPLAB_HAZARD,
};

/*
 * An allocator's marks, the bits of mmaplab_alloc_marks[alloc].
 *
 * OWN_PAGES: struct pages of the driver's own, which it may mark reserved.
 * Not DMA memory or the BAR (no struct pages handed out), not a shmem
 * object's pages (the page cache's) nor a block the DMA API gave without
 * __GFP_COMP (the DMA API's).
 *
 * COMPOUND: the pages are parts of compound pages: a slab's (small
 * kmalloc) or a __GFP_COMP block's (large kmalloc, alloc_pages).
 * PG_reserved is PF_NO_COMPOUND, so marking them reserved is a hazard (a
 * CONFIG_DEBUG_VM_PGFLAGS kernel BUGs at the SetPageReserved).
 *
 * HAZARD: only usable with allow_hazards, whatever maps it: it breaks a
 * kernel rule on purpose. PAGES_NOCOMP's tail pages have refcount 0, so
 * its entries in mmaplab_support[] only say "takes".
 */
#define MMAPLAB_MARK_OWN_PAGES	0x1
#define MMAPLAB_MARK_COMPOUND	0x2
#define MMAPLAB_MARK_HAZARD	0x4

/* DMA memory, the BAR, shmem: no mark */
static const unsigned char mmaplab_alloc_marks[MMAPLAB_ALLOC_COUNT] = {
	[MMAPLAB_ALLOC_VMALLOC_USER]	= MMAPLAB_MARK_OWN_PAGES,
	[MMAPLAB_ALLOC_PAGES_NOCOMP]	= MMAPLAB_MARK_OWN_PAGES | MMAPLAB_MARK_HAZARD,
	[MMAPLAB_ALLOC_KMALLOC]		= MMAPLAB_MARK_OWN_PAGES | MMAPLAB_MARK_COMPOUND,
	[MMAPLAB_ALLOC_VMALLOC]		= MMAPLAB_MARK_OWN_PAGES,
	[MMAPLAB_ALLOC_PAGES_ARRAY]	= MMAPLAB_MARK_OWN_PAGES,
	[MMAPLAB_ALLOC_PAGES_COMP]	= MMAPLAB_MARK_OWN_PAGES | MMAPLAB_MARK_COMPOUND,
	[MMAPLAB_ALLOC_PAGES_SPLIT]	= MMAPLAB_MARK_OWN_PAGES,
};

#define SUP	MMAPLAB_SUPPORTED
#define HAZ	MMAPLAB_HAZARD

/* the allocators marked MMAPLAB_MARK_OWN_PAGES above */
#define PAGE_BACKED(kmalloc, others)			\
	[MMAPLAB_ALLOC_VMALLOC_USER]	= others,	\
	[MMAPLAB_ALLOC_VMALLOC]		= others,	\
	[MMAPLAB_ALLOC_PAGES_ARRAY]	= others,	\
	[MMAPLAB_ALLOC_PAGES_COMP]	= others,	\
	[MMAPLAB_ALLOC_PAGES_SPLIT]	= others,	\
	[MMAPLAB_ALLOC_PAGES_NOCOMP]	= others,	\
	[MMAPLAB_ALLOC_KMALLOC]		= kmalloc

/*
 * A shmem object's pages are page-cache pages: every page-based and
 * pfn-based method takes them, as GPU drivers map their objects.
 * FAULT_PAGE_NOREF does not: the reference it fails to take would be the
 * page cache's, and the page freed under it would leave the object's
 * truncation spinning on a dead page.
 *
 * DMA_PAGES is one block without __GFP_COMP (the DMA API refuses it): the
 * pfn-based methods and dma_mmap_pages() map it; vm_insert_page() and
 * friends are let through so that the kernel's refusal of the zero-refcount
 * tail pages is seen; a fault handler that hands them out is PAGES_NOCOMP's
 * hazard.
 */
static const unsigned char mmaplab_support[MMAPLAB_METHOD_COUNT][MMAPLAB_ALLOC_COUNT] = {
	/*
	 * Plain vmalloc is let through on purpose: the kernel's refusal
	 * (no VM_USERMAP) is the result, reported with reason KERNEL.
	 */
	[MMAPLAB_METHOD_REMAP_VMALLOC_RANGE] = {
		[MMAPLAB_ALLOC_VMALLOC_USER]	= SUP,
		[MMAPLAB_ALLOC_VMALLOC]		= SUP,
	},
	/* kmalloc: virt_to_page() of slab or large-kmalloc memory, the "not for kmalloc" claim */
	[MMAPLAB_METHOD_FAULT_PAGE] = {
		PAGE_BACKED(HAZ, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= HAZ,
	},
	[MMAPLAB_METHOD_FAULT_PAGE_NOREF] = { PAGE_BACKED(HAZ, HAZ) },
	[MMAPLAB_METHOD_FAULT_VIRT_TO_PAGE] = {
		[MMAPLAB_ALLOC_VMALLOC_USER]	= HAZ,
		[MMAPLAB_ALLOC_VMALLOC]		= HAZ,
	},
	/* any memory with a pfn; DMA memory only if it is in the direct map (checked at mmap) */
	[MMAPLAB_METHOD_REMAP_PFN_RANGE] = {
		PAGE_BACKED(SUP, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
		[MMAPLAB_ALLOC_DMA_COHERENT]	= SUP,
		[MMAPLAB_ALLOC_DMA_DEVICE]	= SUP,
		[MMAPLAB_ALLOC_PCI_BAR]		= SUP,
	},
	/*
	 * The device-memory helpers: the BAR they exist for, and one block of
	 * RAM and DMA memory to show what they do with RAM.
	 */
	[MMAPLAB_METHOD_IO_REMAP_PFN_RANGE] = {
		[MMAPLAB_ALLOC_PAGES_COMP]	= SUP,
		[MMAPLAB_ALLOC_DMA_COHERENT]	= SUP,
		[MMAPLAB_ALLOC_DMA_DEVICE]	= SUP,
		[MMAPLAB_ALLOC_PCI_BAR]		= SUP,
	},
	[MMAPLAB_METHOD_VM_IOMAP_MEMORY] = {
		[MMAPLAB_ALLOC_PAGES_COMP]	= SUP,
		[MMAPLAB_ALLOC_DMA_COHERENT]	= SUP,
		[MMAPLAB_ALLOC_DMA_DEVICE]	= SUP,
		[MMAPLAB_ALLOC_PCI_BAR]		= SUP,
	},
	/* only meaningful for memory that is not physically contiguous */
	[MMAPLAB_METHOD_REMAP_PFN_RANGE_FIRST_PFN] = {
		[MMAPLAB_ALLOC_VMALLOC_USER]	= HAZ,
		[MMAPLAB_ALLOC_VMALLOC]		= HAZ,
		[MMAPLAB_ALLOC_PAGES_ARRAY]	= HAZ,
	},
	/* the kernel itself refuses slab pages (small kmalloc): that is the result */
	[MMAPLAB_METHOD_VM_INSERT_PAGE] = {
		PAGE_BACKED(SUP, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
	},
	[MMAPLAB_METHOD_VM_INSERT_PAGES] = {
		PAGE_BACKED(SUP, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
	},
	[MMAPLAB_METHOD_VM_MAP_PAGES] = {
		PAGE_BACKED(SUP, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
	},
	[MMAPLAB_METHOD_VMF_INSERT_PFN] = {
		PAGE_BACKED(SUP, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
		[MMAPLAB_ALLOC_DMA_COHERENT]	= SUP,
		[MMAPLAB_ALLOC_DMA_DEVICE]	= SUP,
		[MMAPLAB_ALLOC_PCI_BAR]		= SUP,
	},
	[MMAPLAB_METHOD_DMA_MMAP_COHERENT] = {
		[MMAPLAB_ALLOC_DMA_COHERENT]	= SUP,
		[MMAPLAB_ALLOC_DMA_DEVICE]	= SUP,
	},
	[MMAPLAB_METHOD_DMA_MMAP_PAGES] = {
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
	},
	/* special PTEs like VMF_INSERT_PFN: any memory with a pfn */
	[MMAPLAB_METHOD_VMF_INSERT_MIXED] = {
		PAGE_BACKED(SUP, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
		[MMAPLAB_ALLOC_DMA_COHERENT]	= SUP,
		[MMAPLAB_ALLOC_DMA_DEVICE]	= SUP,
		[MMAPLAB_ALLOC_PCI_BAR]		= SUP,
	},
	[MMAPLAB_METHOD_VMF_INSERT_PFN_PROT] = {
		PAGE_BACKED(SUP, SUP),
		[MMAPLAB_ALLOC_SHMEM]		= SUP,
		[MMAPLAB_ALLOC_DMA_PAGES]	= SUP,
		[MMAPLAB_ALLOC_DMA_COHERENT]	= SUP,
		[MMAPLAB_ALLOC_DMA_DEVICE]	= SUP,
		[MMAPLAB_ALLOC_PCI_BAR]		= SUP,
	},
	/* the buffer is the backing store, read and written a page at a time */
	[MMAPLAB_METHOD_PAGE_CACHE] = {
		[MMAPLAB_ALLOC_VMALLOC]		= SUP,
	},
	/* the screen is handed out page by page, as by the fault method */
	[MMAPLAB_METHOD_DEFERRED_IO] = {
		[MMAPLAB_ALLOC_VMALLOC_USER]	= SUP,
		[MMAPLAB_ALLOC_VMALLOC]		= SUP,
	},
	[MMAPLAB_METHOD_DEFERRED_IO_KEEP_MAPPING] = {
		[MMAPLAB_ALLOC_VMALLOC_USER]	= HAZ,
		[MMAPLAB_ALLOC_VMALLOC]		= HAZ,
	},
};

#undef PAGE_BACKED
#undef HAZ
#undef SUP

#endif /* _MMAPLAB_SUPPORT_H */
