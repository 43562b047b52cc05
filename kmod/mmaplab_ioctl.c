// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: the ioctls of /dev/mmaplab and the session's last-error record.
 *
 * Every ioctl does one thing. CONFIGURE picks an allocator, a mapping
 * method, a size, a cache attribute and flags and allocates the buffer;
 * FILL and VERIFY write and check the uapi pattern through the kernel's own
 * address of the buffer; STATS and INFO report; LAST_ERROR says why the
 * last operation failed; FREE_WHILE_MAPPED is a hazard. STORE reads a
 * backing store and FLUSH sends dirty pages to it (the file-backed methods,
 * mmaplab_file.c). COUNTERS reports the whole module's allocations.
 * DMABUF exports the buffer as a dma-buf (mmaplab_dmabuf.c).
 *
 * STORE by id is the one ioctl that reaches beyond the caller's session:
 * it reads only a store the session's opener owns, unless the session was
 * opened with CAP_SYS_ADMIN (mmaplab_store_may_read() has the rule and
 * why); with dev_mode=0666 that is what keeps users' data apart.
 *
 * FILL and VERIFY of the file-backed methods: VERIFY checks the backing
 * store, i.e. what writeback or the deferred flush delivered. FILL writes
 * the pattern into the store (PAGE_CACHE, whose buffer is the store, then
 * drops the clean cached pages so that the mapping reads it again) or into
 * both the screen and the store (DEFERRED_IO*).
 *
 * Errors, in the order CONFIGURE checks them (each failure of CONFIGURE,
 * mmap, FREE_WHILE_MAPPED, FILL, VERIFY, STORE, FLUSH, fsync, read or write
 * is recorded with a reason and a text for LAST_ERROR; the next success of
 * one of them clears the record):
 *   -EFAULT      the ioctl argument cannot be read or written back
 *   -EINVAL      BAD_FLAGS: unknown flag or non-zero reserved field
 *                BAD_ENUM: unknown allocator, method or cache attribute
 *                BAD_SIZE: size zero, not a page multiple, above max_size,
 *                or more than the allocator can provide in one piece
 *                COMBINATION: the method cannot map the allocator's memory
 *                CACHE: WC/UC asked of a page-based method or of vmalloc
 *                memory
 *                COMBINATION: SPLITTABLE other than for PCI_BAR mapped by
 *                a remap_pfn_range variant
 *                FAULT_AROUND: fault-around asked of a method without a
 *                fault handler
 *                TIMING: delay_ms or period_ms out of range, or given to a
 *                method that does not use it
 *   -EOPNOTSUPP  FAULT_AROUND: this kernel cannot fault around safely
 *   -EPERM       HAZARD_DISABLED: a hazard without allow_hazards=1
 *                HAZARD_CAP: a hazard without CAP_SYS_ADMIN
 *   -EBUSY       EXPORTED: CONFIGURE while a dma-buf of the buffer lives
 *   -EBUSY       MAPPED: CONFIGURE while the buffer is still mapped
 *   -EINVAL      BAD_SIZE: PCI_BAR larger than the BAR
 *   -ENODEV      NO_DEVICE: PCI_BAR without a device bound to the module
 *   -EBUSY       DEVICE_BUSY: PCI_BAR while another session holds the BAR
 *   -ENOMEM      NOMEM: the allocation failed (also an ioremap of the BAR)
 *   errno        KERNEL: the kernel refused to change the memory type
 * and for the other operations:
 *   -ENODEV      NOT_CONFIGURED / FREED: no buffer, or FREE_WHILE_MAPPED
 *                gave its memory back (FILL, VERIFY, STORE of id 0, FLUSH,
 *                read, write, mmap)
 *   -EINVAL      MAPPED: FREE_WHILE_MAPPED of a buffer nothing maps
 *                COMBINATION: FREE_WHILE_MAPPED of a file-backed method
 *                (its inode and store use the buffer), STORE (id 0) or
 *                FLUSH of a method without a store
 *                BAD_FLAGS: non-zero reserved field (FILL, VERIFY, STORE)
 *   -ENOENT      NO_STORE: STORE of an id the module does not keep
 *   -EPERM       NOT_OWNER: STORE by id of another user's store from a
 *                session opened without CAP_SYS_ADMIN. EPERM as for the
 *                hazards: what is missing is a privilege (being the owner,
 *                or CAP_SYS_ADMIN); EACCES stays the node's mode at open.
 *   -EBUSY       DIRTY: PAGE_CACHE FILL while page-cache pages are dirty
 *   -EINTR       FILL, VERIFY or STORE interrupted by a fatal signal
 *   -ENOTTY      an unknown ioctl
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mmaplab.h"
#include "mmaplab_compat.h"

/*
 * Record why an operation failed and return @error, so that a failure is
 * reported with one statement: return mmaplab_fail(s, -E..., REASON, ...).
 */
int mmaplab_fail(struct mmaplab_session *s, int error, enum mmaplab_reason reason,
		 const char *fmt, ...)
{
	char text[MMAPLAB_REASON_TEXT_LEN];
	va_list args;

	va_start(args, fmt);
	vscnprintf(text, sizeof(text), fmt, args);
	va_end(args);

	spin_lock(&s->error_lock);
	s->last_error.error = error;
	s->last_error.reason = reason;
	strscpy(s->last_error.text, text, sizeof(s->last_error.text));
	spin_unlock(&s->error_lock);
	return error;
}

void mmaplab_succeed(struct mmaplab_session *s)
{
	spin_lock(&s->error_lock);
	memset(&s->last_error, 0, sizeof(s->last_error));
	spin_unlock(&s->error_lock);
}

/*
 * Is there memory behind the session for @what (FILL, VERIFY, read, write,
 * mmap) to use? Called with s->lock held; records the failure.
 */
/* Is there a buffer at all (configured, not given back by FREE_WHILE_MAPPED)? */
static int mmaplab_buf_present(struct mmaplab_session *s, const char *what)
{
	lockdep_assert_held(&s->lock);

	if (!mmaplab_session_configured(s))
		return mmaplab_fail(s, -ENODEV, MMAPLAB_REASON_NOT_CONFIGURED,
				    "%s before CONFIGURE", what);
	if (s->buf.freed)
		return mmaplab_fail(s, -ENODEV, MMAPLAB_REASON_FREED,
				    "%s after FREE_WHILE_MAPPED gave the buffer back", what);
	return 0;
}

int mmaplab_buf_usable(struct mmaplab_session *s, const char *what)
{
	int ret = mmaplab_buf_present(s, what);

	if (ret)
		return ret;
	if (s->buf.unpinned)
		return mmaplab_fail(s, -EBUSY, MMAPLAB_REASON_UNPINNED,
				    "%s while the pages are the object's: SHMEM_PIN them first",
				    what);
	return 0;
}

#define MMAPLAB_WORDS_PER_PAGE	(PAGE_SIZE / sizeof(__le32))

/* Page @pg of the pattern of @seed, written at @page. */
static void mmaplab_pattern_fill_page(void *page, u32 seed, unsigned long pg)
{
	u32 word = pg * MMAPLAB_WORDS_PER_PAGE;
	__le32 *p = page;
	unsigned int i;

	for (i = 0; i < MMAPLAB_WORDS_PER_PAGE; i++, word++)
		p[i] = cpu_to_le32(mmaplab_pattern_word(seed, word));
}

/* Check page @pg against the pattern of @seed; on the first bad word fill @v and return true. */
static bool mmaplab_pattern_check_page(const void *page, u32 seed, unsigned long pg,
				       struct mmaplab_verify *v)
{
	u32 word = pg * MMAPLAB_WORDS_PER_PAGE;
	const __le32 *p = page;
	unsigned int i;

	for (i = 0; i < MMAPLAB_WORDS_PER_PAGE; i++, word++) {
		u32 want = mmaplab_pattern_word(seed, word);
		u32 got = le32_to_cpu(p[i]);

		if (got != want) {
			v->mismatch = (u64)word * sizeof(*p);
			v->expected = want;
			v->found = got;
			return true;
		}
	}
	return false;
}

bool mmaplab_pattern_page(void *page, unsigned long pg, const struct mmaplab_pattern *pat)
{
	if (pat->v)
		return mmaplab_pattern_check_page(page, pat->seed, pg, pat->v);
	mmaplab_pattern_fill_page(page, pat->seed, pg);
	return false;
}

/*
 * Every FILL and VERIFY walks its memory a page at a time: an allocator
 * only promises contiguity within a page. A 64 MiB buffer takes a while
 * under emulation, hence the rescheduling point and the way out for a
 * killed caller. A mismatch ends the walk as a result, not an error: it
 * is in @pat->v and 0 is returned.
 */
int mmaplab_pattern_walk(unsigned long nr_pages, const struct mmaplab_pattern *pat,
			 bool (*page)(void *arg, unsigned long pg,
				      const struct mmaplab_pattern *pat),
			 void *arg)
{
	unsigned long pg;

	if (pat->v) {
		pat->v->mismatch = MMAPLAB_NO_MISMATCH;
		pat->v->expected = 0;
		pat->v->found = 0;
	}
	for (pg = 0; pg < nr_pages; pg++) {
		if (page(arg, pg, pat))
			break;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/* A buffer walked by mmaplab_buf_pattern(); @bounce is NULL unless it is I/O memory. */
struct mmaplab_buf_walk {
	struct mmaplab_buf *buf;
	void *bounce;
};

/*
 * The page through mmaplab_buf_kaddr(), or, for I/O memory (PCI_BAR),
 * through the bounce page and the I/O accessors.
 */
static bool mmaplab_buf_pattern_page(void *arg, unsigned long pg,
				     const struct mmaplab_pattern *pat)
{
	struct mmaplab_buf_walk *w = arg;
	size_t off = pg << PAGE_SHIFT;
	bool bad;

	if (w->bounce && pat->v)
		mmaplab_buf_copy_out(w->buf, off, w->bounce, PAGE_SIZE);
	bad = mmaplab_pattern_page(w->bounce ?: mmaplab_buf_kaddr(w->buf, off), pg, pat);
	if (w->bounce && !pat->v)
		mmaplab_buf_copy_in(w->buf, off, w->bounce, PAGE_SIZE);
	return bad;
}

int mmaplab_buf_pattern(struct mmaplab_buf *buf, const struct mmaplab_pattern *pat)
{
	struct mmaplab_buf_walk w = { .buf = buf };
	int ret;

	if (mmaplab_buf_is_io(buf)) {
		w.bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!w.bounce)
			return -ENOMEM;
	}
	ret = mmaplab_pattern_walk(buf->nr_pages, pat, mmaplab_buf_pattern_page, &w);
	kfree(w.bounce);
	return ret;
}

/*
 * Everything that can be decided from the request alone is checked before
 * the buffer is touched, so an invalid request never costs the caller the
 * buffer it already has. On success *hazard says whether the request
 * needed (and passed) the hazard checks.
 */
static int mmaplab_config_check(struct mmaplab_session *s, const struct mmaplab_config *cfg,
				bool *hazard)
{
	int ret;

	if (cfg->flags & ~MMAPLAB_CF_ALL)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "unknown CONFIGURE flags %#x", cfg->flags & ~MMAPLAB_CF_ALL);
	if (!mmaplab_alloc_known(cfg->alloc))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_ENUM,
				    "unknown allocator %u", cfg->alloc);
	if (!mmaplab_method_known(cfg->method))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_ENUM,
				    "unknown method %u", cfg->method);
	if (cfg->cache >= MMAPLAB_CACHE_COUNT)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_ENUM,
				    "unknown cache attribute %u", cfg->cache);

	if (!cfg->size || !IS_ALIGNED(cfg->size, PAGE_SIZE) || cfg->size > mmaplab_max_size)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_SIZE,
				    "size %llu is not a page multiple in [%lu, max_size %lu]",
				    cfg->size, PAGE_SIZE, mmaplab_max_size);
	if (mmaplab_alloc_check(cfg->alloc, cfg->size))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_SIZE,
				    "%s cannot provide %llu bytes in one piece",
				    mmaplab_alloc_name(cfg->alloc), cfg->size);

	ret = mmaplab_method_check(s, cfg, hazard);
	if (ret)
		return ret;
	ret = mmaplab_file_check(s, cfg);
	if (ret)
		return ret;

	if (!*hazard)
		return 0;
	if (!mmaplab_allow_hazards)
		return mmaplab_fail(s, -EPERM, MMAPLAB_REASON_HAZARD_DISABLED,
				    "alloc %u + method %u, flags %#x is a hazard: needs allow_hazards=1",
				    cfg->alloc, cfg->method, cfg->flags);
	if (!capable(CAP_SYS_ADMIN))
		return mmaplab_fail(s, -EPERM, MMAPLAB_REASON_HAZARD_CAP,
				    "alloc %u + method %u, flags %#x is a hazard: needs CAP_SYS_ADMIN",
				    cfg->alloc, cfg->method, cfg->flags);
	return 0;
}

/* Record why CONFIGURE's allocation failed with @error. */
static int mmaplab_alloc_failed(struct mmaplab_session *s, const struct mmaplab_config *cfg,
				int error)
{
	const char *name = mmaplab_alloc_name(cfg->alloc);

	switch (error) {
	case -ENODEV:
		return mmaplab_fail(s, error, MMAPLAB_REASON_NO_DEVICE,
				    "%s: no PCI device is bound to the module", name);
	case -EBUSY:
		return mmaplab_fail(s, error, MMAPLAB_REASON_DEVICE_BUSY,
				    "%s: another session holds the BAR", name);
	case -EINVAL:
		return mmaplab_fail(s, error, MMAPLAB_REASON_BAD_SIZE,
				    "%s: %llu bytes do not fit in the BAR", name, cfg->size);
	default:
		return mmaplab_fail(s, error, MMAPLAB_REASON_NOMEM,
				    "%s could not allocate %llu bytes", name, cfg->size);
	}
}

static int mmaplab_ioctl_configure(struct mmaplab_session *s, struct file *file,
				   void __user *argp)
{
	struct mmaplab_config cfg;
	bool hazard = false;
	int ret;

	if (copy_from_user(&cfg, argp, sizeof(cfg)))
		return -EFAULT;

	ret = mmaplab_config_check(s, &cfg, &hazard);
	if (ret)
		return ret;

	mutex_lock(&s->lock);

	/* a dma-buf describes this buffer to whoever holds it */
	if (s->dmabuf) {
		ret = mmaplab_fail(s, -EBUSY, MMAPLAB_REASON_EXPORTED,
				   "a dma-buf of the buffer is still open");
		goto out_unlock;
	}

	/* a mapped buffer is in use by page tables we do not control */
	if (atomic_read(&s->nr_mappings)) {
		ret = mmaplab_fail(s, -EBUSY, MMAPLAB_REASON_MAPPED,
				   "the buffer is still mapped by %d VMA(s)",
				   atomic_read(&s->nr_mappings));
		goto out_unlock;
	}

	/*
	 * Free first, then allocate: holding both buffers at once could fail
	 * a large request in a small guest that would otherwise fit. If the
	 * allocation fails, the session is left unconfigured. A file-backed
	 * session ends first, as at release: its store is kept.
	 */
	mmaplab_file_teardown(s, file);
	mmaplab_buf_free(&s->buf);
	ret = mmaplab_buf_alloc(&s->buf, cfg.alloc, cfg.size);
	if (ret) {
		ret = mmaplab_alloc_failed(s, &cfg, ret);
		goto out_unlock;
	}

	ret = mmaplab_buf_set_cache(&s->buf, cfg.cache);
	if (ret) {
		ret = mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				   "cannot give %s memory cache type %u: %d",
				   mmaplab_alloc_name(cfg.alloc), cfg.cache, ret);
		goto err_free;
	}
	mmaplab_buf_set_reserved(&s->buf, cfg.flags & MMAPLAB_CF_RESERVED_ANY);

	if (mmaplab_method_has_store(cfg.method)) {
		ret = mmaplab_file_setup(s, file, &cfg);
		if (ret) {
			ret = mmaplab_fail(s, ret, MMAPLAB_REASON_NOMEM,
					   "no memory for the inode or store of %llu bytes",
					   cfg.size);
			goto err_free;
		}
	}

	s->alloc = cfg.alloc;
	s->method = cfg.method;
	s->cache = cfg.cache;
	s->config_flags = cfg.flags;
	mmaplab_succeed(s);

	/* lets a reader of the kernel log tie what follows to this request */
	if (hazard)
		pr_notice("%s[%d]: hazard configuration: alloc %u, method %u, flags %#x, %llu bytes\n",
			  current->comm, task_pid_nr(current), cfg.alloc, cfg.method, cfg.flags,
			  (unsigned long long)cfg.size);
	goto out_unlock;

err_free:
	mmaplab_buf_free(&s->buf);
out_unlock:
	mutex_unlock(&s->lock);
	return ret;
}

/* FILL or VERIFY of the session's buffer, or of its store (mmaplab_file.c). */
static int mmaplab_session_pattern(struct mmaplab_session *s, const char *what,
				   const struct mmaplab_pattern *pat)
{
	int ret;

	mutex_lock(&s->lock);
	ret = mmaplab_buf_usable(s, what);
	if (!ret && s->fio)
		ret = mmaplab_file_pattern(s, pat);
	else if (!ret)
		ret = mmaplab_buf_pattern(&s->buf, pat);
	if (!ret)
		mmaplab_succeed(s);
	mutex_unlock(&s->lock);
	return ret;
}

static int mmaplab_ioctl_fill(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_fill fill;
	struct mmaplab_pattern pat;

	if (copy_from_user(&fill, argp, sizeof(fill)))
		return -EFAULT;
	if (fill.reserved)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "FILL: reserved field is %#x", fill.reserved);

	pat = (struct mmaplab_pattern){ .seed = fill.seed };
	return mmaplab_session_pattern(s, "FILL", &pat);
}

static int mmaplab_ioctl_verify(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_verify v;
	struct mmaplab_pattern pat;
	int ret;

	if (copy_from_user(&v, argp, sizeof(v)))
		return -EFAULT;
	if (v.reserved)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "VERIFY: reserved field is %#x", v.reserved);

	pat = (struct mmaplab_pattern){ .seed = v.seed, .v = &v };
	ret = mmaplab_session_pattern(s, "VERIFY", &pat);
	if (ret)
		return ret;

	/* outside s->lock: a fault on argp may take mmap_lock (see mmaplab.h) */
	if (copy_to_user(argp, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

/*
 * DEVICE_DMA of a DMA_DEVICE or DMA_PAGES buffer: the device uses the
 * buffer's own DMA address; non-coherent memory is the device's while it
 * works and the CPU's after.
 */
static int mmaplab_device_dma_own(struct mmaplab_session *s, struct mmaplab_device_dma *req)
{
	struct mmaplab_dma_target t = {
		.base = s->buf.dma_handle,
		.nr_pages = s->buf.size >> PAGE_SHIFT,
	};
	bool streaming = mmaplab_buf_is_streaming(&s->buf);
	int ret;

	if (streaming)
		dma_sync_single_for_device(s->buf.dma_dev, s->buf.dma_handle, s->buf.size,
					   DMA_BIDIRECTIONAL);
	ret = mmaplab_edu_dma(&t, req);
	if (streaming)
		dma_sync_single_for_cpu(s->buf.dma_dev, s->buf.dma_handle, s->buf.size,
					DMA_BIDIRECTIONAL);
	req->segments = 1;
	return ret;
}

/*
 * DEVICE_DMA of any other buffer with struct pages: streaming DMA of the
 * driver's own pages. A scatterlist of them (physically adjacent pages
 * share an entry) is mapped for the device in the transfer's direction,
 * the device works page by page, and the map goes away. Refusals go
 * through mmaplab_fail(); the device's own failure is returned as is.
 */
static int mmaplab_device_dma_mapped(struct mmaplab_session *s, struct mmaplab_device_dma *req)
{
	enum dma_data_direction dir = req->direction == MMAPLAB_DMA_TO_DEVICE ?
				      DMA_TO_DEVICE : DMA_FROM_DEVICE;
	unsigned long i, n = s->buf.size >> PAGE_SHIFT;
	struct mmaplab_dma_target t = { .nr_pages = n };
	struct device *dev = mmaplab_edu_device();
	struct sg_dma_page_iter iter;
	struct page **pages = NULL;
	unsigned int max_segment;
	dma_addr_t *addrs = NULL;
	struct sg_table sgt;
	int ret;

	if (s->fio || !mmaplab_buf_page(&s->buf, 0)) {
		const char *what = s->fio ? "a file-backed session's" :
					    mmaplab_alloc_name(s->alloc);

		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
				    "DEVICE_DMA: %s memory has no struct page to map for the device",
				    what);
	}
	if (!dev)
		return mmaplab_fail(s, -ENODEV, MMAPLAB_REASON_NO_DEVICE,
				    "DEVICE_DMA: no DMA device is bound to the module");
	if (dma_addressing_limited(dev))
		return mmaplab_fail(s, -ERANGE, MMAPLAB_REASON_OUT_OF_REACH,
				    "DEVICE_DMA: the device's mask %#llx does not cover memory",
				    (unsigned long long)dma_get_mask(dev));
	/* what the device and a bounce buffer take in one segment */
	max_segment = min_t(size_t, dma_max_mapping_size(dev), dma_get_max_seg_size(dev));
	max_segment = ALIGN_DOWN(min_t(size_t, max_segment, UINT_MAX), PAGE_SIZE);
	if (!max_segment)
		max_segment = PAGE_SIZE;

	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	addrs = kvmalloc_array(n, sizeof(*addrs), GFP_KERNEL);
	if (!pages || !addrs) {
		ret = mmaplab_fail(s, -ENOMEM, MMAPLAB_REASON_NOMEM, "DEVICE_DMA: %lu pages", n);
		goto out;
	}
	for (i = 0; i < n; i++)
		pages[i] = mmaplab_buf_page(&s->buf, i);
	ret = sg_alloc_table_from_pages_segment(&sgt, pages, n, 0, s->buf.size, max_segment,
						GFP_KERNEL);
	if (ret) {
		ret = mmaplab_fail(s, ret, MMAPLAB_REASON_NOMEM,
				   "DEVICE_DMA: scatterlist: %d", ret);
		goto out;
	}
	ret = dma_map_sgtable(dev, &sgt, dir, 0);
	if (ret) {
		ret = mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL, "DEVICE_DMA: dma_map_sgtable: %d",
				   ret);
		goto out_table;
	}
	i = 0;
	for_each_sgtable_dma_page(&sgt, &iter, 0) {
		if (i < n)
			addrs[i] = sg_page_iter_dma_address(&iter);
		i++;
	}
	t.pages = addrs;
	req->segments = sgt.nents;
	/* a map keeps the length: one address a page, never more or fewer */
	if (WARN_ON_ONCE(i != n))
		ret = -EIO;
	else
		ret = mmaplab_edu_dma(&t, req);
	dma_unmap_sgtable(dev, &sgt, dir, 0);
out_table:
	sg_free_table(&sgt);
out:
	kvfree(addrs);
	kvfree(pages);
	return ret;
}

/* DEVICE_DMA: the device reads or writes the buffer (mmaplab_pci.c). */
static int mmaplab_ioctl_device_dma(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_device_dma req;
	int ret;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.direction != MMAPLAB_DMA_TO_DEVICE && req.direction != MMAPLAB_DMA_FROM_DEVICE)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "DEVICE_DMA: direction %u is neither TO_DEVICE nor FROM_DEVICE",
				    req.direction);
	if (req.reserved)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "DEVICE_DMA: reserved is %#x, not 0", req.reserved);

	mutex_lock(&s->lock);
	ret = mmaplab_buf_usable(s, "DEVICE_DMA");
	if (!ret && s->buf.size > MMAPLAB_DMA_MAX_PAGES * PAGE_SIZE)
		ret = mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_SIZE,
				   "DEVICE_DMA: %zu pages, at most %d (0.4 s a page)",
				   s->buf.size >> PAGE_SHIFT, MMAPLAB_DMA_MAX_PAGES);
	if (ret)
		goto out;
	req.segments = 0;
	req.transfers = 0;
	if (s->alloc == MMAPLAB_ALLOC_DMA_DEVICE || s->alloc == MMAPLAB_ALLOC_DMA_PAGES) {
		ret = mmaplab_device_dma_own(s, &req);
	} else {
		ret = mmaplab_device_dma_mapped(s, &req);
		/* a refusal has its reason already; only the device's failure is left */
		if (ret && !req.segments)
			goto out;
	}
	if (ret && ret != -EINTR)
		ret = mmaplab_fail(s, ret, ret == -ENODEV ? MMAPLAB_REASON_NO_DEVICE :
				   MMAPLAB_REASON_KERNEL,
				   "DEVICE_DMA: the device failed after %llu transfers: %d",
				   req.transfers, ret);
out:
	if (!ret)
		mmaplab_succeed(s);
	mutex_unlock(&s->lock);
	if (ret)
		return ret;

	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

/* SHMEM_PIN's work, under the session lock. */
static int mmaplab_shmem_pin_locked(struct mmaplab_session *s, struct mmaplab_shmem_pin *req)
{
	int ret = mmaplab_buf_present(s, "SHMEM_PIN");

	if (ret)
		return ret;
	if (!mmaplab_buf_is_shmem(&s->buf))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
				    "SHMEM_PIN: %s memory is not a shmem object's",
				    mmaplab_alloc_name(s->alloc));
	if (req->pin != MMAPLAB_SHMEM_PIN) {
		if (atomic_read(&s->nr_mappings))
			return mmaplab_fail(s, -EBUSY, MMAPLAB_REASON_MAPPED,
					    "SHMEM_PIN: cannot unpin pages that %d mapping(s) still map",
					    atomic_read(&s->nr_mappings));
		mmaplab_buf_unpin(&s->buf, req->pin == MMAPLAB_SHMEM_UNPIN);
		return 0;
	}
	ret = mmaplab_buf_pin(&s->buf, &req->from_swap);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "SHMEM_PIN: reading the object's pages in failed: %d", ret);
	return 0;
}

/* SHMEM_PIN: see the uapi header. */
static int mmaplab_ioctl_shmem_pin(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_shmem_pin req;
	int ret;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.pin > MMAPLAB_SHMEM_UNPIN_CLEAN || req.reserved)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "SHMEM_PIN: pin %u is not 0, 1 or 2, or reserved %u is not 0",
				    req.pin, req.reserved);
	if (req.pin == MMAPLAB_SHMEM_UNPIN_CLEAN && !mmaplab_allow_hazards)
		return mmaplab_fail(s, -EPERM, MMAPLAB_REASON_HAZARD_DISABLED,
				    "SHMEM_PIN 2 is a hazard: needs allow_hazards=1");
	if (req.pin == MMAPLAB_SHMEM_UNPIN_CLEAN && !capable(CAP_SYS_ADMIN))
		return mmaplab_fail(s, -EPERM, MMAPLAB_REASON_HAZARD_CAP,
				    "SHMEM_PIN 2 is a hazard: needs CAP_SYS_ADMIN");

	req.from_swap = 0;
	mutex_lock(&s->lock);
	ret = mmaplab_shmem_pin_locked(s, &req);
	if (!ret)
		mmaplab_succeed(s);
	mutex_unlock(&s->lock);
	if (ret)
		return ret;

	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static int mmaplab_ioctl_stats(struct mmaplab_session *s, void __user *argp)
{
	const struct mmaplab_counters *c = &s->stats;
	struct mmaplab_stats st = {
		.faults		= atomic64_read(&c->faults),
		.map_pages_calls = atomic64_read(&c->map_pages_calls),
		.pages_mapped	= atomic64_read(&c->pages_mapped),
		.vma_opens	= atomic64_read(&c->vma_opens),
		.vma_closes	= atomic64_read(&c->vma_closes),
		.read_calls	= atomic64_read(&c->read_calls),
		.read_bytes	= atomic64_read(&c->read_bytes),
		.write_calls	= atomic64_read(&c->write_calls),
		.write_bytes	= atomic64_read(&c->write_bytes),
		.read_folio_calls = atomic64_read(&c->read_folio_calls),
		.writeback_calls = atomic64_read(&c->writeback_calls),
		.pages_written	= atomic64_read(&c->pages_written),
		.batches	= atomic64_read(&c->batches),
		.mkwrite_faults	= atomic64_read(&c->mkwrite_faults),
		.periodic_runs	= atomic64_read(&c->periodic_runs),
		.flush_latency_last_ns = atomic64_read(&c->flush_latency_last_ns),
		.flush_latency_max_ns = atomic64_read(&c->flush_latency_max_ns),
	};

	if (copy_to_user(argp, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

/*
 * What INFO says about one pfn of the buffer. After FREE_WHILE_MAPPED the
 * pfn may belong to anybody; reading its struct page only reads the memmap,
 * which is always there for a valid pfn.
 */
static void mmaplab_describe_pfn(unsigned long pfn, struct mmaplab_page_info *pi)
{
	struct page *page;

	pi->pfn = pfn;
	if (!pfn_valid(pfn)) {
		pi->flags = MMAPLAB_PAGE_NO_STRUCT_PAGE;
		return;
	}

	page = pfn_to_page(pfn);
	if (PageCompound(page))
		pi->flags |= MMAPLAB_PAGE_COMPOUND;
	if (PageHead(page)) {
		pi->flags |= MMAPLAB_PAGE_HEAD;
		pi->order = compound_order(page);
	}
	if (PageTail(page))
		pi->flags |= MMAPLAB_PAGE_TAIL;
	if (mmaplab_page_is_slab(page))
		pi->flags |= MMAPLAB_PAGE_SLAB;
	if (mmaplab_page_is_typed(page))
		pi->flags |= MMAPLAB_PAGE_TYPED;
	if (PageReserved(page))
		pi->flags |= MMAPLAB_PAGE_RESERVED;
	pi->refcount = page_ref_count(page);
	pi->mapcount = mmaplab_page_mapcount(page);
}

/*
 * INFO: the session's configuration and, when asked, one entry per buffer
 * page (up to pages_max). The entries are gathered into a kernel array
 * under s->lock and copied out after it is dropped (see mmaplab.h); the
 * array is bounded by the buffer, at most max_size / PAGE_SIZE entries.
 */
static int mmaplab_ioctl_info(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_page_info *pages = NULL;
	struct mmaplab_info info;
	u64 want = 0, i;
	int ret = 0;

	if (copy_from_user(&info, argp, sizeof(info)))
		return -EFAULT;

	mutex_lock(&s->lock);
	info.flags = 0;
	info.mappings = atomic_read(&s->nr_mappings);
	if (mmaplab_session_configured(s)) {
		info.alloc = s->alloc;
		info.method = s->method;
		info.size = s->buf.size;
		info.nr_pages = s->buf.nr_pages;
		info.cache = s->cache;
		info.config_flags = s->config_flags;
		info.flags |= MMAPLAB_INFO_CONFIGURED;
		if (mmaplab_buf_contiguous(&s->buf))
			info.flags |= MMAPLAB_INFO_CONTIGUOUS;
		if (s->buf.freed)
			info.flags |= MMAPLAB_INFO_FREED;
		if (s->buf.slab)
			info.flags |= MMAPLAB_INFO_SLAB;
		if (s->buf.unpinned)
			info.flags |= MMAPLAB_INFO_UNPINNED;
		/* an unpinned buffer holds no pages to describe */
		if (info.pages_ptr && !s->buf.unpinned)
			want = min_t(u64, info.pages_max, s->buf.nr_pages);
	} else {
		info.alloc = 0;
		info.method = 0;
		info.size = 0;
		info.nr_pages = 0;
		info.cache = 0;
		info.config_flags = 0;
	}

	if (want) {
		pages = kvcalloc(want, sizeof(*pages), GFP_KERNEL);
		if (!pages) {
			ret = -ENOMEM;
			want = 0;
		}
	}
	for (i = 0; i < want; i++) {
		unsigned long pfn;

		if (mmaplab_buf_pfn(&s->buf, i, &pfn))
			mmaplab_describe_pfn(pfn, &pages[i]);
		else
			pages[i].flags = MMAPLAB_PAGE_NO_STRUCT_PAGE;
	}
	info.pages_filled = want;
	mutex_unlock(&s->lock);
	if (ret)
		return ret;

	if (want && copy_to_user(u64_to_user_ptr(info.pages_ptr), pages, want * sizeof(*pages)))
		ret = -EFAULT;
	kvfree(pages);
	if (ret)
		return ret;

	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int mmaplab_ioctl_last_error(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_last_error e;

	spin_lock(&s->error_lock);
	e = s->last_error;
	spin_unlock(&s->error_lock);

	if (copy_to_user(argp, &e, sizeof(e)))
		return -EFAULT;
	return 0;
}

/*
 * FREE_WHILE_MAPPED (hazard): give the buffer's memory back now, while at
 * least one VMA still maps it, the mistake of a driver that frees in
 * release() or on a "free" ioctl without looking at its mappings.
 *
 * What follows depends on the method. Page-refcounting mappings
 * (fault_page, vm_insert_page(s), vm_map_pages, remap_vmalloc_range) hold
 * references of their own, so the pages they map stay allocated until
 * munmap and userspace keeps a private copy of the data. VM_PFNMAP mappings
 * (remap_pfn_range, vmf_insert_pfn, dma_mmap_coherent) hold nothing: the
 * memory goes back to the allocator and userspace keeps reading and writing
 * whatever it becomes. Pages not yet faulted in are a SIGBUS from now on,
 * and FILL, VERIFY, read, write and mmap answer -ENODEV (FREED).
 *
 * Only the memory goes: the buffer's description stays until the last
 * mapping and the file are gone (release() or a CONFIGURE after munmap),
 * and nothing is freed twice (mmaplab_buf_free skips freed memory).
 */
static int mmaplab_ioctl_free_while_mapped(struct mmaplab_session *s)
{
	int ret;

	if (!mmaplab_allow_hazards)
		return mmaplab_fail(s, -EPERM, MMAPLAB_REASON_HAZARD_DISABLED,
				    "FREE_WHILE_MAPPED is a hazard: needs allow_hazards=1");
	if (!capable(CAP_SYS_ADMIN))
		return mmaplab_fail(s, -EPERM, MMAPLAB_REASON_HAZARD_CAP,
				    "FREE_WHILE_MAPPED is a hazard: needs CAP_SYS_ADMIN");

	mutex_lock(&s->lock);
	ret = mmaplab_buf_usable(s, "FREE_WHILE_MAPPED");
	if (ret)
		goto out_unlock;
	/* not a driver's mistake to reproduce: the module's own use-after-free */
	if (s->fio) {
		ret = mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
				   "FREE_WHILE_MAPPED: the session inode and store use the buffer");
		goto out_unlock;
	}
	if (!atomic_read(&s->nr_mappings)) {
		ret = mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_MAPPED,
				   "FREE_WHILE_MAPPED: nothing maps the buffer");
		goto out_unlock;
	}

	pr_notice("%s[%d]: hazard: freeing %zu bytes of %s memory mapped by %d VMA(s)\n",
		  current->comm, task_pid_nr(current), s->buf.size,
		  mmaplab_alloc_name(s->alloc), atomic_read(&s->nr_mappings));
	mmaplab_buf_release_memory(&s->buf);
	mmaplab_succeed(s);

out_unlock:
	mutex_unlock(&s->lock);
	return ret;
}

/*
 * STORE by id: the store with @id, with a reference for the caller, if the
 * session of @file may read it; else an ERR_PTR, the failure recorded. The
 * store is found under the store list's lock and dropped again if the
 * session is not its owner and lacks CAP_SYS_ADMIN, before a byte of it is
 * copied. A refusal still says the id exists: ids are a counter anyway,
 * the data is what is kept apart.
 */
static struct mmaplab_kstore *mmaplab_store_by_id(struct mmaplab_session *s, struct file *file,
						  u64 id)
{
	struct mmaplab_kstore *st;

	st = mmaplab_store_find(id);
	if (!st)
		return ERR_PTR(mmaplab_fail(s, -ENOENT, MMAPLAB_REASON_NO_STORE,
					    "STORE: no store %llu (unknown, or older than the last %d closed)",
					    id, MMAPLAB_STORES_KEPT));
	if (!mmaplab_store_may_read(st, file)) {
		mmaplab_store_put(st);
		return ERR_PTR(mmaplab_fail(s, -EPERM, MMAPLAB_REASON_NOT_OWNER,
					    "STORE: store %llu is another user's: needs its owner or CAP_SYS_ADMIN",
					    id));
	}
	return st;
}

/*
 * STORE: this session's backing store (id 0), or by id a store the module
 * still has that the session may read (mmaplab_store_by_id). The store is
 * found under the session lock or the store list's lock and copied out
 * with a reference held and no lock (mmaplab_store.c).
 */
static int mmaplab_ioctl_store(struct mmaplab_session *s, struct file *file, void __user *argp)
{
	struct mmaplab_kstore *st = NULL;
	struct mmaplab_store req;
	int ret;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.reserved)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "STORE: reserved field is %#x", req.reserved);

	if (!req.id) {
		mutex_lock(&s->lock);
		ret = mmaplab_buf_usable(s, "STORE");
		if (!ret) {
			st = mmaplab_file_store(s);
			if (!st)
				ret = mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
						   "STORE: method %u has no backing store",
						   s->method);
		}
		mutex_unlock(&s->lock);
		if (ret)
			return ret;
	} else {
		st = mmaplab_store_by_id(s, file, req.id);
		if (IS_ERR(st))
			return PTR_ERR(st);
	}

	ret = mmaplab_store_read(st, &req);
	mmaplab_store_put(st);
	if (ret)
		return ret;
	mmaplab_succeed(s);

	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

/* COUNTERS: what the whole module holds now; needs no CONFIGURE, changes no record. */
static int mmaplab_ioctl_counters(void __user *argp)
{
	struct mmaplab_module_counters c = {
		.buffers	= atomic_long_read(&mmaplab_nr_buffers),
		.pages		= atomic_long_read(&mmaplab_nr_pages),
		.sessions	= atomic_long_read(&mmaplab_nr_sessions),
	};

	if (copy_to_user(argp, &c, sizeof(c)))
		return -EFAULT;
	return 0;
}

/* FLUSH: a file-backed session's dirty pages to its store, now; returns when they are there. */
static int mmaplab_ioctl_flush(struct mmaplab_session *s)
{
	int ret;

	mutex_lock(&s->lock);
	ret = mmaplab_buf_usable(s, "FLUSH");
	if (!ret && !s->fio)
		ret = mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
				   "FLUSH: method %u has no backing store", s->method);
	if (!ret)
		ret = mmaplab_file_flush(s);
	if (!ret)
		mmaplab_succeed(s);
	mutex_unlock(&s->lock);
	return ret;
}

long mmaplab_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mmaplab_session *s = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case MMAPLAB_IOC_CONFIGURE:
		return mmaplab_ioctl_configure(s, file, argp);
	case MMAPLAB_IOC_FILL:
		return mmaplab_ioctl_fill(s, argp);
	case MMAPLAB_IOC_VERIFY:
		return mmaplab_ioctl_verify(s, argp);
	case MMAPLAB_IOC_STATS:
		return mmaplab_ioctl_stats(s, argp);
	case MMAPLAB_IOC_INFO:
		return mmaplab_ioctl_info(s, argp);
	case MMAPLAB_IOC_LAST_ERROR:
		return mmaplab_ioctl_last_error(s, argp);
	case MMAPLAB_IOC_FREE_WHILE_MAPPED:
		return mmaplab_ioctl_free_while_mapped(s);
	case MMAPLAB_IOC_STORE:
		return mmaplab_ioctl_store(s, file, argp);
	case MMAPLAB_IOC_FLUSH:
		return mmaplab_ioctl_flush(s);
	case MMAPLAB_IOC_COUNTERS:
		return mmaplab_ioctl_counters(argp);
	case MMAPLAB_IOC_DEVICE_DMA:
		return mmaplab_ioctl_device_dma(s, argp);
	case MMAPLAB_IOC_SHMEM_PIN:
		return mmaplab_ioctl_shmem_pin(s, argp);
	case MMAPLAB_IOC_DMABUF:
		return mmaplab_ioctl_dmabuf(s, file, argp);
	default:
		return -ENOTTY;
	}
}
