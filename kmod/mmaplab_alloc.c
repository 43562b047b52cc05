// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: allocators, i.e. where a session's buffer comes from.
 *
 * Each allocator is one entry of mmaplab_allocators[]: how to get and give
 * back the memory, and how to find the struct page, the pfn and the kernel
 * address behind any part of it. The mapping methods, FILL/VERIFY, read(),
 * write() and INFO only use those lookups, so a new allocator needs no
 * change outside this file but what CONFIGURE accepts of it: its marks
 * (own pages, compound, hazard) and its column of the support table, both
 * in mmaplab_support.h.
 *
 * Every allocator that has struct pages fills buf->pages at allocation
 * time: vm_map_pages() and vm_insert_pages() want such an array, and it
 * keeps naming the pages after FREE_WHILE_MAPPED has given the memory back
 * (a vmalloc address can no longer be translated then). The per-allocator
 * ->page lookup is still what the fault methods use, because *how* a
 * driver finds the page is part of the method.
 *
 * All memory handed to userspace starts zeroed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/vmalloc.h>
#include <asm/set_memory.h>

#include "mmaplab.h"
#include "mmaplab_compat.h"

struct mmaplab_allocator {
	const char *name;
	/* physically contiguous: pfn(i) == pfn(0) + i */
	bool contiguous;
	/* has struct pages that page-based methods may be given (buf->pages) */
	bool has_pages;
	/*
	 * The memory's only kernel alias is the direct map, so its memory
	 * type can be changed for a WC/UC mapping (see mmaplab_buf_set_cache).
	 */
	bool retypable;
	/* may this allocator provide @size bytes? 0 or -EINVAL */
	int (*check)(size_t size);
	/* get the memory; fill buf->pages if has_pages */
	int (*alloc)(struct mmaplab_buf *buf);
	void (*free)(struct mmaplab_buf *buf);
	/* the page the fault methods hand out; NULL if there is none to use */
	struct page *(*page)(const struct mmaplab_buf *buf, unsigned long index);
	/*
	 * kernel address of byte @offset, valid to the end of its page; NULL
	 * for memory that is I/O memory to the kernel (buf->iomem instead)
	 */
	void *(*kaddr)(const struct mmaplab_buf *buf, size_t offset);
	/*
	 * Give the memory cache type @cache (WB included) the allocator's own
	 * way; without it, mmaplab_buf_set_cache retypes RAM. Undone by ->free.
	 */
	int (*set_cache)(struct mmaplab_buf *buf, enum mmaplab_cache cache);
};

atomic_long_t mmaplab_nr_buffers = ATOMIC_LONG_INIT(0);
atomic_long_t mmaplab_nr_pages = ATOMIC_LONG_INIT(0);

/* Helpers shared by several allocators */

/* The order of a single block holding @size bytes, if the allocator can give one. */
static int mmaplab_block_check(size_t size)
{
	/*
	 * Larger orders can never succeed and would WARN in the allocator,
	 * which the experiments would misread as a kernel complaint.
	 */
	if (get_order(size) > MMAPLAB_MAX_PAGE_ORDER)
		return -EINVAL;
	return 0;
}

static int mmaplab_any_size(size_t size)
{
	return 0;
}

static struct page *mmaplab_array_page(const struct mmaplab_buf *buf, unsigned long index)
{
	return buf->pages[index];
}

/* Direct-map address of an array page (x86-64 has no highmem). */
static void *mmaplab_array_kaddr(const struct mmaplab_buf *buf, size_t offset)
{
	return page_address(buf->pages[offset >> PAGE_SHIFT]) + offset_in_page(offset);
}

/* Every allocator with a kernel virtual address of byte 0 that is contiguous. */
static void *mmaplab_vaddr_kaddr(const struct mmaplab_buf *buf, size_t offset)
{
	return buf->vaddr + offset;
}

static struct page *mmaplab_block_page(const struct mmaplab_buf *buf, unsigned long index)
{
	return nth_page(buf->block, index);
}

static void *mmaplab_block_kaddr(const struct mmaplab_buf *buf, size_t offset)
{
	return page_address(buf->block) + offset;
}

static void mmaplab_name_pages(struct mmaplab_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++)
		buf->pages[i] = buf->ops->page(buf, i);
}

/*
 * MMAPLAB_ALLOC_VMALLOC_USER
 *
 * vmalloc_user() zeroes the memory and marks the area VM_USERMAP, which is
 * what remap_vmalloc_range() insists on. Its pages are ordinary order-0
 * pages with a reference held by vmalloc, so a fault handler may take and
 * drop references of its own on them, and vfree() only drops vmalloc's
 * reference: pages still mapped by page-refcounting methods live on.
 *
 * Not retypable: the vmalloc alias would stay write-back whatever is done
 * to the direct map, and set_memory_wc() cannot be used on a vmalloc
 * address (it reserves the memory type by __pa() of the address).
 */
static int mmaplab_vmalloc_user_alloc(struct mmaplab_buf *buf)
{
	buf->vaddr = vmalloc_user(buf->size);
	if (!buf->vaddr)
		return -ENOMEM;
	mmaplab_name_pages(buf);
	return 0;
}

/* Also VMALLOC's */
static void mmaplab_vmalloc_free(struct mmaplab_buf *buf)
{
	vfree(buf->vaddr);
	buf->vaddr = NULL;
}

/* virt_to_page() on a vmalloc address names an unrelated page */
static struct page *mmaplab_vmalloc_page(const struct mmaplab_buf *buf, unsigned long index)
{
	return vmalloc_to_page(buf->vaddr + (index << PAGE_SHIFT));
}

/*
 * MMAPLAB_ALLOC_VMALLOC
 *
 * Plain vmalloc memory: the same pages as vmalloc_user(), but the area is
 * not VM_USERMAP, so remap_vmalloc_range() refuses it. __GFP_ZERO makes it
 * vzalloc(), __GFP_NOWARN keeps a failure a plain -ENOMEM; the difference
 * that matters, the missing VM_USERMAP, stays. (vmalloc_user() takes no gfp
 * flags: a VMALLOC_USER failure is reported by the allocator as well.)
 */
static int mmaplab_vmalloc_alloc(struct mmaplab_buf *buf)
{
	buf->vaddr = __vmalloc(buf->size, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
	if (!buf->vaddr)
		return -ENOMEM;
	mmaplab_name_pages(buf);
	return 0;
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
	/* an order-0 block has no tail page, hence nothing to reproduce */
	if (get_order(size) < 1)
		return -EINVAL;
	return mmaplab_block_check(size);
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
	mmaplab_name_pages(buf);
	return 0;
}

/*
 * The order must match: the block is not compound, nothing records it.
 * If a mapping still holds a reference on the first page, __free_pages()
 * drops only that one, but frees every other part of the block at once.
 */
static void mmaplab_pages_nocomp_free(struct mmaplab_buf *buf)
{
	__free_pages(buf->block, buf->order);
	buf->block = NULL;
}

/*
 * MMAPLAB_ALLOC_KMALLOC
 *
 * kmalloc() memory, aligned to a page as a careful driver would: kmalloc
 * returns naturally aligned objects for power-of-two sizes, and whole
 * compound pages above KMALLOC_MAX_CACHE_SIZE (8 KiB), so the fallback
 * (over-allocate by a page less one byte and align inside) only matters on
 * a kernel or debug option that breaks that. Up to 8 KiB the pages belong
 * to a slab; that is recorded, since it decides what the kernel accepts.
 *
 * The pages are found with virt_to_page(), which is right for both slab
 * and large kmalloc memory (both are in the direct map).
 */
static int mmaplab_kmalloc_check(size_t size)
{
	/* larger requests WARN in the page allocator */
	if (size > KMALLOC_MAX_SIZE)
		return -EINVAL;
	return 0;
}

static int mmaplab_kmalloc_alloc(struct mmaplab_buf *buf)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN;

	buf->raw = kmalloc(buf->size, gfp);
	if (buf->raw && !PAGE_ALIGNED(buf->raw)) {
		kfree(buf->raw);
		buf->raw = NULL;
		if (buf->size + PAGE_SIZE - 1 <= KMALLOC_MAX_SIZE)
			buf->raw = kmalloc(buf->size + PAGE_SIZE - 1, gfp);
	}
	if (!buf->raw)
		return -ENOMEM;

	buf->vaddr = PTR_ALIGN(buf->raw, PAGE_SIZE);
	buf->slab = mmaplab_page_is_slab(virt_to_page(buf->vaddr));
	mmaplab_name_pages(buf);
	return 0;
}

/*
 * A large (non-slab) kmalloc is freed by dropping a folio reference, so
 * its pages survive while a mapping holds references of its own; slab
 * memory goes back to its cache whatever maps it.
 */
static void mmaplab_kmalloc_free(struct mmaplab_buf *buf)
{
	kfree(buf->raw);
	buf->raw = NULL;
	buf->vaddr = NULL;
}

static struct page *mmaplab_kmalloc_page(const struct mmaplab_buf *buf, unsigned long index)
{
	return virt_to_page(buf->vaddr + (index << PAGE_SHIFT));
}

/*
 * MMAPLAB_ALLOC_PAGES_ARRAY
 *
 * Independent order-0 pages, one alloc_page() each: every page has its own
 * reference, so every method that counts references works on them. The
 * array is the allocation; there is no kernel mapping but the direct map.
 */
static int mmaplab_pages_array_alloc(struct mmaplab_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++) {
		buf->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
		if (!buf->pages[i])
			goto err_free;
	}
	return 0;

err_free:
	while (i--)
		__free_page(buf->pages[i]);
	return -ENOMEM;
}

/* Also PAGES_SPLIT's: __free_page() drops our reference only. */
static void mmaplab_pages_array_free(struct mmaplab_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i++)
		__free_page(buf->pages[i]);
}

/*
 * MMAPLAB_ALLOC_SHMEM
 *
 * A shmem object, as DRM's GEM shmem helpers back a buffer object:
 * shmem_file_setup() makes an unlinked file on the kernel's internal tmpfs
 * mount, and shmem_read_mapping_page() brings each page into that file's
 * page cache (zeroed) and returns it with a reference, which the buffer
 * holds until the free. So the pages are page-cache pages: page->mapping
 * and page->index are the object's, and they are on an LRU list. Like the
 * GEM helpers, the object is marked unevictable while its pages are held
 * (reclaim could not free them anyway); VM_NORESERVE, as GEM does, leaves
 * the object out of the overcommit accounting. Not retypable: the pages
 * are the page cache's, and go back to it (or to a swap device) WB.
 */
static int mmaplab_shmem_alloc(struct mmaplab_buf *buf)
{
	struct file *file;
	unsigned long i;

	file = shmem_file_setup("mmaplab", buf->size, VM_NORESERVE);
	if (IS_ERR(file))
		return PTR_ERR(file);
	mapping_set_unevictable(file->f_mapping);
	for (i = 0; i < buf->nr_pages; i++) {
		struct page *page = shmem_read_mapping_page(file->f_mapping, i);

		if (IS_ERR(page)) {
			while (i--)
				put_page(buf->pages[i]);
			fput(file);
			return PTR_ERR(page);
		}
		buf->pages[i] = page;
	}
	buf->shmem = file;
	return 0;
}

/* Back on the evictable LRU lists, then the buffer's references dropped. */
static void mmaplab_shmem_release_batch(struct folio_batch *fbatch)
{
	check_move_unevictable_folios(fbatch);
	folio_batch_release(fbatch);
}

/*
 * Drop the references to the object's pages the buffer holds (none while
 * unpinned), marking each dirty first if @dirty, as drm_gem_put_pages()
 * does: the object is evictable again, and so are the pages it had on
 * the unevictable list.
 */
static void mmaplab_shmem_put_pages(struct mmaplab_buf *buf, bool dirty)
{
	struct folio_batch fbatch;
	unsigned long i;

	mapping_clear_unevictable(buf->shmem->f_mapping);
	folio_batch_init(&fbatch);
	for (i = 0; i < buf->nr_pages; i++) {
		struct folio *folio;

		if (!buf->pages[i])
			continue;
		folio = page_folio(buf->pages[i]);
		buf->pages[i] = NULL;
		if (dirty)
			folio_mark_dirty(folio);
		if (!folio_batch_add(&fbatch, folio))
			mmaplab_shmem_release_batch(&fbatch);
	}
	if (folio_batch_count(&fbatch))
		mmaplab_shmem_release_batch(&fbatch);
}

/*
 * Drop the buffer's references, then the object: the last fput() truncates
 * its page cache, so a page still mapped by a refcounting method lives
 * on outside it until munmap.
 */
static void mmaplab_shmem_free(struct mmaplab_buf *buf)
{
	mmaplab_shmem_put_pages(buf, false);
	fput(buf->shmem);
	buf->shmem = NULL;
}

bool mmaplab_buf_is_shmem(const struct mmaplab_buf *buf)
{
	return buf->ops && buf->ops->alloc == mmaplab_shmem_alloc;
}

/*
 * Give a SHMEM buffer's pages back to its object while nothing maps them,
 * as a GPU driver's shrinker does with an idle object (i915's put_pages):
 * every page is marked dirty first (@dirty), because what the kernel wrote
 * through the direct map left no trace for reclaim to see, and a clean
 * shmem page may be dropped rather than written to swap. Without @dirty
 * (the hazard SHMEM_PIN 2) that is what can happen. The object is
 * evictable again until mmaplab_buf_pin().
 */
void mmaplab_buf_unpin(struct mmaplab_buf *buf, bool dirty)
{
	if (buf->unpinned)
		return;
	mmaplab_shmem_put_pages(buf, dirty);
	buf->has_pfn = false;
	buf->unpinned = true;
}

/*
 * Read every page of the object in again and hold it (i915's get_pages).
 * @from_swap: how many of them reclaim had moved to swap (a swap entry in
 * the object's page cache where the page was).
 */
int mmaplab_buf_pin(struct mmaplab_buf *buf, u64 *from_swap)
{
	struct address_space *mapping = buf->shmem->f_mapping;
	unsigned long i;

	*from_swap = 0;
	if (!buf->unpinned)
		return 0;
	for (i = 0; i < buf->nr_pages; i++) {
		struct page *page;

		if (xa_is_value(xa_load(&mapping->i_pages, i)))
			(*from_swap)++;
		page = shmem_read_mapping_page(mapping, i);
		if (IS_ERR(page)) {
			mmaplab_shmem_put_pages(buf, false);
			return PTR_ERR(page);
		}
		buf->pages[i] = page;
	}
	mapping_set_unevictable(mapping);
	buf->has_pfn = true;
	buf->unpinned = false;
	return 0;
}

/*
 * MMAPLAB_ALLOC_PAGES_COMP
 *
 * One compound block: alloc_pages(__GFP_COMP). The head holds the only
 * reference for the whole block; get_page() on a tail page takes a
 * reference on the head, so reference-counting methods work, and the
 * block is only freed when the last of those references is dropped. The
 * block has order get_order(size); the pages beyond size stay part of it
 * unused (a compound page cannot be freed in parts).
 */
static int mmaplab_pages_comp_alloc(struct mmaplab_buf *buf)
{
	buf->order = get_order(buf->size);
	buf->block = alloc_pages(GFP_KERNEL | __GFP_COMP | __GFP_ZERO | __GFP_NOWARN,
				 buf->order);
	if (!buf->block)
		return -ENOMEM;
	mmaplab_name_pages(buf);
	return 0;
}

/* __free_pages() of a compound head drops one reference on the whole block */
static void mmaplab_pages_comp_free(struct mmaplab_buf *buf)
{
	__free_pages(buf->block, buf->order);
	buf->block = NULL;
}

/*
 * MMAPLAB_ALLOC_PAGES_SPLIT
 *
 * One alloc_pages(order) block turned into independent order-0 pages by
 * split_page(): physically contiguous, but each page has its own
 * reference, as PAGES_ARRAY's do. The pages beyond size (when size is not a
 * power-of-two number of pages) are given back right after the split, so
 * the buffer owns exactly nr_pages pages and frees them one by one.
 */
static int mmaplab_pages_split_alloc(struct mmaplab_buf *buf)
{
	unsigned long i;
	struct page *block;

	buf->order = get_order(buf->size);
	block = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, buf->order);
	if (!block)
		return -ENOMEM;
	split_page(block, buf->order);

	for (i = 0; i < (1UL << buf->order); i++) {
		if (i < buf->nr_pages)
			buf->pages[i] = nth_page(block, i);
		else
			__free_page(nth_page(block, i));
	}
	return 0;
}

/*
 * MMAPLAB_ALLOC_DMA_COHERENT
 *
 * dma_alloc_coherent() on the misc device, whose DMA masks the module set
 * at load time like a platform driver does (a misc device has no bus to
 * configure DMA for it). What comes back is the DMA API's business: with
 * dma-direct (no IOMMU) it is a non-compound high-order block in the
 * direct map, with an IOMMU or a remapping pool it may be a vmalloc-style
 * address. The module therefore names no struct page for it (page-based
 * methods refuse it), and names pfns only for a direct-map address.
 */
static int mmaplab_dma_check(size_t size)
{
	/* dma-direct allocates one block of get_order(size) */
	return mmaplab_block_check(size);
}

/* dma_alloc_coherent() for buf->dma_dev, which the caller set */
static int mmaplab_dma_alloc_for(struct mmaplab_buf *buf)
{
	buf->vaddr = dma_alloc_coherent(buf->dma_dev, buf->size, &buf->dma_handle,
					GFP_KERNEL | __GFP_NOWARN);
	if (!buf->vaddr)
		return -ENOMEM;
	if (virt_addr_valid(buf->vaddr)) {
		buf->base_pfn = PHYS_PFN(virt_to_phys(buf->vaddr));
		buf->has_pfn = true;
	}
	return 0;
}

static int mmaplab_dma_alloc(struct mmaplab_buf *buf)
{
	buf->dma_dev = mmaplab_dma_device();
	return mmaplab_dma_alloc_for(buf);
}

/* Also DMA_DEVICE's */
static void mmaplab_dma_free(struct mmaplab_buf *buf)
{
	dma_free_coherent(buf->dma_dev, buf->size, buf->vaddr, buf->dma_handle);
	buf->vaddr = NULL;
}

/*
 * MMAPLAB_ALLOC_DMA_DEVICE
 *
 * The same for the device that does DMA (mmaplab_pci.c's edu): its mask is
 * the engine's reach as measured at probe (32 bits in mmaplab's VMs, so
 * ZONE_DMA32; 28 otherwise, so below 256 MiB), and DEVICE_DMA can have the
 * device read and write it while userspace maps it.
 */
static int mmaplab_dma_device_alloc(struct mmaplab_buf *buf)
{
	buf->dma_dev = mmaplab_edu_device();
	if (!buf->dma_dev)
		return -ENODEV;
	return mmaplab_dma_alloc_for(buf);
}

/*
 * MMAPLAB_ALLOC_DMA_PAGES
 *
 * dma_alloc_pages() for the DMA device, the non-coherent DMA API's buffer
 * (dma_alloc_noncoherent() is this and page_address()): memory the device
 * reaches, with a DMA address, which the driver hands to the device with
 * dma_sync_single_for_device() and takes back with _for_cpu() around each
 * transfer (DEVICE_DMA does). The DMA API refuses __GFP_COMP, so above one
 * page the buffer is one block whose tail pages have a zero refcount, as
 * PAGES_NOCOMP's: the pfn-based methods and dma_mmap_pages() map it,
 * vm_insert_page() refuses its tail pages, and a fault handler that hands
 * them out is a hazard.
 */
static int mmaplab_dma_pages_alloc(struct mmaplab_buf *buf)
{
	buf->dma_dev = mmaplab_edu_device();
	if (!buf->dma_dev)
		return -ENODEV;
	buf->block = dma_alloc_pages(buf->dma_dev, buf->size, &buf->dma_handle,
				     DMA_BIDIRECTIONAL, GFP_KERNEL | __GFP_NOWARN);
	if (!buf->block)
		return -ENOMEM;
	memset(page_address(buf->block), 0, buf->size);
	mmaplab_name_pages(buf);
	return 0;
}

static void mmaplab_dma_pages_free(struct mmaplab_buf *buf)
{
	dma_free_pages(buf->dma_dev, buf->size, buf->block, buf->dma_handle, DMA_BIDIRECTIONAL);
	buf->block = NULL;
}

/* Memory of the streaming (non-coherent) DMA API: transfers need syncs. */
bool mmaplab_buf_is_streaming(const struct mmaplab_buf *buf)
{
	return buf->ops && buf->ops->alloc == mmaplab_dma_pages_alloc;
}

/* Also PCI_BAR's: memory with no struct page the module may hand out */
static struct page *mmaplab_dma_page(const struct mmaplab_buf *buf, unsigned long index)
{
	return NULL;
}

/*
 * MMAPLAB_ALLOC_PCI_BAR
 *
 * The BAR of the device mmaplab_pci.c drives, from its start: physically
 * contiguous, no struct pages, so only the pfn-based methods take it. The
 * allocation claims the BAR for this session; the memory type, and with it
 * the module's own mapping, comes with the cache attribute, as a driver
 * sets it up:
 *   WB  ioremap_cache() (device memory that is RAM at the far end);
 *   WC  arch_io_reserve_memtype_wc() for the range, so that every later
 *       mapping of it is WC, arch_phys_wc_add() (an MTRR where there is no
 *       PAT), then ioremap_wc(), as GPU drivers do for their apertures;
 *   UC  ioremap(), UC- on x86, which pgprot_noncached() also is.
 * The memory starts zeroed like every other allocator's.
 */
static int mmaplab_pci_bar_alloc(struct mmaplab_buf *buf)
{
	return mmaplab_pci_bar_claim(buf->size, &buf->phys);
}

static int mmaplab_pci_bar_set_cache(struct mmaplab_buf *buf, enum mmaplab_cache cache)
{
	int ret;

	switch (cache) {
	case MMAPLAB_CACHE_WC:
		ret = arch_io_reserve_memtype_wc(buf->phys, buf->size);
		if (ret)
			return ret;
		buf->wc_cookie = arch_phys_wc_add(buf->phys, buf->size);
		buf->iomem = ioremap_wc(buf->phys, buf->size);
		break;
	case MMAPLAB_CACHE_UC:
		buf->iomem = ioremap(buf->phys, buf->size);
		break;
	default:
		buf->iomem = ioremap_cache(buf->phys, buf->size);
		break;
	}
	if (!buf->iomem) {
		if (cache == MMAPLAB_CACHE_WC) {
			arch_phys_wc_del(buf->wc_cookie);
			arch_io_free_memtype_wc(buf->phys, buf->size);
		}
		return -ENOMEM;
	}
	buf->cache = cache;
	buf->base_pfn = PHYS_PFN(buf->phys);
	buf->has_pfn = true;
	memset_io(buf->iomem, 0, buf->size);
	return 0;
}

/* Also after a failed set_cache: the claim is all there is then. */
static void mmaplab_pci_bar_free(struct mmaplab_buf *buf)
{
	if (buf->iomem) {
		iounmap(buf->iomem);
		buf->iomem = NULL;
		if (buf->cache == MMAPLAB_CACHE_WC) {
			arch_phys_wc_del(buf->wc_cookie);
			arch_io_free_memtype_wc(buf->phys, buf->size);
		}
	}
	mmaplab_pci_bar_unclaim();
}

static const struct mmaplab_allocator mmaplab_allocators[MMAPLAB_ALLOC_COUNT] = {
	[MMAPLAB_ALLOC_VMALLOC_USER] = {
		.name		= "vmalloc_user",
		.has_pages	= true,
		.check		= mmaplab_any_size,
		.alloc		= mmaplab_vmalloc_user_alloc,
		.free		= mmaplab_vmalloc_free,
		.page		= mmaplab_vmalloc_page,
		.kaddr		= mmaplab_vaddr_kaddr,
	},
	[MMAPLAB_ALLOC_PAGES_NOCOMP] = {
		.name		= "pages_nocomp",
		.contiguous	= true,
		.has_pages	= true,
		.retypable	= true,
		.check		= mmaplab_pages_nocomp_check,
		.alloc		= mmaplab_pages_nocomp_alloc,
		.free		= mmaplab_pages_nocomp_free,
		.page		= mmaplab_block_page,
		.kaddr		= mmaplab_block_kaddr,
	},
	[MMAPLAB_ALLOC_KMALLOC] = {
		.name		= "kmalloc",
		.contiguous	= true,
		.has_pages	= true,
		.retypable	= true,
		.check		= mmaplab_kmalloc_check,
		.alloc		= mmaplab_kmalloc_alloc,
		.free		= mmaplab_kmalloc_free,
		.page		= mmaplab_kmalloc_page,
		.kaddr		= mmaplab_vaddr_kaddr,
	},
	[MMAPLAB_ALLOC_VMALLOC] = {
		.name		= "vmalloc",
		.has_pages	= true,
		.check		= mmaplab_any_size,
		.alloc		= mmaplab_vmalloc_alloc,
		.free		= mmaplab_vmalloc_free,
		.page		= mmaplab_vmalloc_page,
		.kaddr		= mmaplab_vaddr_kaddr,
	},
	[MMAPLAB_ALLOC_PAGES_ARRAY] = {
		.name		= "pages_array",
		.has_pages	= true,
		.retypable	= true,
		.check		= mmaplab_any_size,
		.alloc		= mmaplab_pages_array_alloc,
		.free		= mmaplab_pages_array_free,
		.page		= mmaplab_array_page,
		.kaddr		= mmaplab_array_kaddr,
	},
	[MMAPLAB_ALLOC_PAGES_COMP] = {
		.name		= "pages_comp",
		.contiguous	= true,
		.has_pages	= true,
		.retypable	= true,
		.check		= mmaplab_block_check,
		.alloc		= mmaplab_pages_comp_alloc,
		.free		= mmaplab_pages_comp_free,
		.page		= mmaplab_block_page,
		.kaddr		= mmaplab_block_kaddr,
	},
	[MMAPLAB_ALLOC_PAGES_SPLIT] = {
		.name		= "pages_split",
		.contiguous	= true,
		.has_pages	= true,
		.retypable	= true,
		.check		= mmaplab_block_check,
		.alloc		= mmaplab_pages_split_alloc,
		.free		= mmaplab_pages_array_free,
		.page		= mmaplab_array_page,
		.kaddr		= mmaplab_array_kaddr,
	},
	[MMAPLAB_ALLOC_DMA_COHERENT] = {
		.name		= "dma_coherent",
		.contiguous	= true,
		.retypable	= true,
		.check		= mmaplab_dma_check,
		.alloc		= mmaplab_dma_alloc,
		.free		= mmaplab_dma_free,
		.page		= mmaplab_dma_page,
		.kaddr		= mmaplab_vaddr_kaddr,
	},
	[MMAPLAB_ALLOC_DMA_DEVICE] = {
		.name		= "dma_device",
		.contiguous	= true,
		.retypable	= true,
		.check		= mmaplab_dma_check,
		.alloc		= mmaplab_dma_device_alloc,
		.free		= mmaplab_dma_free,
		.page		= mmaplab_dma_page,
		.kaddr		= mmaplab_vaddr_kaddr,
	},
	[MMAPLAB_ALLOC_PCI_BAR] = {
		.name		= "pci_bar",
		.contiguous	= true,
		.retypable	= true,
		.check		= mmaplab_any_size,
		.alloc		= mmaplab_pci_bar_alloc,
		.free		= mmaplab_pci_bar_free,
		.page		= mmaplab_dma_page,
		.set_cache	= mmaplab_pci_bar_set_cache,
	},
	[MMAPLAB_ALLOC_DMA_PAGES] = {
		.name		= "dma_pages",
		.contiguous	= true,
		.has_pages	= true,
		.check		= mmaplab_dma_check,
		.alloc		= mmaplab_dma_pages_alloc,
		.free		= mmaplab_dma_pages_free,
		.page		= mmaplab_block_page,
		.kaddr		= mmaplab_block_kaddr,
	},
	[MMAPLAB_ALLOC_SHMEM] = {
		.name		= "shmem",
		.has_pages	= true,
		.check		= mmaplab_any_size,
		.alloc		= mmaplab_shmem_alloc,
		.free		= mmaplab_shmem_free,
		.page		= mmaplab_array_page,
		.kaddr		= mmaplab_array_kaddr,
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

bool mmaplab_alloc_known(enum mmaplab_alloc alloc)
{
	return mmaplab_allocator_get(alloc);
}

const char *mmaplab_alloc_name(enum mmaplab_alloc alloc)
{
	const struct mmaplab_allocator *ops = mmaplab_allocator_get(alloc);

	return ops ? ops->name : "?";
}

/*
 * Can @alloc provide a buffer of @size bytes? The caller has already checked
 * that @alloc is known and @size is a non-zero page multiple no larger than
 * max_size.
 */
int mmaplab_alloc_check(enum mmaplab_alloc alloc, u64 size)
{
	return mmaplab_allocator_get(alloc)->check(size);
}

bool mmaplab_alloc_can_retype(enum mmaplab_alloc alloc)
{
	return mmaplab_allocator_get(alloc)->retypable;
}

/*
 * The reserved-page ritual of old drivers: SetPageReserved on every page of
 * the buffer (@how: MMAPLAB_CF_RESERVED or the hazard _KEPT, 0 for none).
 * Nothing in today's mapping paths looks at the flag; the page allocator's
 * free-time checks do, which is why RESERVED clears it again before the
 * free (mmaplab_buf_release_memory) and RESERVED_KEPT does not. Only for
 * an allocator with buf->pages (CONFIGURE takes it only for those marked
 * MMAPLAB_MARK_OWN_PAGES, mmaplab_support.h).
 */
void mmaplab_buf_set_reserved(struct mmaplab_buf *buf, u32 how)
{
	unsigned long i;

	if (!how || WARN_ON_ONCE(!buf->pages))
		return;
	for (i = 0; i < buf->nr_pages; i++)
		SetPageReserved(buf->pages[i]);
	buf->reserved = how;
}

static void mmaplab_buf_clear_reserved(struct mmaplab_buf *buf)
{
	unsigned long i;

	if (buf->reserved != MMAPLAB_CF_RESERVED)
		return;
	for (i = 0; i < buf->nr_pages; i++)
		ClearPageReserved(buf->pages[i]);
	buf->reserved = 0;
}

/*
 * The memory type of the buffer's memory, for a WC or UC mapping.
 *
 * x86 PAT tracks a memory type for every RAM page (WB unless changed) and
 * checks a pfn mapping against it: remap_pfn_range() of RAM with a cache
 * mode that differs from the page's prints "x86/PAT: ... map pfn RAM range
 * req write-combining ..., got write-back" and silently maps write-back;
 * vmf_insert_pfn_prot() silently takes the page's type. A driver that wants
 * a WC/UC user mapping of RAM therefore changes the pages' type first
 * (set_memory_wc() or set_pages_array_wc(), which also change the direct
 * map so that no alias is cached differently) and sets it back to WB
 * before freeing them. This is what ALSA's x86 WC buffers do.
 *
 * pgprot_noncached() is UC- on x86, which is also the type set_memory_uc()
 * gives, so mmap and memory agree for UC as well.
 */
static int mmaplab_buf_retype(struct mmaplab_buf *buf, enum mmaplab_cache cache)
{
	unsigned long addr = (unsigned long)buf->vaddr;
	int n = buf->nr_pages;

	if (buf->pages) {
		switch (cache) {
		case MMAPLAB_CACHE_WC:
			return set_pages_array_wc(buf->pages, n);
		case MMAPLAB_CACHE_UC:
			return set_pages_array_uc(buf->pages, n);
		default:
			return set_pages_array_wb(buf->pages, n);
		}
	}

	switch (cache) {
	case MMAPLAB_CACHE_WC:
		return set_memory_wc(addr, n);
	case MMAPLAB_CACHE_UC:
		return set_memory_uc(addr, n);
	default:
		return set_memory_wb(addr, n);
	}
}

/*
 * Give a freshly allocated buffer the memory type @cache. Only for
 * retypable allocators (the caller checked); DMA memory outside the direct
 * map cannot be retyped and is refused with -EINVAL.
 */
int mmaplab_buf_set_cache(struct mmaplab_buf *buf, enum mmaplab_cache cache)
{
	int ret;

	if (buf->ops->set_cache)
		return buf->ops->set_cache(buf, cache);
	if (cache == MMAPLAB_CACHE_WB)
		return 0;
	if (!buf->pages && !buf->has_pfn)
		return -EINVAL;

	ret = mmaplab_buf_retype(buf, cache);
	if (ret)
		return ret;
	buf->cache = cache;
	return 0;
}

/* @buf must be empty; on failure it stays empty. */
int mmaplab_buf_alloc(struct mmaplab_buf *buf, enum mmaplab_alloc alloc, size_t size)
{
	const struct mmaplab_allocator *ops = mmaplab_allocator_get(alloc);
	int ret;

	if (WARN_ON_ONCE(!ops || buf->ops))
		return -EINVAL;

	memset(buf, 0, sizeof(*buf));
	buf->ops = ops;
	buf->size = size;
	buf->nr_pages = size >> PAGE_SHIFT;
	buf->cache = MMAPLAB_CACHE_WB;

	if (ops->has_pages) {
		buf->pages = kvcalloc(buf->nr_pages, sizeof(*buf->pages), GFP_KERNEL);
		if (!buf->pages) {
			ret = -ENOMEM;
			goto err_reset;
		}
	}

	ret = ops->alloc(buf);
	if (ret)
		goto err_free_pages;

	if (ops->has_pages)
		buf->has_pfn = true;

	atomic_long_inc(&mmaplab_nr_buffers);
	atomic_long_add(buf->nr_pages, &mmaplab_nr_pages);
	pr_debug("allocated %zu bytes with %s\n", size, ops->name);
	return 0;

err_free_pages:
	kvfree(buf->pages);
err_reset:
	memset(buf, 0, sizeof(*buf));
	return ret;
}

/*
 * Give the memory back but keep the description of the buffer (the
 * FREE_WHILE_MAPPED hazard, and the first half of mmaplab_buf_free).
 *
 * Memory whose type was changed goes back to WB first: freeing WC/UC pages
 * would hand the next user memory with a non-WB direct map. If that fails
 * the memory is leaked instead, which is the lesser evil.
 */
void mmaplab_buf_release_memory(struct mmaplab_buf *buf)
{
	if (!buf->ops || buf->freed)
		return;

	/* fault handlers test this before looking at the memory */
	WRITE_ONCE(buf->freed, true);

	if (buf->cache != MMAPLAB_CACHE_WB && !buf->ops->set_cache) {
		int ret = mmaplab_buf_retype(buf, MMAPLAB_CACHE_WB);

		if (ret) {
			pr_err("cannot set %zu bytes of %s memory back to write-back (%d), leaking it\n",
			       buf->size, buf->ops->name, ret);
			return;
		}
		buf->cache = MMAPLAB_CACHE_WB;
	}
	mmaplab_buf_clear_reserved(buf);
	buf->ops->free(buf);
	atomic_long_sub(buf->nr_pages, &mmaplab_nr_pages);
}

/*
 * Hand the memory of a VMALLOC or VMALLOC_USER buffer to another owner, who
 * frees it with vfree(): the PAGE_CACHE backing store outlives its session
 * (the module keeps closed stores for reading). The buffer is left as after
 * FREE_WHILE_MAPPED, so mmaplab_buf_free() only drops its description.
 * Returns the memory, or NULL if the buffer has none to give.
 */
void *mmaplab_buf_take_vmalloc(struct mmaplab_buf *buf)
{
	void *vaddr;

	if (!buf->ops || buf->freed || buf->ops->free != mmaplab_vmalloc_free)
		return NULL;
	vaddr = buf->vaddr;
	WRITE_ONCE(buf->freed, true);
	buf->vaddr = NULL;
	/* the store's now, not this buffer's */
	atomic_long_sub(buf->nr_pages, &mmaplab_nr_pages);
	return vaddr;
}

/* Safe on an empty or freed buffer. Nothing may map the buffer any more. */
void mmaplab_buf_free(struct mmaplab_buf *buf)
{
	if (!buf->ops)
		return;
	mmaplab_buf_release_memory(buf);
	kvfree(buf->pages);
	memset(buf, 0, sizeof(*buf));
	atomic_long_dec(&mmaplab_nr_buffers);
}

bool mmaplab_buf_contiguous(const struct mmaplab_buf *buf)
{
	return buf->ops->contiguous;
}

/*
 * The page a fault method hands out for buffer page @index (which must
 * be below buf->nr_pages), found the way the allocator requires, or NULL.
 * Not after FREE_WHILE_MAPPED: the lookup may translate a freed address.
 */
struct page *mmaplab_buf_page(const struct mmaplab_buf *buf, unsigned long index)
{
	return buf->ops->page(buf, index);
}

/*
 * The pfn of buffer page @index; false if the memory has none the module
 * can name (DMA memory outside the direct map). Stays right after
 * FREE_WHILE_MAPPED (then naming memory the buffer no longer owns).
 */
bool mmaplab_buf_pfn(const struct mmaplab_buf *buf, unsigned long index, unsigned long *pfn)
{
	if (!buf->has_pfn)
		return false;
	if (buf->pages)
		*pfn = page_to_pfn(buf->pages[index]);
	else
		*pfn = buf->base_pfn + index;
	return true;
}

/*
 * Kernel address of byte @offset of the buffer, valid up to the end of the
 * page that holds it: allocators are free to be discontiguous across pages.
 */
void *mmaplab_buf_kaddr(const struct mmaplab_buf *buf, size_t offset)
{
	return buf->ops->kaddr ? buf->ops->kaddr(buf, offset) : NULL;
}

/* Is the buffer I/O memory to the kernel, reached through buf->iomem only? */
bool mmaplab_buf_is_io(const struct mmaplab_buf *buf)
{
	return !buf->ops->kaddr;
}

/*
 * Copy @len bytes at @offset out of the buffer or into it, within one page
 * (as mmaplab_buf_kaddr): the I/O accessors for I/O memory, memcpy else.
 */
void mmaplab_buf_copy_out(const struct mmaplab_buf *buf, size_t offset, void *dst, size_t len)
{
	if (mmaplab_buf_is_io(buf))
		memcpy_fromio(dst, buf->iomem + offset, len);
	else
		memcpy(dst, mmaplab_buf_kaddr(buf, offset), len);
}

void mmaplab_buf_copy_in(struct mmaplab_buf *buf, size_t offset, const void *src, size_t len)
{
	if (mmaplab_buf_is_io(buf))
		memcpy_toio(buf->iomem + offset, src, len);
	else
		memcpy(mmaplab_buf_kaddr(buf, offset), src, len);
}
