// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: mapping methods, i.e. how mmap() exposes a session's buffer.
 *
 * Each method is one vm_operations_struct and the handlers it names, plus
 * an entry in mmaplab_methods[] saying how its ->mmap step sets the VMA up.
 * Which allocators a method takes, and which of those pairs are hazards,
 * is one table, mmaplab_support[]: method x allocator, in
 * mmaplab_support.h with the allocators' marks, which the addon compiles
 * too (the TypeScript side reads both from there).
 *
 * Every method installs .open/.close, even one that needs no fault
 * handler: they keep session->nr_mappings exact, which is what lets
 * CONFIGURE refuse to free a buffer that is still mapped. ->mmap counts the
 * first VMA itself; .open counts the copies the kernel makes later (fork,
 * a split by a partial munmap or mprotect, mremap), .close every VMA that
 * goes away. A VMA without vm_ops would also be anonymous to the kernel: a
 * page zapped by MADV_DONTNEED would come back as a fresh zero page. With
 * vm_ops but no .fault such an access is a SIGBUS, which is the honest
 * answer for the methods that map everything at mmap time.
 *
 * Every method but the three that insert pages at mmap time sets
 * VM_DONTEXPAND (directly or through the kernel helper it calls), so
 * mremap() cannot grow its VMA past the buffer. vm_insert_page(),
 * vm_insert_pages() and vm_map_pages() set only VM_MIXEDMAP, and they are
 * left as a driver calling them gets them: mremap() can grow such a VMA,
 * and a touch of the new page is a SIGBUS (no PTE, no .fault), as the
 * mremap use cells show. No VMA of this device is ever merged with a
 * neighbour: VM_DONTEXPAND and VM_MIXEDMAP are both part of VM_SPECIAL,
 * which the merge code refuses on both kernels.
 *
 * MAP_PRIVATE: the kernel handles copy-on-write for page-backed VMAs (the
 * fault methods, vm_insert_page(s), vm_map_pages, remap_vmalloc_range)
 * and for a remap_pfn_range() that covers the whole VMA in one call (it
 * rewrites vm_pgoff to the pfn so that vm_normal_page() can tell the
 * original pfns from COW copies). A per-page remap_pfn_range() of a private
 * mapping of more than one page is refused by the kernel (-EINVAL), which
 * the module reports as the kernel's answer. vmf_insert_pfn() in a private
 * writable VM_PFNMAP VMA is a BUG_ON, so VMF_INSERT_PFN and
 * VMF_INSERT_PFN_PROT refuse MAP_PRIVATE themselves. VMF_INSERT_MIXED's
 * VMA is VM_MIXEDMAP, where the core copies a special PTE's page on write
 * from the user address, so it takes MAP_PRIVATE.
 *
 * The file-backed methods (PAGE_CACHE, DEFERRED_IO*) have their
 * vm_operations_struct and handlers in mmaplab_file.c with the rest of
 * their machinery; they appear in the two tables like the others.
 *
 * Cache attributes (WC, UC) are for the pfn-based methods only. The
 * page-based ones hand the core ordinary reference-counted pages, which
 * can outlive the buffer (a mapping keeps them after the driver frees its
 * reference) and would then reach the page allocator with a changed memory
 * type. For the pfn-based ones the memory's own type is changed to match at
 * CONFIGURE time (mmaplab_alloc.c explains why that is needed).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/pfn_t.h>
#include <linux/vmalloc.h>

#include "mmaplab.h"
#include "mmaplab_compat.h"
#include "mmaplab_support.h"

struct mmaplab_method_ops {
	const char *name;
	/* maps by pfn (VM_PFNMAP): may take a cache attribute */
	bool pfn_based;
	/* has a page fault handler that may also fault around */
	bool fault_around;
	/* pfn_based, but the cache attribute goes in at fault time, not in vm_page_prot */
	bool prot_at_fault;
	/* file-backed: a session inode, a backing store (mmaplab_file.c) */
	bool has_store;
	/* set up @vma; the range has been checked against the buffer */
	int (*mmap)(struct mmaplab_session *s, struct vm_area_struct *vma);
};

/* VMA bookkeeping shared by every method */

void mmaplab_vm_open(struct vm_area_struct *vma)
{
	struct mmaplab_session *s = vma->vm_private_data;

	atomic_inc(&s->nr_mappings);
	atomic64_inc(&s->stats.vma_opens);
}

void mmaplab_vm_close(struct vm_area_struct *vma)
{
	struct mmaplab_session *s = vma->vm_private_data;

	atomic_dec(&s->nr_mappings);
	atomic64_inc(&s->stats.vma_closes);
}

/* The last step of every successful ->mmap: from here on the VMA is counted. */
void mmaplab_vma_attach(struct mmaplab_session *s, struct vm_area_struct *vma,
			const struct vm_operations_struct *vm_ops)
{
	vma->vm_private_data = s;
	vma->vm_ops = vm_ops;
	mmaplab_vm_open(vma);
}

/*
 * For the methods that map everything at mmap time: vm_ops with no
 * .fault (see the top of the file).
 */
static const struct vm_operations_struct mmaplab_prefaulted_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
};

/*
 * A VMA of device memory that a remap_pfn_range() variant mapped whole:
 * on x86 the PAT code reserved the memory type for that whole range
 * (VM_PAT) and, on both targets, frees it at munmap by the range of each
 * piece the VMA was split into, which the memtype tree does not hold for
 * non-RAM memory: a partial munmap, mprotect of a part or mremap that
 * shrinks prints "x86/PAT: ... freeing invalid memtype" and leaves the
 * reservation behind. The driver's way out is to refuse the split, which
 * makes those calls fail with -EINVAL instead. (RAM is tracked per page,
 * not by range, so its mappings split safely.)
 */
static int mmaplab_refuse_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static const struct vm_operations_struct mmaplab_unsplittable_vm_ops = {
	.open		= mmaplab_vm_open,
	.close		= mmaplab_vm_close,
	.may_split	= mmaplab_refuse_split,
};

/* The vm_ops of a VMA a remap_pfn_range() variant mapped at mmap time. */
static const struct vm_operations_struct *mmaplab_remapped_vm_ops(struct mmaplab_session *s)
{
	if (mmaplab_buf_is_io(&s->buf) && !(s->config_flags & MMAPLAB_CF_SPLITTABLE))
		return &mmaplab_unsplittable_vm_ops;
	return &mmaplab_prefaulted_vm_ops;
}

/*
 * May a fault handler use buffer page @index? Not past the buffer (the
 * VMA cannot outgrow it, VM_DONTEXPAND; this is the backstop) and not once
 * FREE_WHILE_MAPPED has given the memory back: from then on every fault
 * is a SIGBUS.
 */
static bool mmaplab_fault_allowed(struct mmaplab_session *s, pgoff_t index)
{
	return index < s->buf.nr_pages && !READ_ONCE(s->buf.freed);
}

/* The buffer page a fault handler may hand out for @vmf, or NULL (SIGBUS). */
static struct page *mmaplab_fault_page_of(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;

	if (!mmaplab_fault_allowed(s, vmf->pgoff))
		return NULL;
	return mmaplab_buf_page(&s->buf, vmf->pgoff);
}

static void mmaplab_fault_count(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;

	atomic64_inc(&s->stats.faults);
	atomic64_inc(&s->stats.pages_mapped);
}

/* The page protection of a pfn-based VMA for the session's cache attribute. */
static pgprot_t mmaplab_cache_prot(enum mmaplab_cache cache, pgprot_t prot)
{
	switch (cache) {
	case MMAPLAB_CACHE_WC:
		return pgprot_writecombine(prot);
	case MMAPLAB_CACHE_UC:
		return pgprot_noncached(prot);
	default:
		return prot;
	}
}

/*
 * MMAPLAB_METHOD_REMAP_VMALLOC_RANGE
 *
 * The kernel inserts every vmalloc page with vm_insert_page() at mmap time
 * (so the VMA becomes VM_MIXEDMAP and the pages are reference-counted),
 * after checking that the area is VM_USERMAP.
 */
static int mmaplab_remap_vmalloc_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	int ret;

	/* it sets VM_DONTEXPAND | VM_DONTDUMP by itself */
	ret = remap_vmalloc_range(vma, s->buf.vaddr, vma->vm_pgoff);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "remap_vmalloc_range: kernel refused %s memory: %d",
				    mmaplab_alloc_name(s->alloc), ret);

	atomic64_add(vma_pages(vma), &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, &mmaplab_prefaulted_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_FAULT_PAGE
 *
 * The classic "nopage" driver: nothing is mapped at mmap time; each first
 * touch of a page faults, and the handler hands the core that page with a
 * reference taken for it. The core drops that reference when the PTE goes
 * away, so the page must be one whose refcount the driver can share.
 *
 * With PAGES_NOCOMP that is exactly what is wrong: a tail page of a
 * non-compound block has refcount 0, get_page() takes it to 1 and the unmap
 * frees it under the driver. With kmalloc memory the page is a slab page
 * (up to 8 KiB) or part of a large kmalloc. Those are the hazards being
 * reproduced; the handler deliberately does what those drivers did.
 *
 * A page of a PMD-sized compound block (PAGES_COMP of 2 MiB) may be mapped
 * by the core with one PMD entry for the whole block, where the VMA's start
 * is 2 MiB-aligned to its vm_pgoff (finish_fault() -> do_set_pmd(), 6.1).
 * That is the core's choice, and it undoes it exactly (one reference, the
 * entire mapcount, 512 pages of RSS), except in a VM_MIXEDMAP VMA: see
 * mmaplab_fault_page_around_fault().
 *
 * take_ref is false only for the FAULT_PAGE_NOREF hazard below.
 */
static vm_fault_t mmaplab_fault_hand_over(struct vm_fault *vmf, bool take_ref)
{
	struct page *page = mmaplab_fault_page_of(vmf);

	if (!page)
		return VM_FAULT_SIGBUS;

	if (take_ref)
		get_page(page);
	/* returned unlocked: the core locks it (no VM_FAULT_LOCKED) */
	vmf->page = page;
	mmaplab_fault_count(vmf);
	return 0;
}

static vm_fault_t mmaplab_fault_page_fault(struct vm_fault *vmf)
{
	return mmaplab_fault_hand_over(vmf, true);
}

/*
 * Fault-around for the fault method (MMAPLAB_CF_FAULT_AROUND): map the
 * neighbours of a read fault, start_pgoff..end_pgoff (the faulting page
 * among them), in one go. mmaplab_compat.h explains the rules this runs
 * under and why vm_insert_page() on an existing PTE table is the correct
 * way to do it with exported interfaces: it never sleeps then, and it takes
 * the page reference, rmap and RSS accounting the core's own fault would.
 *
 * Pages vm_insert_page() refuses (slab pages, a zero refcount) and PTEs
 * that are already present are skipped: ->fault deals with the faulting
 * page if it was not mapped here.
 */
static vm_fault_t mmaplab_fault_page_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
					       pgoff_t end_pgoff)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mmaplab_session *s = vma->vm_private_data;
	vm_fault_t ret = 0;
	pgoff_t index;

	atomic64_inc(&s->stats.map_pages_calls);

	/* no PTE table: making one may sleep; ->fault's finish_fault() will */
	if (pmd_none(READ_ONCE(*vmf->pmd)))
		return 0;

	for (index = start_pgoff; index <= end_pgoff; index++) {
		unsigned long addr = vma->vm_start + ((index - vma->vm_pgoff) << PAGE_SHIFT);
		struct page *page;

		if (!mmaplab_fault_allowed(s, index))
			break;
		page = mmaplab_buf_page(&s->buf, index);
		if (!page || vm_insert_page(vma, addr, page))
			continue;

		atomic64_inc(&s->stats.pages_mapped);
		/* the faulting page is mapped: the core need not call ->fault */
		if (index == vmf->pgoff)
			ret = VM_FAULT_NOPAGE;
	}
	return ret;
}

static const struct vm_operations_struct mmaplab_fault_page_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
	.fault	= mmaplab_fault_page_fault,
};

/*
 * ->fault of a fault-around VMA, which is VM_MIXEDMAP (see
 * mmaplab_fault_page_mmap()).
 *
 * A page handed back in vmf->page is mapped by finish_fault(). When it is
 * part of a PMD-sized compound block (PAGES_COMP of 2 MiB) and no PTE
 * table covers the address yet, finish_fault() maps the whole block with
 * one PMD entry, wherever the VMA's start is 2 MiB-aligned to its
 * vm_pgoff (do_set_pmd(), 6.1). 6.12.117 does not, because it no longer
 * maps a PMD across the file's i_size and the device node's is 0: nothing
 * to count on. Tearing down a huge PMD of a VM_MIXEDMAP file VMA takes it
 * for a pfn mapping (vma_is_special_huge() in zap_huge_pmd() and
 * __split_huge_pmd_locked()) and drops neither the page reference, the
 * mapcount nor the RSS count: "BUG: Bad rss-counter state ...
 * MM_FILEPAGES val:512" when the process exits, and a block that never
 * goes back to the page allocator. So such a page is put in a PTE here,
 * by vm_insert_page() (VM_MIXEDMAP lets it run under the read lock; it
 * takes the reference, rmap and RSS accounting a fault would), and the
 * core is told the fault is done. A private write fault is left to the
 * core, which maps a copy: an order-0 anonymous page.
 */
static vm_fault_t mmaplab_fault_page_around_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	bool cow = (vmf->flags & FAULT_FLAG_WRITE) && !(vma->vm_flags & VM_SHARED);
	struct page *page = mmaplab_fault_page_of(vmf);
	int err;

	if (!page || cow || !folio_test_pmd_mappable(page_folio(page)))
		return mmaplab_fault_hand_over(vmf, true);

	err = vm_insert_page(vma, vmf->address, page);
	/* -EBUSY: a racing fault or ->map_pages mapped it first */
	if (err && err != -EBUSY)
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	if (!err)
		mmaplab_fault_count(vmf);
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct mmaplab_fault_page_around_vm_ops = {
	.open		= mmaplab_vm_open,
	.close		= mmaplab_vm_close,
	.fault		= mmaplab_fault_page_around_fault,
	.map_pages	= mmaplab_fault_page_map_pages,
};

/*
 * The flags of every fault method. DONTEXPAND: mremap() must not grow
 * the VMA past the buffer. DONTDUMP: a core dump would fault in every page,
 * which is not part of what an experiment asked for.
 */
static void mmaplab_fault_vma_flags(struct vm_area_struct *vma)
{
	mmaplab_vma_set_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
}

static int mmaplab_fault_page_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	mmaplab_fault_vma_flags(vma);
	if (s->config_flags & MMAPLAB_CF_FAULT_AROUND) {
		/*
		 * vm_insert_page() from ->map_pages needs this set beforehand
		 * (mmaplab_compat.h); the VMA holds ordinary pages either way.
		 */
		mmaplab_vma_set_flags(vma, VM_MIXEDMAP);
		mmaplab_vma_attach(s, vma, &mmaplab_fault_page_around_vm_ops);
	} else {
		mmaplab_vma_attach(s, vma, &mmaplab_fault_page_vm_ops);
	}
	return 0;
}

/*
 * MMAPLAB_METHOD_FAULT_PAGE_NOREF (hazard)
 *
 * The fault method without get_page(): the core still drops a reference
 * when the PTE goes away, one the driver never gave it, so the page is
 * freed while the allocator still owns it.
 */
static vm_fault_t mmaplab_fault_noref_fault(struct vm_fault *vmf)
{
	return mmaplab_fault_hand_over(vmf, false);
}

static const struct vm_operations_struct mmaplab_fault_noref_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
	.fault	= mmaplab_fault_noref_fault,
};

static int mmaplab_fault_noref_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	mmaplab_fault_vma_flags(vma);
	mmaplab_vma_attach(s, vma, &mmaplab_fault_noref_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_FAULT_VIRT_TO_PAGE (hazard)
 *
 * The fault method with virt_to_page() on a vmalloc address. On x86-64
 * that is plain arithmetic on the direct-map offset: it yields a pfn far
 * beyond any RAM (the vmalloc area lies tens of terabytes above the direct
 * map), and a struct page pointer into memmap that was never populated.
 * Returning it would make the core read unmapped memory, an oops in the
 * middle of the test VM rather than the documented mistake. The handler
 * therefore checks pfn_valid() and answers SIGBUS when there is no such
 * page: what a caller observes is that the method cannot work. Where
 * the pfn happens to be valid, the unrelated page is handed out with a
 * reference, as the buggy drivers did.
 */
static vm_fault_t mmaplab_fault_virt_fault(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;
	struct page *page;

	if (!mmaplab_fault_allowed(s, vmf->pgoff))
		return VM_FAULT_SIGBUS;

	page = virt_to_page(s->buf.vaddr + (vmf->pgoff << PAGE_SHIFT));
	if (!pfn_valid(page_to_pfn(page)))
		return VM_FAULT_SIGBUS;

	get_page(page);
	vmf->page = page;
	mmaplab_fault_count(vmf);
	return 0;
}

static const struct vm_operations_struct mmaplab_fault_virt_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
	.fault	= mmaplab_fault_virt_fault,
};

static int mmaplab_fault_virt_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	mmaplab_fault_vma_flags(vma);
	mmaplab_vma_attach(s, vma, &mmaplab_fault_virt_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_REMAP_PFN_RANGE
 *
 * remap_pfn_range() makes the VMA VM_IO | VM_PFNMAP and writes special
 * PTEs: the core never looks at a struct page behind them, so any memory
 * works, slab included, and nothing is reference-counted (which is why
 * freeing the buffer under such a mapping is a silent use-after-free).
 * Physically contiguous memory takes one call; otherwise one call per page.
 */
static int mmaplab_pfn_of(struct mmaplab_session *s, unsigned long index, unsigned long *pfn)
{
	if (mmaplab_buf_pfn(&s->buf, index, pfn))
		return 0;
	return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
			    "%s memory outside the direct map has no pfn to map",
			    mmaplab_alloc_name(s->alloc));
}

/*
 * One remap_pfn_range() (io_remap_pfn_range() with @io) of the whole VMA
 * from the pfn of the buffer page vm_pgoff names; the VMA is then
 * attached with @vm_ops.
 */
static int mmaplab_remap_whole(struct mmaplab_session *s, struct vm_area_struct *vma, bool io,
			       const struct vm_operations_struct *vm_ops)
{
	unsigned long npages = vma_pages(vma);
	unsigned long pfn;
	int ret;

	ret = mmaplab_pfn_of(s, vma->vm_pgoff, &pfn);
	if (ret)
		return ret;

	if (io)
		ret = io_remap_pfn_range(vma, vma->vm_start, pfn, npages << PAGE_SHIFT,
					 vma->vm_page_prot);
	else
		ret = remap_pfn_range(vma, vma->vm_start, pfn, npages << PAGE_SHIFT,
				      vma->vm_page_prot);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "%s: kernel refused pfn %#lx + %lu pages: %d",
				    io ? "io_remap_pfn_range" : "remap_pfn_range",
				    pfn, npages, ret);

	atomic64_add(npages, &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, vm_ops);
	return 0;
}

static int mmaplab_remap_pfn_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	unsigned long npages = vma_pages(vma);
	/*
	 * vm_pgoff is read once, before the loop: for a private mapping
	 * remap_pfn_range() would rewrite it (and then refuse the partial
	 * range anyway).
	 */
	unsigned long first = vma->vm_pgoff;
	unsigned long i, pfn;
	int ret;

	if (mmaplab_buf_contiguous(&s->buf))
		return mmaplab_remap_whole(s, vma, false, mmaplab_remapped_vm_ops(s));

	ret = mmaplab_pfn_of(s, first, &pfn);
	if (ret)
		return ret;
	for (i = 0; i < npages; i++) {
		mmaplab_buf_pfn(&s->buf, first + i, &pfn);
		ret = remap_pfn_range(vma, vma->vm_start + (i << PAGE_SHIFT), pfn, PAGE_SIZE,
				      vma->vm_page_prot);
		if (ret)
			return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
					    "remap_pfn_range: kernel refused page %lu (pfn %#lx): %d",
					    first + i, pfn, ret);
	}

	atomic64_add(npages, &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, mmaplab_remapped_vm_ops(s));
	return 0;
}

/*
 * MMAPLAB_METHOD_REMAP_PFN_RANGE_FIRST_PFN (hazard)
 *
 * The driver that assumes its buffer is physically contiguous: one
 * remap_pfn_range() from the pfn of the first page the VMA shows, over the
 * whole length. Every page after that one maps whatever physical memory
 * follows it, which belongs to someone else (kernel data, page tables,
 * other processes), writable.
 */
static int mmaplab_remap_first_pfn_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	return mmaplab_remap_whole(s, vma, false, &mmaplab_prefaulted_vm_ops);
}

/*
 * MMAPLAB_METHOD_VM_INSERT_PAGE
 *
 * vm_insert_page() for every page at mmap time: the VMA becomes
 * VM_MIXEDMAP and each page gets a reference and an rmap entry, as if it
 * had been faulted in. The kernel refuses pages it cannot account that way
 * (slab and typed pages, a zero refcount) with -EINVAL; a failure leaves
 * the pages inserted so far, which the core zaps when it tears down the
 * VMA of a failed mmap.
 */
static int mmaplab_vm_insert_page_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	unsigned long npages = vma_pages(vma);
	unsigned long i;
	int ret;

	for (i = 0; i < npages; i++) {
		unsigned long index = vma->vm_pgoff + i;
		struct page *page = s->buf.pages[index];

		ret = vm_insert_page(vma, vma->vm_start + (i << PAGE_SHIFT), page);
		if (ret)
			return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
					    "vm_insert_page: kernel refused page %lu (pfn %#lx): %d",
					    index, page_to_pfn(page), ret);
	}

	atomic64_add(npages, &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, &mmaplab_prefaulted_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_VM_INSERT_PAGES
 *
 * vm_insert_pages(): the same as a vm_insert_page() loop, batched under
 * one PTE lock per page table. @num is in/out: the pages to insert, then
 * the pages *not* inserted. Anything left over is a failure, and a zero
 * return with pages left over (which the kernel does not do) is treated as
 * one too rather than as a shorter mapping.
 */
static int mmaplab_vm_insert_pages_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	unsigned long npages = vma_pages(vma);
	unsigned long left = npages;
	unsigned long index, pfn;
	int ret;

	ret = vm_insert_pages(vma, vma->vm_start, s->buf.pages + vma->vm_pgoff, &left);
	if (ret || left) {
		if (!ret)
			ret = -EIO;
		index = vma->vm_pgoff + (npages - left);
		pfn = index < s->buf.nr_pages ? page_to_pfn(s->buf.pages[index]) : 0;
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "vm_insert_pages: kernel refused page %lu (pfn %#lx), %lu of %lu mapped: %d",
				    index, pfn, npages - left, npages, ret);
	}

	atomic64_add(npages, &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, &mmaplab_prefaulted_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_VM_MAP_PAGES
 *
 * vm_map_pages(): a vm_insert_page() loop over the buffer's page array
 * that honours vm_pgoff itself and refuses (-ENXIO) a range beyond it.
 */
static int mmaplab_vm_map_pages_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	int ret;

	ret = vm_map_pages(vma, s->buf.pages, s->buf.nr_pages);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "vm_map_pages: kernel refused %lu pages at page %lu: %d",
				    vma_pages(vma), vma->vm_pgoff, ret);

	atomic64_add(vma_pages(vma), &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, &mmaplab_prefaulted_vm_ops);
	return 0;
}

/*
 * The pfn a pfn-inserting fault handler may map for @vmf, or false
 * (SIGBUS): past the buffer, freed, or DMA memory outside the direct map.
 */
static bool mmaplab_fault_pfn_of(struct vm_fault *vmf, unsigned long *pfn)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;

	return mmaplab_fault_allowed(s, vmf->pgoff) && mmaplab_buf_pfn(&s->buf, vmf->pgoff, pfn);
}

/* What a pfn-inserting fault handler returns, counted when it mapped the page. */
static vm_fault_t mmaplab_fault_inserted(struct vm_fault *vmf, vm_fault_t ret)
{
	if (ret == VM_FAULT_NOPAGE)
		mmaplab_fault_count(vmf);
	return ret;
}

/*
 * MMAPLAB_METHOD_VMF_INSERT_PFN
 *
 * A VM_PFNMAP VMA filled lazily: the fault handler inserts the pfn of the
 * faulting page as a special PTE. No struct page is touched, so any memory
 * with a pfn works. The kernel BUG()s on a private writable (COW) VM_PFNMAP
 * VMA in vmf_insert_pfn_prot(), so ->mmap refuses MAP_PRIVATE before the
 * VMA can ever fault.
 */
static vm_fault_t mmaplab_vmf_insert_pfn_fault(struct vm_fault *vmf)
{
	unsigned long pfn;

	if (!mmaplab_fault_pfn_of(vmf, &pfn))
		return VM_FAULT_SIGBUS;
	return mmaplab_fault_inserted(vmf, vmf_insert_pfn_prot(vmf->vma, vmf->address, pfn,
								 vmf->vma->vm_page_prot));
}

static const struct vm_operations_struct mmaplab_vmf_insert_pfn_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
	.fault	= mmaplab_vmf_insert_pfn_fault,
};

/*
 * ->mmap of the VM_PFNMAP fault methods: refuse MAP_PRIVATE, and DMA
 * memory outside the direct map now rather than at every fault.
 */
static int mmaplab_pfnmap_fault_mmap(struct mmaplab_session *s, struct vm_area_struct *vma,
				     const struct vm_operations_struct *vm_ops, const char *name)
{
	unsigned long pfn;
	int ret;

	if (is_cow_mapping(vma->vm_flags))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_PRIVATE,
				    "%s: a private mapping of a VM_PFNMAP VMA would BUG", name);
	ret = mmaplab_pfn_of(s, vma->vm_pgoff, &pfn);
	if (ret)
		return ret;

	/*
	 * Not VM_IO: nothing here has side effects on access; VM_PFNMAP
	 * alone already keeps get_user_pages() and the rest of the core
	 * away from the (absent) struct pages.
	 */
	mmaplab_vma_set_flags(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	mmaplab_vma_attach(s, vma, vm_ops);
	return 0;
}

static int mmaplab_vmf_insert_pfn_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	return mmaplab_pfnmap_fault_mmap(s, vma, &mmaplab_vmf_insert_pfn_vm_ops, "vmf_insert_pfn");
}

/*
 * MMAPLAB_METHOD_VMF_INSERT_PFN_PROT
 *
 * VMF_INSERT_PFN with the cache attribute passed to vmf_insert_pfn_prot()
 * at each fault, as a driver does that leaves vm_page_prot alone. On x86
 * the PAT code replaces the cache bits with the memory's own type either
 * way (track_pfn_insert), which CONFIGURE has set to the attribute.
 */
static vm_fault_t mmaplab_vmf_insert_pfn_prot_fault(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;
	unsigned long pfn;
	pgprot_t prot;

	if (!mmaplab_fault_pfn_of(vmf, &pfn))
		return VM_FAULT_SIGBUS;
	prot = mmaplab_cache_prot(s->cache, vmf->vma->vm_page_prot);
	return mmaplab_fault_inserted(vmf, vmf_insert_pfn_prot(vmf->vma, vmf->address, pfn, prot));
}

static const struct vm_operations_struct mmaplab_vmf_insert_pfn_prot_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
	.fault	= mmaplab_vmf_insert_pfn_prot_fault,
};

static int mmaplab_vmf_insert_pfn_prot_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	return mmaplab_pfnmap_fault_mmap(s, vma, &mmaplab_vmf_insert_pfn_prot_vm_ops,
					 "vmf_insert_pfn_prot");
}

/*
 * MMAPLAB_METHOD_VMF_INSERT_MIXED
 *
 * A VM_MIXEDMAP VMA filled lazily by vmf_insert_mixed(). With special PTEs
 * (x86-64) the core never looks at the struct page: no reference, no
 * mapcount, no RSS, and vm_normal_page() answers NULL, so get_user_pages()
 * cannot take these pages either (it fails with -EEXIST, not VM_PFNMAP's
 * -EFAULT). Unlike VM_PFNMAP, a private mapping is fine: a write copies
 * the page from the user address into an anonymous one.
 */
static vm_fault_t mmaplab_vmf_insert_mixed_fault(struct vm_fault *vmf)
{
	unsigned long pfn;

	if (!mmaplab_fault_pfn_of(vmf, &pfn))
		return VM_FAULT_SIGBUS;
	return mmaplab_fault_inserted(vmf, vmf_insert_mixed(vmf->vma, vmf->address,
							      pfn_to_pfn_t(pfn)));
}

static const struct vm_operations_struct mmaplab_vmf_insert_mixed_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
	.fault	= mmaplab_vmf_insert_mixed_fault,
};

static int mmaplab_vmf_insert_mixed_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	unsigned long pfn;
	int ret;

	ret = mmaplab_pfn_of(s, vma->vm_pgoff, &pfn);
	if (ret)
		return ret;
	mmaplab_vma_set_flags(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP);
	mmaplab_vma_attach(s, vma, &mmaplab_vmf_insert_mixed_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_DMA_MMAP_COHERENT
 *
 * The DMA API's own answer: dma_mmap_coherent() maps a coherent buffer the
 * way the DMA implementation requires (dma-direct: one remap_pfn_range()
 * of the buffer's pfns, honouring vm_pgoff and refusing a range beyond the
 * buffer with -ENXIO).
 */
static int mmaplab_dma_mmap_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	int ret;

	ret = dma_mmap_coherent(s->buf.dma_dev, vma, s->buf.vaddr, s->buf.dma_handle,
				s->buf.size);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "dma_mmap_coherent: kernel refused %lu pages at page %lu: %d",
				    vma_pages(vma), vma->vm_pgoff, ret);

	atomic64_add(vma_pages(vma), &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, &mmaplab_prefaulted_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_DMA_MMAP_PAGES
 *
 * The DMA API's mapping of a dma_alloc_pages() buffer: dma_mmap_pages()
 * checks the VMA's offset and length against the buffer (-ENXIO beyond
 * it) and remaps the block from its first page in one remap_pfn_range().
 */
static int mmaplab_dma_mmap_pages_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	int ret;

	ret = dma_mmap_pages(s->buf.dma_dev, vma, s->buf.size, s->buf.block);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "dma_mmap_pages: kernel refused %lu pages at page %lu: %d",
				    vma_pages(vma), vma->vm_pgoff, ret);

	atomic64_add(vma_pages(vma), &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, &mmaplab_prefaulted_vm_ops);
	return 0;
}

/*
 * MMAPLAB_METHOD_IO_REMAP_PFN_RANGE
 *
 * What drivers call for device memory: on x86-64 it is remap_pfn_range()
 * with pgprot_decrypted() of the protection (a no-op without memory
 * encryption), so the VMA is VM_IO | VM_PFNMAP with special PTEs, as for
 * REMAP_PFN_RANGE. One call: the memory is contiguous (support table).
 */
static int mmaplab_io_remap_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	return mmaplab_remap_whole(s, vma, true, mmaplab_remapped_vm_ops(s));
}

/*
 * MMAPLAB_METHOD_VM_IOMAP_MEMORY
 *
 * vm_iomap_memory() gets the region (the buffer's physical start and its
 * length) and works out the part the VMA shows from vm_pgoff itself,
 * refusing (-EINVAL) a VMA that reaches past it, before calling
 * io_remap_pfn_range(). The module has checked the range already; the
 * kernel's check is the one a driver relies on.
 */
static int mmaplab_vm_iomap_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	unsigned long pfn;
	int ret;

	ret = mmaplab_pfn_of(s, 0, &pfn);
	if (ret)
		return ret;

	ret = vm_iomap_memory(vma, PFN_PHYS(pfn), s->buf.size);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "vm_iomap_memory: kernel refused %lu pages at page %lu: %d",
				    vma_pages(vma), vma->vm_pgoff, ret);

	atomic64_add(vma_pages(vma), &s->stats.pages_mapped);
	mmaplab_vma_attach(s, vma, mmaplab_remapped_vm_ops(s));
	return 0;
}

static const struct mmaplab_method_ops mmaplab_methods[MMAPLAB_METHOD_COUNT] = {
	[MMAPLAB_METHOD_REMAP_VMALLOC_RANGE] = {
		.name		= "remap_vmalloc_range",
		.mmap		= mmaplab_remap_vmalloc_mmap,
	},
	[MMAPLAB_METHOD_FAULT_PAGE] = {
		.name		= "fault_page",
		.fault_around	= true,
		.mmap		= mmaplab_fault_page_mmap,
	},
	[MMAPLAB_METHOD_REMAP_PFN_RANGE] = {
		.name		= "remap_pfn_range",
		.pfn_based	= true,
		.mmap		= mmaplab_remap_pfn_mmap,
	},
	[MMAPLAB_METHOD_REMAP_PFN_RANGE_FIRST_PFN] = {
		.name		= "remap_pfn_range_first_pfn",
		.pfn_based	= true,
		.mmap		= mmaplab_remap_first_pfn_mmap,
	},
	[MMAPLAB_METHOD_FAULT_PAGE_NOREF] = {
		.name		= "fault_page_noref",
		.mmap		= mmaplab_fault_noref_mmap,
	},
	[MMAPLAB_METHOD_FAULT_VIRT_TO_PAGE] = {
		.name		= "fault_virt_to_page",
		.mmap		= mmaplab_fault_virt_mmap,
	},
	[MMAPLAB_METHOD_VM_INSERT_PAGE] = {
		.name		= "vm_insert_page",
		.mmap		= mmaplab_vm_insert_page_mmap,
	},
	[MMAPLAB_METHOD_VM_INSERT_PAGES] = {
		.name		= "vm_insert_pages",
		.mmap		= mmaplab_vm_insert_pages_mmap,
	},
	[MMAPLAB_METHOD_VM_MAP_PAGES] = {
		.name		= "vm_map_pages",
		.mmap		= mmaplab_vm_map_pages_mmap,
	},
	[MMAPLAB_METHOD_VMF_INSERT_PFN] = {
		.name		= "vmf_insert_pfn",
		.pfn_based	= true,
		.mmap		= mmaplab_vmf_insert_pfn_mmap,
	},
	[MMAPLAB_METHOD_DMA_MMAP_COHERENT] = {
		.name		= "dma_mmap_coherent",
		.pfn_based	= true,
		.mmap		= mmaplab_dma_mmap_mmap,
	},
	[MMAPLAB_METHOD_DMA_MMAP_PAGES] = {
		.name		= "dma_mmap_pages",
		.pfn_based	= true,
		.mmap		= mmaplab_dma_mmap_pages_mmap,
	},
	[MMAPLAB_METHOD_PAGE_CACHE] = {
		.name		= "page_cache",
		.has_store	= true,
		.mmap		= mmaplab_page_cache_mmap,
	},
	[MMAPLAB_METHOD_DEFERRED_IO] = {
		.name		= "deferred_io",
		.has_store	= true,
		.mmap		= mmaplab_defio_mmap,
	},
	[MMAPLAB_METHOD_DEFERRED_IO_KEEP_MAPPING] = {
		.name		= "deferred_io_keep_mapping",
		.has_store	= true,
		.mmap		= mmaplab_defio_mmap,
	},
	[MMAPLAB_METHOD_VMF_INSERT_MIXED] = {
		.name		= "vmf_insert_mixed",
		.pfn_based	= true,
		.mmap		= mmaplab_vmf_insert_mixed_mmap,
	},
	[MMAPLAB_METHOD_VMF_INSERT_PFN_PROT] = {
		.name		= "vmf_insert_pfn_prot",
		.pfn_based	= true,
		.prot_at_fault	= true,
		.mmap		= mmaplab_vmf_insert_pfn_prot_mmap,
	},
	[MMAPLAB_METHOD_IO_REMAP_PFN_RANGE] = {
		.name		= "io_remap_pfn_range",
		.pfn_based	= true,
		.mmap		= mmaplab_io_remap_mmap,
	},
	[MMAPLAB_METHOD_VM_IOMAP_MEMORY] = {
		.name		= "vm_iomap_memory",
		.pfn_based	= true,
		.mmap		= mmaplab_vm_iomap_mmap,
	},
};

/* @method comes from userspace: clamp it under speculation as well */
static const struct mmaplab_method_ops *mmaplab_method_get(enum mmaplab_method method)
{
	unsigned int i = method;

	if (i >= MMAPLAB_METHOD_COUNT)
		return NULL;
	i = array_index_nospec(i, MMAPLAB_METHOD_COUNT);
	/* entry 0 and any gap in the table are not methods */
	if (!mmaplab_methods[i].mmap)
		return NULL;
	return &mmaplab_methods[i];
}

bool mmaplab_method_known(enum mmaplab_method method)
{
	return mmaplab_method_get(method);
}

/* Is @method (a known one) file-backed, with a backing store? */
bool mmaplab_method_has_store(enum mmaplab_method method)
{
	const struct mmaplab_method_ops *ops = mmaplab_method_get(method);

	return ops && ops->has_store;
}

/* The methods that map the whole range at mmap time with a remap_pfn_range() variant. */
static bool mmaplab_method_remaps(enum mmaplab_method method)
{
	return method == MMAPLAB_METHOD_REMAP_PFN_RANGE ||
	       method == MMAPLAB_METHOD_IO_REMAP_PFN_RANGE ||
	       method == MMAPLAB_METHOD_VM_IOMAP_MEMORY;
}

/*
 * Can @cfg->method map @cfg->alloc's memory with @cfg's cache attribute and
 * flags? Both enums are known. On success *hazard says whether the pair (or
 * the allocator alone) is a hazard; on failure the reason is recorded.
 */
int mmaplab_method_check(struct mmaplab_session *s, const struct mmaplab_config *cfg,
			 bool *hazard)
{
	const struct mmaplab_method_ops *ops = mmaplab_method_get(cfg->method);
	unsigned int alloc = array_index_nospec(cfg->alloc, MMAPLAB_ALLOC_COUNT);
	u8 support = mmaplab_support[array_index_nospec(cfg->method, MMAPLAB_METHOD_COUNT)][alloc];
	u8 marks = mmaplab_alloc_marks[alloc];

	if (support == MMAPLAB_UNSUPPORTED)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
				    "%s cannot map %s memory", ops->name,
				    mmaplab_alloc_name(cfg->alloc));

	if (cfg->cache != MMAPLAB_CACHE_WB) {
		if (!ops->pfn_based)
			return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_CACHE,
					    "%s maps with the core's page protection: WB only",
					    ops->name);
		if (!mmaplab_alloc_can_retype(cfg->alloc))
			return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_CACHE,
					    "%s memory has a WB alias or is not the driver's: WB only",
					    mmaplab_alloc_name(cfg->alloc));
	}

	if (cfg->flags & MMAPLAB_CF_FAULT_AROUND) {
		if (!ops->fault_around)
			return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_FAULT_AROUND,
					    "%s has no fault handler to fault around", ops->name);
		if (!MMAPLAB_HAVE_FAULT_AROUND)
			return mmaplab_fail(s, -EOPNOTSUPP, MMAPLAB_REASON_FAULT_AROUND,
					    "fault-around cannot be done safely on this kernel");
	}

	if ((cfg->flags & MMAPLAB_CF_SPLITTABLE) &&
	    (cfg->alloc != MMAPLAB_ALLOC_PCI_BAR || !mmaplab_method_remaps(cfg->method)))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
				    "SPLITTABLE is for pci_bar mapped by a remap_pfn_range variant, not %s with %s",
				    mmaplab_alloc_name(cfg->alloc), ops->name);

	if (cfg->flags & MMAPLAB_CF_RESERVED_ANY) {
		if ((cfg->flags & MMAPLAB_CF_RESERVED_ANY) == MMAPLAB_CF_RESERVED_ANY)
			return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
					    "RESERVED and RESERVED_KEPT are alternatives");
		if (!(marks & MMAPLAB_MARK_OWN_PAGES) || ops->has_store)
			return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
					    "%s with %s has no pages of the driver's own to mark reserved",
					    mmaplab_alloc_name(cfg->alloc), ops->name);
	}

	/* PG_reserved on a compound page: a debug kernel BUGs at the set */
	*hazard = support == MMAPLAB_HAZARD || (marks & MMAPLAB_MARK_HAZARD) ||
		  (cfg->flags & (MMAPLAB_CF_RESERVED_KEPT | MMAPLAB_CF_SPLITTABLE)) ||
		  ((cfg->flags & MMAPLAB_CF_RESERVED_ANY) && (marks & MMAPLAB_MARK_COMPOUND));
	return 0;
}

/*
 * ->mmap of a configured session whose memory is still there; called with
 * s->lock and mmap_lock held. The VMA must lie inside the buffer: vm_pgoff
 * is the first buffer page it shows, so both it and pgoff + length are
 * checked, the second in a form that cannot overflow.
 */
int mmaplab_map_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	const struct mmaplab_method_ops *ops = mmaplab_method_get(s->method);
	unsigned long npages = vma_pages(vma);

	if (WARN_ON_ONCE(!ops))
		return -EINVAL;

	if (vma->vm_pgoff >= s->buf.nr_pages ||
	    npages > s->buf.nr_pages - vma->vm_pgoff)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_RANGE,
				    "mmap of pages %lu..%lu of a %lu-page buffer",
				    vma->vm_pgoff, vma->vm_pgoff + npages - 1, s->buf.nr_pages);

	if (ops->pfn_based && !ops->prot_at_fault)
		vma->vm_page_prot = mmaplab_cache_prot(s->cache, vma->vm_page_prot);

	return ops->mmap(s, vma);
}
