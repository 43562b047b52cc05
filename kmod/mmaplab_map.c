// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: mapping methods, i.e. how mmap() exposes a session's buffer.
 *
 * Each technique is one vm_operations_struct and the handlers it names, plus
 * an entry in mmaplab_methods[] saying which allocators it works with and how
 * its ->mmap step sets the VMA up.
 *
 * Every technique installs .open/.close, even one that needs no fault
 * handler: they keep session->nr_mappings exact, which is what lets
 * CONFIGURE refuse to free a buffer that is still mapped. ->mmap counts the
 * first VMA itself; .open counts the copies the kernel makes later (fork,
 * a split by a partial munmap or mprotect, mremap), .close every VMA that
 * goes away.
 *
 * One gap is the kernel's, not ours: when ->mmap changes vm_flags (both
 * techniques do), mmap_region() tries once more to merge the new VMA into
 * the one before it and, if that works, frees it without calling .close.
 * 6.1 never merges into a VMA that has .close; 6.12 does. Mapping
 * consecutive offsets of one session at adjacent addresses can therefore
 * leave nr_mappings one too high on 6.12. The only effect is that CONFIGURE
 * keeps answering -EBUSY for that session; nothing is freed early.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/vmalloc.h>

#include "mmaplab.h"
#include "mmaplab_compat.h"

struct mmaplab_method_ops {
	const char *name;
	/* only usable with allow_hazards: it breaks a kernel rule on purpose */
	bool hazard;
	/* can this technique map memory from @alloc at all? */
	bool (*supports)(enum mmaplab_alloc alloc);
	/* set up @vma; the range has been checked against the buffer */
	int (*mmap)(struct mmaplab_session *s, struct vm_area_struct *vma);
};

static void mmaplab_vm_open(struct vm_area_struct *vma)
{
	struct mmaplab_session *s = vma->vm_private_data;

	atomic_inc(&s->nr_mappings);
}

static void mmaplab_vm_close(struct vm_area_struct *vma)
{
	struct mmaplab_session *s = vma->vm_private_data;

	atomic_dec(&s->nr_mappings);
}

/* The last step of every successful ->mmap: from here on the VMA is counted. */
static void mmaplab_vma_attach(struct mmaplab_session *s, struct vm_area_struct *vma,
			       const struct vm_operations_struct *vm_ops)
{
	vma->vm_private_data = s;
	vma->vm_ops = vm_ops;
	mmaplab_vm_open(vma);
}

/*
 * MMAPLAB_METHOD_REMAP_VMALLOC_RANGE
 *
 * All PTEs are installed at mmap time, so the VMA needs no fault handler.
 * The vm_ops are still not optional: besides the counting, a VMA without
 * vm_ops is anonymous to the kernel, and a page zapped by MADV_DONTNEED
 * would silently come back as a fresh zero page. With vm_ops but no .fault
 * such an access is a SIGBUS, which is the honest answer.
 */
static const struct vm_operations_struct mmaplab_remap_vmalloc_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
};

/* remap_vmalloc_range() refuses memory that is not VM_USERMAP vmalloc */
static bool mmaplab_remap_vmalloc_supports(enum mmaplab_alloc alloc)
{
	return alloc == MMAPLAB_ALLOC_VMALLOC_USER;
}

static int mmaplab_remap_vmalloc_mmap(struct mmaplab_session *s,
				      struct vm_area_struct *vma)
{
	int ret;

	/* it sets VM_DONTEXPAND | VM_DONTDUMP (and VM_MIXEDMAP) by itself */
	ret = remap_vmalloc_range(vma, s->buf.vaddr, vma->vm_pgoff);
	if (ret) {
		pr_debug("remap_vmalloc_range failed: %d\n", ret);
		return ret;
	}

	mmaplab_vma_attach(s, vma, &mmaplab_remap_vmalloc_vm_ops);
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
 * frees it under the driver. That is the hazard being reproduced; the
 * handler deliberately does what those drivers did.
 */
static vm_fault_t mmaplab_fault_page_fault(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;
	struct page *page;

	/* VM_DONTEXPAND keeps the VMA inside the buffer; this is the backstop */
	if (vmf->pgoff >= s->buf.nr_pages)
		return VM_FAULT_SIGBUS;

	page = mmaplab_buf_page(&s->buf, vmf->pgoff);
	get_page(page);
	/* returned unlocked: the core locks it (no VM_FAULT_LOCKED) */
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mmaplab_fault_page_vm_ops = {
	.open	= mmaplab_vm_open,
	.close	= mmaplab_vm_close,
	.fault	= mmaplab_fault_page_fault,
};

/* any allocator that can name a struct page per buffer page */
static bool mmaplab_fault_page_supports(enum mmaplab_alloc alloc)
{
	return true;
}

static int mmaplab_fault_page_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	/*
	 * DONTEXPAND: mremap() must not grow the VMA past the buffer.
	 * DONTDUMP: a core dump would fault in every page, which is not part
	 * of what an experiment asked for.
	 */
	mmaplab_vma_set_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	mmaplab_vma_attach(s, vma, &mmaplab_fault_page_vm_ops);
	return 0;
}

static const struct mmaplab_method_ops mmaplab_methods[MMAPLAB_METHOD_COUNT] = {
	[MMAPLAB_METHOD_REMAP_VMALLOC_RANGE] = {
		.name		= "remap_vmalloc_range",
		.hazard		= false,
		.supports	= mmaplab_remap_vmalloc_supports,
		.mmap		= mmaplab_remap_vmalloc_mmap,
	},
	[MMAPLAB_METHOD_FAULT_PAGE] = {
		.name		= "fault_page",
		.hazard		= false,
		.supports	= mmaplab_fault_page_supports,
		.mmap		= mmaplab_fault_page_mmap,
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

/* Is @method a method at all, and can it map memory from @alloc? */
int mmaplab_method_check(enum mmaplab_method method, enum mmaplab_alloc alloc)
{
	const struct mmaplab_method_ops *ops = mmaplab_method_get(method);

	if (!ops || !ops->supports(alloc))
		return -EINVAL;
	return 0;
}

/* Only meaningful for a @method that mmaplab_method_check() accepted. */
bool mmaplab_method_is_hazard(enum mmaplab_method method)
{
	const struct mmaplab_method_ops *ops = mmaplab_method_get(method);

	return ops && ops->hazard;
}

/*
 * ->mmap of a configured session; called with s->lock and mmap_lock held.
 * The VMA must lie inside the buffer: vm_pgoff is the first buffer page it
 * shows, so both it and pgoff + length are checked, the second in a form
 * that cannot overflow.
 */
int mmaplab_map_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	const struct mmaplab_method_ops *ops = mmaplab_method_get(s->method);
	unsigned long npages = vma_pages(vma);

	if (WARN_ON_ONCE(!ops))
		return -EINVAL;

	if (vma->vm_pgoff >= s->buf.nr_pages ||
	    npages > s->buf.nr_pages - vma->vm_pgoff)
		return -EINVAL;

	return ops->mmap(s, vma);
}
