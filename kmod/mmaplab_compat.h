/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmaplab: the only place where kernel version differences are handled.
 *
 * Everything else in mmaplab calls the helpers below and stays free of
 * version checks. Each helper names the kernel release that changed the
 * interface, so a helper can be deleted once the oldest target has it.
 * The targets are 6.1 and 6.12 (Debian 12); anything in between is
 * handled by the same tests but is not what the comments were checked on.
 */
#ifndef _MMAPLAB_COMPAT_H
#define _MMAPLAB_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-flags.h>
#include <linux/version.h>
#include <linux/writeback.h>

/*
 * Since 6.3 vma->vm_flags is read-only outside mm/ and must be changed
 * through vm_flags_set(), which also takes the per-VMA write lock. Before
 * 6.3 the field is written directly (the caller holds mmap_lock for write
 * in ->mmap, which is all the older kernels required).
 */
static inline void mmaplab_vma_set_flags(struct vm_area_struct *vma,
					 unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * Largest order the page allocator hands out. Asking for more is not a
 * plain failure: it triggers a WARN (taint W), which the experiments read
 * as a kernel complaint, so callers must check against this first.
 *
 * Before 6.4 MAX_ORDER was exclusive (orders 0 .. MAX_ORDER - 1); 6.4 made
 * it inclusive and 6.8 renamed it MAX_PAGE_ORDER.
 */
#if defined(MAX_PAGE_ORDER)
#define MMAPLAB_MAX_PAGE_ORDER	MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define MMAPLAB_MAX_PAGE_ORDER	MAX_ORDER
#else
#define MMAPLAB_MAX_PAGE_ORDER	(MAX_ORDER - 1)
#endif

/*
 * Does @page belong to a slab? 6.1 keeps this in the PG_slab flag of the
 * head page; 6.10 turned slab into a page type of the folio (stored in
 * page_type, which shares its word with _mapcount). folio_test_slab() of
 * the page's folio is right on both, and covers tail pages of a
 * multi-page slab too.
 */
static inline bool mmaplab_page_is_slab(struct page *page)
{
	return folio_test_slab(page_folio(page));
}

/*
 * Does @page carry a page type (buddy, page table, offline, guard; slab and
 * a few more since 6.10)? The type lives in the word that otherwise holds
 * _mapcount, so a typed page has no mapcount at all. Both kernels spell the
 * test page_has_type(); 6.1 takes a non-const page.
 */
static inline bool mmaplab_page_is_typed(struct page *page)
{
	return page_has_type(page);
}

/*
 * How many page table entries map @page, for INFO. 0 for pages that cannot
 * be mapped (typed, slab), whose _mapcount word holds something else.
 *
 * 6.1 has page_mapcount(), which handles compound pages but would return
 * the page type plus one for a typed page. 6.12 no longer has it (its
 * callers moved to folio_mapcount(), which counts the whole folio); the
 * per-page count is still _mapcount + 1, plus the PMD mappings of the
 * folio (its entire mapcount), which is what page_mapcount() returned.
 * Racy by nature: INFO is a snapshot, and it may look at pages that were
 * freed and reused (FREE_WHILE_MAPPED), which only ever reads the memmap.
 */
static inline int mmaplab_page_mapcount(struct page *page)
{
	if (mmaplab_page_is_typed(page) || mmaplab_page_is_slab(page))
		return 0;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	{
		int mapcount = atomic_read(&page->_mapcount) + 1;

		if (PageCompound(page)) {
			struct folio *folio = page_folio(page);

			if (folio_test_large(folio))
				mapcount += folio_entire_mapcount(folio);
		}
		return mapcount;
	}
#else
	return page_mapcount(page);
#endif
}

/*
 * Fault-around (->map_pages) for the fault methods.
 *
 * The core calls ->map_pages from do_fault_around() for read faults on
 * VMAs that provide it, with the neighbouring page offsets of the faulting
 * one (fault_around_bytes, 64 KiB by default), before ->fault:
 *   6.1:  with mmap_lock held for read, nothing else.
 *   6.12: inside rcu_read_lock() (since 6.5), and possibly with only the
 *         per-VMA read lock instead of mmap_lock (per-VMA locks, 6.4+).
 *         Nothing in it may sleep.
 *
 * The in-tree implementation (filemap_map_pages) installs PTEs with
 * do_set_pte() (6.1) / set_pte_range() (6.12) under the PTE lock; neither
 * is exported, nor is pmd_install(), which would consume the PTE table the
 * core preallocates in vmf->prealloc_pte. What is exported and correct is
 * vm_insert_page(): it takes the page reference, the rmap and RSS
 * accounting and the PTE lock itself, exactly as a fault would. It can
 * sleep in one place only, allocating a missing page table level (the
 * levels above the PMD exist: the core made them for this very fault, so
 * only the PTE table can be missing), and it asserts that mmap_lock is
 * held for *write* unless the VMA is already VM_MIXEDMAP (under a read
 * lock or the VMA lock alone, that assertion would BUG).
 *
 * So mmaplab_map.c sets VM_MIXEDMAP at mmap time for fault-around VMAs and
 * calls vm_insert_page() from ->map_pages only when the PMD already points
 * to a PTE table; with none it maps nothing and the fault proceeds through
 * ->fault (whose finish_fault() consumes the preallocated table), so the
 * next fault in the same 2 MiB range does fault around. The check cannot
 * race with the table going away: PTE tables of a VMA are only freed with
 * the VMA write-locked (munmap, mremap) or by khugepaged collapse, and a
 * VM_MIXEDMAP / VM_DONTEXPAND (VM_SPECIAL) VMA of a character device is
 * never collapsed. Neither kernel frees empty PTE tables on MADV_DONTNEED
 * (that arrived in 6.14 with CONFIG_PT_RECLAIM).
 *
 * This holds on both targets, so both allow it. A kernel where it would
 * not hold (a newer one that reclaims PTE tables, say) should set this to
 * 0: CONFIGURE then refuses MMAPLAB_CF_FAULT_AROUND with -EOPNOTSUPP.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 14, 0)
#define MMAPLAB_HAVE_FAULT_AROUND	1
#else
#define MMAPLAB_HAVE_FAULT_AROUND	0
#endif

/*
 * The file-backed methods (mmaplab_file.c) use these the same way on both
 * targets, so they need no helper; all are exported to modules on both:
 * init_pseudo, kern_mount (GPL), kern_unmount, kill_anon_super,
 * super_setup_bdi, new_inode, get_next_ino, __insert_inode_hash, iput,
 * write_inode_now, filemap_fault, filemap_map_pages, filemap_dirty_folio,
 * noop_dirty_folio, filemap_fdatawrite, filemap_write_and_wait_range,
 * file_write_and_wait_range, invalidate_inode_pages2 (GPL),
 * folio_wait_stable (GPL), folio_mkclean (GPL), write_cache_pages.
 *
 * - folio_mkclean() takes the folio on both; 6.1 still has page_mkclean()
 *   as an inline wrapper of it, 6.12 no longer does, so the folio form is
 *   the one used.
 * - folio_start_writeback() returns bool on 6.1 and nothing on 6.12; the
 *   result is not used.
 * - ->writepage still takes a struct page and is still what memory
 *   reclaim (pageout) and migration's fallback (writeout) call on both.
 *
 * Store ownership (mmaplab_store.c) needs no helper either: file->f_cred,
 * kuid_t and uid_eq(), file_ns_capable() (exported on both) and
 * init_user_ns (GPL) are the same on both targets.
 */

/*
 * write_cache_pages() with a callback that takes a folio.
 *
 * 6.3 changed writepage_t, the callback type of write_cache_pages(), from
 * (struct page *, ...) to (struct folio *, ...). On both, the callback gets
 * a locked folio whose dirty bit was cleared for I/O and must unlock it.
 * Before 6.3 a trampoline turns the page into its folio.
 */
typedef int (*mmaplab_writefolio_t)(struct folio *folio, struct writeback_control *wbc,
				    void *data);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static inline int mmaplab_write_cache_pages(struct address_space *mapping,
					    struct writeback_control *wbc,
					    mmaplab_writefolio_t writefolio, void *data)
{
	return write_cache_pages(mapping, wbc, writefolio, data);
}
#else
struct mmaplab_writepage_trampoline {
	mmaplab_writefolio_t writefolio;
	void *data;
};

static inline int mmaplab_writepage_trampoline(struct page *page, struct writeback_control *wbc,
					       void *data)
{
	struct mmaplab_writepage_trampoline *t = data;

	return t->writefolio(page_folio(page), wbc, t->data);
}

static inline int mmaplab_write_cache_pages(struct address_space *mapping,
					    struct writeback_control *wbc,
					    mmaplab_writefolio_t writefolio, void *data)
{
	struct mmaplab_writepage_trampoline t = { .writefolio = writefolio, .data = data };

	return write_cache_pages(mapping, wbc, mmaplab_writepage_trampoline, &t);
}
#endif

/*
 * A reference to @file unless its count already reached zero (it is being
 * released). 6.1 and 6.12 count in f_count; 6.13 moved to file_ref_t.
 */
static inline bool mmaplab_file_tryget(struct file *file)
{
	return atomic_long_inc_not_zero(&file->f_count);
}

#endif /* _MMAPLAB_COMPAT_H */
