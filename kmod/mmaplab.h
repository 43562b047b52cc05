/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmaplab: declarations shared by the module's files.
 *
 *   mmaplab_main.c    misc device, module parameters, file operations
 *   mmaplab_ioctl.c   the ioctls, the last-error record, INFO and STATS
 *   mmaplab_alloc.c   allocators: where a session's buffer comes from
 *   mmaplab_map.c     mapping methods: one vm_operations_struct per method
 *   mmaplab_file.c    the file-backed methods (PAGE_CACHE, DEFERRED_IO*): the
 *                     internal filesystem, a session's inode, writeback, flushes
 *   mmaplab_store.c   backing stores of the file-backed methods, kept by id
 *   mmaplab_pci.c     the PCI device whose BAR is the PCI_BAR allocator's memory
 *   mmaplab_dmabuf.c  a session's buffer exported as a dma-buf
 *   mmaplab_compat.h  everything that differs between the target kernels
 *   mmaplab_support.h what CONFIGURE accepts: allocator marks, the support
 *                     table (shared with the addon; included by mmaplab_map.c)
 */
#ifndef _MMAPLAB_H
#define _MMAPLAB_H

#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include <uapi/linux/mmaplab.h>

/* Either way of marking the buffer's pages reserved (they are alternatives). */
#define MMAPLAB_CF_RESERVED_ANY	(MMAPLAB_CF_RESERVED | MMAPLAB_CF_RESERVED_KEPT)

struct device;
struct dma_buf;
struct file;
struct mmaplab_allocator;
struct mmaplab_fileio;
struct mmaplab_kstore;

/*
 * A session's buffer. @ops is NULL while nothing is allocated, which is how
 * the rest of the module tells "configured" from "not configured".
 *
 * @freed: FREE_WHILE_MAPPED gave the memory back while VMAs still map it.
 * Everything else stays (size, @pages, the pfns), so INFO can still say
 * what the mappings point at; only the memory itself is gone. Fault
 * handlers read it without the session lock, hence READ_ONCE/WRITE_ONCE.
 */
struct mmaplab_buf {
	const struct mmaplab_allocator *ops;
	size_t size;			/* bytes, a multiple of PAGE_SIZE */
	unsigned long nr_pages;		/* size >> PAGE_SHIFT */
	/*
	 * Every page of the buffer, for the allocators whose memory has
	 * struct pages that methods may use (all but DMA_COHERENT).
	 * vm_map_pages() and vm_insert_pages() take it as is; INFO and the
	 * pfn lookup use it because it stays valid after FREE_WHILE_MAPPED.
	 */
	struct page **pages;
	void *vaddr;			/* kernel address of byte 0 (vmalloc, kmalloc, DMA) */
	void __iomem *iomem;		/* PCI_BAR: the module's own mapping of byte 0 */
	phys_addr_t phys;		/* PCI_BAR: physical address of byte 0 */
	int wc_cookie;			/* PCI_BAR, WC: arch_phys_wc_add()'s handle */
	void *raw;			/* KMALLOC: the pointer kfree() wants */
	struct file *shmem;		/* SHMEM: the object whose pages these are */
	struct page *block;		/* PAGES_COMP, PAGES_NOCOMP, DMA_PAGES: first page */
	unsigned int order;		/* PAGES_COMP, PAGES_NOCOMP, PAGES_SPLIT */
	dma_addr_t dma_handle;		/* DMA_COHERENT, DMA_DEVICE, DMA_PAGES */
	struct device *dma_dev;		/* DMA_COHERENT, DMA_DEVICE, DMA_PAGES: its device */
	unsigned long base_pfn;		/* DMA_COHERENT: pfn of byte 0, if has_pfn */
	bool has_pfn;			/* a pfn can be named for every page */
	bool slab;			/* KMALLOC: the object came from a slab cache */
	enum mmaplab_cache cache;	/* memory type given to the memory */
	/* 0, MMAPLAB_CF_RESERVED or MMAPLAB_CF_RESERVED_KEPT: PG_reserved is set */
	u32 reserved;
	bool freed;
	/* SHMEM: the pages were given back to the object (SHMEM_PIN 0) */
	bool unpinned;
};

/* Counters of struct mmaplab_stats, updated without the session lock. */
struct mmaplab_counters {
	atomic64_t faults;
	atomic64_t map_pages_calls;
	atomic64_t pages_mapped;
	atomic64_t vma_opens;
	atomic64_t vma_closes;
	atomic64_t read_calls;
	atomic64_t read_bytes;
	atomic64_t write_calls;
	atomic64_t write_bytes;
	/* the file-backed methods only */
	atomic64_t read_folio_calls;
	atomic64_t writeback_calls;
	atomic64_t pages_written;
	atomic64_t batches;
	atomic64_t mkwrite_faults;
	atomic64_t periodic_runs;
	atomic64_t flush_latency_last_ns;
	atomic64_t flush_latency_max_ns;
	/* DMA_BUF_IOCTL_SYNC on the session's dma-bufs */
	atomic64_t dmabuf_cpu_begin;
	atomic64_t dmabuf_cpu_end;
};

/*
 * One open file of /dev/mmaplab.
 *
 * @lock serialises CONFIGURE, FILL, VERIFY, FREE_WHILE_MAPPED, read(),
 * write() and ->mmap against each other, so the buffer cannot be replaced
 * or freed under any of them. ->mmap runs with mmap_lock held and takes
 * @lock inside it; nothing may therefore touch user memory (which may fault
 * and take mmap_lock) while holding @lock: ioctls copy in before and out
 * after, read() and write() go through a bounce page.
 *
 * @nr_mappings counts the VMAs that map the buffer. The fault handlers and
 * the page tables use the buffer without @lock; they are safe because
 * CONFIGURE refuses to replace the buffer while this is non-zero, and the
 * VMAs pin the file, so release() cannot run before the last one is gone.
 *
 * @error_lock protects @last_error only, so that a failure can be
 * recorded from any context the module runs in, with or without @lock.
 *
 * @fio is the file side of a PAGE_CACHE or DEFERRED_IO* session (NULL for
 * every other method): set up by CONFIGURE after the buffer, torn down
 * before the buffer is freed (reconfigure, release), both under @lock.
 * Writeback and the module's own work items use it without @lock; they
 * end before it is torn down (mmaplab_file.c).
 */
struct mmaplab_session {
	struct mutex lock;		/* serialises the buffer's users */
	enum mmaplab_alloc alloc;
	enum mmaplab_method method;
	enum mmaplab_cache cache;
	u32 config_flags;
	struct mmaplab_buf buf;
	atomic_t nr_mappings;
	struct mmaplab_counters stats;
	spinlock_t error_lock;		/* @last_error */
	struct mmaplab_last_error last_error;
	struct mmaplab_fileio *fio;
	/* The buffer's dma-buf while one lives (mmaplab_dmabuf.c), under @lock. */
	struct dma_buf *dmabuf;
};

static inline bool mmaplab_session_configured(const struct mmaplab_session *s)
{
	return s->buf.ops;
}

/*
 * Module-wide counters of struct mmaplab_module_counters. Buffers and
 * pages change only in mmaplab_alloc.c (allocation, release of the memory,
 * hand-over to a store, free of the description), sessions only in open
 * and release, so every path that creates or frees one balances them.
 */
extern atomic_long_t mmaplab_nr_buffers;
extern atomic_long_t mmaplab_nr_pages;
extern atomic_long_t mmaplab_nr_sessions;

/* mmaplab_main.c */
extern bool mmaplab_allow_hazards;
extern unsigned long mmaplab_max_size;
struct device *mmaplab_dma_device(void);
int mmaplab_session_mmap(struct mmaplab_session *s, struct vm_area_struct *vma, const char *what);

/* mmaplab_pci.c */
int mmaplab_pci_init(void);
void mmaplab_pci_exit(void);
int mmaplab_pci_bar_claim(size_t size, phys_addr_t *start);
void mmaplab_pci_bar_unclaim(void);
struct device *mmaplab_edu_device(void);
/* What DEVICE_DMA moves: @nr_pages pages from @base on, or at @pages[i]. */
struct mmaplab_dma_target {
	dma_addr_t base;
	const dma_addr_t *pages;
	unsigned long nr_pages;
};

int mmaplab_edu_dma(const struct mmaplab_dma_target *t, struct mmaplab_device_dma *req);

/* mmaplab_ioctl.c */
__printf(4, 5)
int mmaplab_fail(struct mmaplab_session *s, int error, enum mmaplab_reason reason,
		 const char *fmt, ...);
void mmaplab_succeed(struct mmaplab_session *s);
int mmaplab_buf_usable(struct mmaplab_session *s, const char *what);
long mmaplab_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* mmaplab_alloc.c */
bool mmaplab_alloc_known(enum mmaplab_alloc alloc);
const char *mmaplab_alloc_name(enum mmaplab_alloc alloc);
int mmaplab_alloc_check(enum mmaplab_alloc alloc, u64 size);
bool mmaplab_alloc_can_retype(enum mmaplab_alloc alloc);
void mmaplab_buf_set_reserved(struct mmaplab_buf *buf, u32 how);
int mmaplab_buf_alloc(struct mmaplab_buf *buf, enum mmaplab_alloc alloc, size_t size);
int mmaplab_buf_set_cache(struct mmaplab_buf *buf, enum mmaplab_cache cache);
void mmaplab_buf_release_memory(struct mmaplab_buf *buf);
void mmaplab_buf_free(struct mmaplab_buf *buf);
void *mmaplab_buf_take_vmalloc(struct mmaplab_buf *buf);
bool mmaplab_buf_contiguous(const struct mmaplab_buf *buf);
struct page *mmaplab_buf_page(const struct mmaplab_buf *buf, unsigned long index);
bool mmaplab_buf_pfn(const struct mmaplab_buf *buf, unsigned long index, unsigned long *pfn);
void *mmaplab_buf_kaddr(const struct mmaplab_buf *buf, size_t offset);
bool mmaplab_buf_is_io(const struct mmaplab_buf *buf);
bool mmaplab_buf_is_shmem(const struct mmaplab_buf *buf);
bool mmaplab_buf_is_streaming(const struct mmaplab_buf *buf);
void mmaplab_buf_unpin(struct mmaplab_buf *buf, bool dirty);
int mmaplab_buf_pin(struct mmaplab_buf *buf, u64 *from_swap);
void mmaplab_buf_copy_out(const struct mmaplab_buf *buf, size_t offset, void *dst, size_t len);
void mmaplab_buf_copy_in(struct mmaplab_buf *buf, size_t offset, const void *src, size_t len);

/* mmaplab_map.c */
bool mmaplab_method_known(enum mmaplab_method method);
int mmaplab_method_check(struct mmaplab_session *s, const struct mmaplab_config *cfg,
			 bool *hazard);
int mmaplab_map_mmap(struct mmaplab_session *s, struct vm_area_struct *vma);
bool mmaplab_method_has_store(enum mmaplab_method method);
void mmaplab_vm_open(struct vm_area_struct *vma);
void mmaplab_vm_close(struct vm_area_struct *vma);
void mmaplab_vma_attach(struct mmaplab_session *s, struct vm_area_struct *vma,
			const struct vm_operations_struct *vm_ops);

/*
 * mmaplab_ioctl.c: FILL and VERIFY, one page at a time. The pattern of
 * @seed is written, or (@v set) checked, with the first mismatch in @v.
 */
struct mmaplab_pattern {
	u32 seed;
	struct mmaplab_verify *v;
};

/* Page @pg of the pattern (from 0), filled or checked at @page; true on a mismatch. */
bool mmaplab_pattern_page(void *page, unsigned long pg, const struct mmaplab_pattern *pat);
/* @page(@arg, pg, @pat) for each of @nr_pages pages, until a mismatch. */
int mmaplab_pattern_walk(unsigned long nr_pages, const struct mmaplab_pattern *pat,
			 bool (*page)(void *arg, unsigned long pg,
				      const struct mmaplab_pattern *pat),
			 void *arg);
int mmaplab_buf_pattern(struct mmaplab_buf *buf, const struct mmaplab_pattern *pat);

/* mmaplab_file.c */
int mmaplab_file_init(void);
void mmaplab_file_exit(void);
int mmaplab_file_check(struct mmaplab_session *s, const struct mmaplab_config *cfg);
int mmaplab_file_setup(struct mmaplab_session *s, struct file *file,
		       const struct mmaplab_config *cfg);
void mmaplab_file_teardown(struct mmaplab_session *s, struct file *file);
int mmaplab_file_pattern(struct mmaplab_session *s, const struct mmaplab_pattern *pat);
int mmaplab_file_flush(struct mmaplab_session *s);
int mmaplab_file_fsync(struct file *file, loff_t start, loff_t end, int datasync);
struct mmaplab_kstore *mmaplab_file_store(struct mmaplab_session *s);
int mmaplab_page_cache_mmap(struct mmaplab_session *s, struct vm_area_struct *vma);
int mmaplab_defio_mmap(struct mmaplab_session *s, struct vm_area_struct *vma);

/* mmaplab_dmabuf.c */
int mmaplab_ioctl_dmabuf(struct mmaplab_session *s, struct file *file, void __user *argp);

/* mmaplab_store.c */
struct mmaplab_kstore *mmaplab_store_create(size_t size, void *data, kuid_t owner);
void mmaplab_store_adopt_data(struct mmaplab_kstore *st);
void mmaplab_store_close(struct mmaplab_kstore *st);
struct mmaplab_kstore *mmaplab_store_find(u64 id);
bool mmaplab_store_may_read(const struct mmaplab_kstore *st, const struct file *file);
void mmaplab_store_get(struct mmaplab_kstore *st);
void mmaplab_store_put(struct mmaplab_kstore *st);
void mmaplab_store_note_write(struct mmaplab_kstore *st, unsigned long index);
void mmaplab_store_load(struct mmaplab_kstore *st, unsigned long index, void *dst);
void mmaplab_store_arrive(struct mmaplab_kstore *st, unsigned long index, const void *src,
			  enum mmaplab_path path, struct mmaplab_counters *c);
void mmaplab_store_batch_done(struct mmaplab_kstore *st);
int mmaplab_store_pattern(struct mmaplab_kstore *st, const struct mmaplab_pattern *pat);
int mmaplab_store_read(struct mmaplab_kstore *st, struct mmaplab_store *req);
void mmaplab_stores_exit(void);

#endif /* _MMAPLAB_H */
