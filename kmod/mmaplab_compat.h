/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmaplab: the only place where kernel version differences are handled.
 *
 * Everything else in mmaplab calls the helpers below and stays free of
 * version checks. Each helper names the kernel release that changed the
 * interface, so a helper can be deleted once the oldest target has it.
 */
#ifndef _MMAPLAB_COMPAT_H
#define _MMAPLAB_COMPAT_H

#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/version.h>

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

#endif /* _MMAPLAB_COMPAT_H */
