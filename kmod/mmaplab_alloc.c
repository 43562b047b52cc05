// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: allocators, i.e. where a session's buffer comes from.
 *
 * Each allocator is one entry of mmaplab_allocators[]: how to get and give
 * back the memory, and how to find the struct page and the kernel address
 * behind any part of it. The mapping methods and FILL/VERIFY only use those
 * two lookups, so a new allocator needs no change outside this file.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/vmalloc.h>

#include "mmaplab.h"
#include "mmaplab_compat.h"

struct mmaplab_allocator {
	const char *name;
	/* only usable with allow_hazards: it breaks a kernel rule on purpose */
	bool hazard;
	/* may this allocator provide @size bytes? 0 or -EINVAL */
	int (*check)(size_t size);
	int (*alloc)(struct mmaplab_buf *buf);
	void (*free)(struct mmaplab_buf *buf);
	struct page *(*page)(const struct mmaplab_buf *buf, unsigned long index);
	void *(*kaddr)(const struct mmaplab_buf *buf, size_t offset);
};

/*
 * MMAPLAB_ALLOC_VMALLOC_USER
 *
 * vmalloc_user() zeroes the memory and marks the area VM_USERMAP, which is
 * what remap_vmalloc_range() insists on. Its pages are ordinary order-0
 * pages with a reference held by vmalloc, so a fault handler may take and
 * drop references of its own on them.
 */
static int mmaplab_vmalloc_user_check(size_t size)
{
	return 0;
}

static int mmaplab_vmalloc_user_alloc(struct mmaplab_buf *buf)
{
	buf->vaddr = vmalloc_user(buf->size);
	if (!buf->vaddr)
		return -ENOMEM;
	return 0;
}

static void mmaplab_vmalloc_user_free(struct mmaplab_buf *buf)
{
	vfree(buf->vaddr);
	buf->vaddr = NULL;
}

/* virt_to_page() on a vmalloc address names an unrelated page */
static struct page *mmaplab_vmalloc_user_page(const struct mmaplab_buf *buf,
					      unsigned long index)
{
	return vmalloc_to_page(buf->vaddr + (index << PAGE_SHIFT));
}

static void *mmaplab_vmalloc_user_kaddr(const struct mmaplab_buf *buf, size_t offset)
{
	return buf->vaddr + offset;
}

/*
 * MMAPLAB_ALLOC_PAGES_NOCOMP (hazard)
 *
 * One physically contiguous block from alloc_pages() *without* __GFP_COMP:
 * only the first page holds a reference, every other page of the block has
 * a refcount of zero. Handing those tail pages to code that takes and drops
 * page references is the bug this allocator exists to reproduce, so the
 * block is kept exactly as the buggy drivers had it.
 */
static int mmaplab_pages_nocomp_check(size_t size)
{
	unsigned int order = get_order(size);

	/* an order-0 block has no tail page, hence nothing to reproduce */
	if (order < 1)
		return -EINVAL;
	/*
	 * Larger orders can never succeed and would WARN in the allocator,
	 * which the experiments would misread as the hazard's own report.
	 */
	if (order > MMAPLAB_MAX_PAGE_ORDER)
		return -EINVAL;
	return 0;
}

static int mmaplab_pages_nocomp_alloc(struct mmaplab_buf *buf)
{
	/*
	 * __GFP_ZERO: the buffer goes to userspace, so it must not carry old
	 * kernel data (vmalloc_user() zeroes too; both start out equal).
	 * __GFP_NOWARN: a failure is reported to the caller as -ENOMEM; the
	 * allocator's own warning would only be noise in the kernel log.
	 */
	buf->order = get_order(buf->size);
	buf->block = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, buf->order);
	if (!buf->block)
		return -ENOMEM;
	return 0;
}

static void mmaplab_pages_nocomp_free(struct mmaplab_buf *buf)
{
	/* the order must match: the block is not compound, nothing records it */
	__free_pages(buf->block, buf->order);
	buf->block = NULL;
	buf->order = 0;
}

static struct page *mmaplab_pages_nocomp_page(const struct mmaplab_buf *buf,
					      unsigned long index)
{
	return nth_page(buf->block, index);
}

/* GFP_KERNEL memory is in the direct map, so the block is contiguous there too */
static void *mmaplab_pages_nocomp_kaddr(const struct mmaplab_buf *buf, size_t offset)
{
	return page_address(buf->block) + offset;
}

static const struct mmaplab_allocator mmaplab_allocators[MMAPLAB_ALLOC_COUNT] = {
	[MMAPLAB_ALLOC_VMALLOC_USER] = {
		.name	= "vmalloc_user",
		.hazard	= false,
		.check	= mmaplab_vmalloc_user_check,
		.alloc	= mmaplab_vmalloc_user_alloc,
		.free	= mmaplab_vmalloc_user_free,
		.page	= mmaplab_vmalloc_user_page,
		.kaddr	= mmaplab_vmalloc_user_kaddr,
	},
	[MMAPLAB_ALLOC_PAGES_NOCOMP] = {
		.name	= "pages_nocomp",
		.hazard	= true,
		.check	= mmaplab_pages_nocomp_check,
		.alloc	= mmaplab_pages_nocomp_alloc,
		.free	= mmaplab_pages_nocomp_free,
		.page	= mmaplab_pages_nocomp_page,
		.kaddr	= mmaplab_pages_nocomp_kaddr,
	},
};

/* @alloc comes from userspace: clamp it under speculation as well */
static const struct mmaplab_allocator *mmaplab_allocator_get(enum mmaplab_alloc alloc)
{
	unsigned int i = alloc;

	if (i >= MMAPLAB_ALLOC_COUNT)
		return NULL;
	i = array_index_nospec(i, MMAPLAB_ALLOC_COUNT);
	/* entry 0 and any gap in the table are not allocators */
	if (!mmaplab_allocators[i].alloc)
		return NULL;
	return &mmaplab_allocators[i];
}

/*
 * Can @alloc provide a buffer of @size bytes? The caller has already checked
 * that @size is a non-zero page multiple no larger than MMAPLAB_MAX_SIZE.
 */
int mmaplab_alloc_check(enum mmaplab_alloc alloc, u64 size)
{
	const struct mmaplab_allocator *ops = mmaplab_allocator_get(alloc);

	if (!ops)
		return -EINVAL;
	return ops->check(size);
}

/* Only meaningful for an @alloc that mmaplab_alloc_check() accepted. */
bool mmaplab_alloc_is_hazard(enum mmaplab_alloc alloc)
{
	const struct mmaplab_allocator *ops = mmaplab_allocator_get(alloc);

	return ops && ops->hazard;
}

/* @buf must be empty; on failure it stays empty. */
int mmaplab_buf_alloc(struct mmaplab_buf *buf, enum mmaplab_alloc alloc, size_t size)
{
	const struct mmaplab_allocator *ops = mmaplab_allocator_get(alloc);
	int ret;

	if (WARN_ON_ONCE(!ops || buf->ops))
		return -EINVAL;

	buf->size = size;
	buf->nr_pages = size >> PAGE_SHIFT;
	ret = ops->alloc(buf);
	if (ret)
		goto err_reset;

	buf->ops = ops;
	pr_debug("allocated %zu bytes with %s\n", size, ops->name);
	return 0;

err_reset:
	buf->size = 0;
	buf->nr_pages = 0;
	return ret;
}

/* Safe on an empty buffer. Nothing may map the buffer any more. */
void mmaplab_buf_free(struct mmaplab_buf *buf)
{
	if (!buf->ops)
		return;
	buf->ops->free(buf);
	buf->ops = NULL;
	buf->size = 0;
	buf->nr_pages = 0;
}

/* The page behind buffer page @index; @index must be below buf->nr_pages. */
struct page *mmaplab_buf_page(const struct mmaplab_buf *buf, unsigned long index)
{
	return buf->ops->page(buf, index);
}

/*
 * Kernel address of byte @offset of the buffer, valid up to the end of the
 * page that holds it: allocators are free to be discontiguous across pages.
 */
void *mmaplab_buf_kaddr(const struct mmaplab_buf *buf, size_t offset)
{
	return buf->ops->kaddr(buf, offset);
}
