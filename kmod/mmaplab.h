/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmaplab: declarations shared by the module's files.
 *
 *   mmaplab_main.c   misc device, file operations, ioctls, sessions
 *   mmaplab_alloc.c  allocators: where a session's buffer comes from
 *   mmaplab_map.c    mapping methods: one vm_operations_struct per technique
 */
#ifndef _MMAPLAB_H
#define _MMAPLAB_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include <uapi/linux/mmaplab.h>

struct page;
struct vm_area_struct;
struct mmaplab_allocator;

/*
 * A session's buffer. @ops is NULL while nothing is allocated, which is how
 * the rest of the module tells "configured" from "not configured".
 */
struct mmaplab_buf {
	const struct mmaplab_allocator *ops;
	size_t size;			/* bytes, a multiple of PAGE_SIZE */
	unsigned long nr_pages;		/* size >> PAGE_SHIFT */
	void *vaddr;			/* VMALLOC_USER: the vmalloc address */
	struct page *block;		/* PAGES_NOCOMP: first page of the block */
	unsigned int order;		/* PAGES_NOCOMP: order of the block */
};

/*
 * One open file of /dev/mmaplab.
 *
 * @lock serialises CONFIGURE, FILL, VERIFY and ->mmap against each other,
 * so the buffer cannot be replaced under any of them. ->mmap runs with
 * mmap_lock held and takes @lock inside it; ioctls must therefore never
 * touch user memory (which may fault and take mmap_lock) while holding @lock.
 *
 * @nr_mappings counts the VMAs that map the buffer. The fault handler and
 * the page tables use the buffer without @lock; they are safe because
 * CONFIGURE refuses to replace the buffer while this is non-zero, and the
 * VMAs pin the file, so release() cannot run before the last one is gone.
 */
struct mmaplab_session {
	struct mutex lock;
	enum mmaplab_method method;
	struct mmaplab_buf buf;
	atomic_t nr_mappings;
};

static inline bool mmaplab_session_configured(const struct mmaplab_session *s)
{
	return s->buf.ops;
}

/* mmaplab_alloc.c */
int mmaplab_alloc_check(enum mmaplab_alloc alloc, u64 size);
bool mmaplab_alloc_is_hazard(enum mmaplab_alloc alloc);
int mmaplab_buf_alloc(struct mmaplab_buf *buf, enum mmaplab_alloc alloc, size_t size);
void mmaplab_buf_free(struct mmaplab_buf *buf);
struct page *mmaplab_buf_page(const struct mmaplab_buf *buf, unsigned long index);
void *mmaplab_buf_kaddr(const struct mmaplab_buf *buf, size_t offset);

/* mmaplab_map.c */
int mmaplab_method_check(enum mmaplab_method method, enum mmaplab_alloc alloc);
bool mmaplab_method_is_hazard(enum mmaplab_method method);
int mmaplab_map_mmap(struct mmaplab_session *s, struct vm_area_struct *vma);

#endif /* _MMAPLAB_H */
