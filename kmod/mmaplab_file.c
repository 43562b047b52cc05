// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: the file-backed methods, i.e. the device as a real file.
 *
 *   PAGE_CACHE               the session's file is a file in the page cache;
 *                            its buffer is the backing store that
 *                            ->read_folio reads and writeback writes to
 *   DEFERRED_IO              fbdev's deferred I/O: the buffer is a screen
 *                            mapped page by page, whose written pages are
 *                            copied to a separate store delay_ms after the
 *                            first write, in one batch
 *   DEFERRED_IO_KEEP_MAPPING hazard: DEFERRED_IO that leaves page->mapping
 *                            set on the screen's pages when they are freed
 *
 * Both need an address_space of their own: the page cache lives in one,
 * and the deferred-I/O flush write-protects pages through the reverse map,
 * which finds the VMAs of a page through page->mapping->i_mmap. The module
 * mounts a tiny internal filesystem at load time, gives it a
 * writeback-capable backing_dev_info (without one, mapping_can_writeback()
 * is false: nothing is dirty-accounted, the flusher never looks at the
 * inode), and gives every such session an inode of it. CONFIGURE points
 * the session's file at that inode's mapping (file->f_mapping), as DRM does
 * with its anonymous inode, so its VMAs link into that mapping's i_mmap,
 * filemap_fault() uses it and msync(MS_SYNC) reaches the device's ->fsync.
 *
 * Lifetime. Everything here (struct mmaplab_fileio) is set up by CONFIGURE
 * after the buffer and torn down before the buffer is freed, by a
 * reconfigure (refused while anything maps the buffer) or by release()
 * (after the last VMA, since VMAs pin the file). Teardown stops the work
 * items, sends what is still dirty to the store (path RELEASE), points the
 * file back at its own inode, drops the session inode (eviction drops its
 * page cache) and closes the store, which the module keeps for reading by
 * id (mmaplab_store.c).
 *
 * Locking. Writeback, ->read_folio, the fault handlers and the work items
 * run without the session lock: the flusher must be able to finish while
 * CONFIGURE holds that lock and waits for it in iput(), and CONFIGURE
 * cancels the work items synchronously with the lock held. They rely on
 * the lifetime rules above instead. FLUSH and fsync hold the session lock
 * (that keeps the fileio in place) and write back under it: nothing that
 * holds a folio lock or the page-table locks ever waits for the session
 * lock. @wb_lock serialises the writebacks the module starts itself, so
 * that the path they record is theirs; @flush_lock serialises deferred-I/O
 * flushes.
 *
 * Known limit: CONFIGURE switching file->f_mapping while another thread of
 * the same process is inside mmap() of the same file, before ->mmap, can
 * leave the mmap core's temporary "writable mapping" count on the other
 * address_space. Nothing is freed early by it; a later MAP_SHARED of that
 * session may be refused with EPERM. Racing CONFIGURE with mmap on one file
 * is not something the experiments do.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/backing-dev.h>
#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/rmap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>

#include "mmaplab.h"
#include "mmaplab_compat.h"

#define MMAPLAB_FS_MAGIC	0x6d6d6c62	/* "mmlb" */

struct mmaplab_fileio {
	struct mmaplab_session *s;
	enum mmaplab_method method;
	struct inode *inode;
	struct mmaplab_kstore *store;

	/*
	 * Writeback the module started (fsync, FLUSH, periodic, release):
	 * writepages run by @wb_task record @wb_path. Under @wb_lock.
	 */
	struct mutex wb_lock;		/* @wb_task and @wb_path */
	struct task_struct *wb_task;
	enum mmaplab_path wb_path;

	/* PAGE_CACHE: the period_ms work; 0 = none */
	unsigned int period_ms;
	struct delayed_work periodic;

	/*
	 * DEFERRED_IO*: pages written since the last flush (@dirty, under
	 * @dirty_lock) and the ones a flush is sending (@flushing, under
	 * @flush_lock); the flush runs @delay jiffies after a first write.
	 */
	unsigned long delay;
	struct delayed_work defer;
	struct mutex flush_lock;	/* @flushing, and one flush at a time */
	spinlock_t dirty_lock;		/* @dirty */
	unsigned long *dirty;
	unsigned long *flushing;
};

static bool mmaplab_is_page_cache(enum mmaplab_method method)
{
	return method == MMAPLAB_METHOD_PAGE_CACHE;
}

static bool mmaplab_is_defio(enum mmaplab_method method)
{
	return method == MMAPLAB_METHOD_DEFERRED_IO ||
	       method == MMAPLAB_METHOD_DEFERRED_IO_KEEP_MAPPING;
}

/*
 * The internal filesystem
 *
 * No .owner: the mount lives from module load to module exit, and a
 * superblock holds a reference on its filesystem type's owner, so a module
 * owner would pin the module for ever. Nothing can outlive the mount: the
 * session inodes are gone with their sessions, and open files hold the
 * module (fops.owner).
 *
 * A session inode is evicted at its last iput() rather than cached
 * (generic_delete_inode): nobody can look it up again.
 */
static struct vfsmount *mmaplab_mnt;

static const struct super_operations mmaplab_fs_sops = {
	.statfs		= simple_statfs,
	.drop_inode	= generic_delete_inode,
};

static int mmaplab_fs_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx = init_pseudo(fc, MMAPLAB_FS_MAGIC);

	if (!ctx)
		return -ENOMEM;
	ctx->ops = &mmaplab_fs_sops;
	return 0;
}

static struct file_system_type mmaplab_fs_type = {
	.name		= "mmaplab",
	.init_fs_context = mmaplab_fs_init_fs_context,
	.kill_sb	= kill_anon_super,
};

/*
 * Mount it and give the superblock a backing_dev_info of its own (it has
 * the noop one until then; generic_shutdown_super() unregisters and puts
 * ours at unmount).
 */
int mmaplab_file_init(void)
{
	int ret;

	mmaplab_mnt = kern_mount(&mmaplab_fs_type);
	if (IS_ERR(mmaplab_mnt))
		return PTR_ERR(mmaplab_mnt);

	ret = super_setup_bdi(mmaplab_mnt->mnt_sb);
	if (ret) {
		kern_unmount(mmaplab_mnt);
		return ret;
	}
	return 0;
}

void mmaplab_file_exit(void)
{
	kern_unmount(mmaplab_mnt);
	mmaplab_stores_exit();
}

/*
 * A session inode: a regular file of @size bytes whose mapping uses @aops.
 * Not alloc_anon_inode(): that marks the inode dirty for good, so the
 * flusher would never put it on its lists. Hashed, because
 * __mark_inode_dirty() only queues hashed inodes for writeback.
 */
static struct inode *mmaplab_fs_new_inode(struct mmaplab_fileio *fio, size_t size,
					  const struct address_space_operations *aops)
{
	struct inode *inode = new_inode(mmaplab_mnt->mnt_sb);

	if (!inode)
		return NULL;
	inode->i_ino = get_next_ino();
	inode->i_mode = S_IFREG | 0600;
	i_size_write(inode, size);
	inode->i_mapping->a_ops = aops;
	inode->i_private = fio;
	insert_inode_hash(inode);
	return inode;
}

/* Writeback the module starts itself, so that its pages record @path. */
static void mmaplab_wb_begin(struct mmaplab_fileio *fio, enum mmaplab_path path)
{
	mutex_lock(&fio->wb_lock);
	fio->wb_path = path;
	WRITE_ONCE(fio->wb_task, current);
}

static void mmaplab_wb_end(struct mmaplab_fileio *fio)
{
	WRITE_ONCE(fio->wb_task, NULL);
	mutex_unlock(&fio->wb_lock);
}

/*
 * MMAPLAB_METHOD_PAGE_CACHE
 *
 * Page cache pages are filled from the store by ->read_folio and sent back
 * by ->writepages (the flusher, fsync, FLUSH, the periodic work, release)
 * or ->writepage (memory reclaim). A write to a clean page faults into
 * page_mkwrite, which marks it dirty (accounted, so the flusher's
 * thresholds and expiry apply) and notes when; writeback write-protects
 * the page again (folio_clear_dirty_for_io), so the next write faults
 * again. A page is copied with its folio locked and its PTEs read-only,
 * so the store gets a consistent page.
 */

/* Why this writeback runs, from what the flusher or reclaim said, else from the module. */
static enum mmaplab_path mmaplab_pc_path(struct mmaplab_fileio *fio,
					 const struct writeback_control *wbc)
{
	if (wbc->for_reclaim)
		return MMAPLAB_PATH_RECLAIM;
	if (wbc->for_sync)
		return MMAPLAB_PATH_SYNC;
	if (wbc->for_kupdate)
		return MMAPLAB_PATH_EXPIRY;
	if (wbc->for_background)
		return MMAPLAB_PATH_BACKGROUND;
	if (READ_ONCE(fio->wb_task) == current)
		return fio->wb_path;
	return MMAPLAB_PATH_WRITEBACK;
}

static int mmaplab_pc_read_folio(struct file *file, struct folio *folio)
{
	struct mmaplab_fileio *fio = READ_ONCE(folio->mapping->host->i_private);
	long i;

	for (i = 0; i < folio_nr_pages(folio); i++) {
		void *dst = kmap_local_page(folio_page(folio, i));

		if (fio)
			mmaplab_store_load(fio->store, folio->index + i, dst);
		else
			memset(dst, 0, PAGE_SIZE);
		kunmap_local(dst);
	}
	if (fio)
		atomic64_inc(&fio->s->stats.read_folio_calls);

	folio_mark_uptodate(folio);
	folio_unlock(folio);
	return 0;
}

/* One ->writepages or ->writepage call. */
struct mmaplab_pc_batch {
	struct mmaplab_fileio *fio;
	enum mmaplab_path path;
	unsigned long written;
};

/*
 * Send one locked folio, whose dirty bit writeback has just cleared, to
 * the store. The copy is synchronous, so writeback starts and ends here.
 */
static int mmaplab_pc_write_folio(struct folio *folio, struct writeback_control *wbc, void *data)
{
	struct mmaplab_pc_batch *b = data;
	long i, nr = folio_nr_pages(folio);

	folio_start_writeback(folio);
	for (i = 0; i < nr; i++) {
		void *src = kmap_local_page(folio_page(folio, i));

		mmaplab_store_arrive(b->fio->store, folio->index + i, src, b->path,
				     &b->fio->s->stats);
		kunmap_local(src);
	}
	b->written += nr;
	folio_unlock(folio);
	folio_end_writeback(folio);
	return 0;
}

static void mmaplab_pc_batch_end(struct mmaplab_pc_batch *b)
{
	struct mmaplab_session *s = b->fio->s;

	atomic64_inc(&s->stats.writeback_calls);
	if (b->written) {
		atomic64_inc(&s->stats.batches);
		mmaplab_store_batch_done(b->fio->store);
	}
}

/*
 * i_private is cleared at teardown, after the last writeback the session
 * waits for; a writeback that still came later would find no dirty page,
 * and leaves the mapping alone.
 */
static int mmaplab_pc_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	struct mmaplab_fileio *fio = READ_ONCE(mapping->host->i_private);
	struct mmaplab_pc_batch b;
	int ret;

	if (!fio)
		return 0;
	b = (struct mmaplab_pc_batch){ .fio = fio, .path = mmaplab_pc_path(fio, wbc) };
	ret = mmaplab_write_cache_pages(mapping, wbc, mmaplab_pc_write_folio, &b);
	mmaplab_pc_batch_end(&b);
	return ret;
}

/* Memory reclaim (and migration's fallback) writes one page at a time. */
static int mmaplab_pc_writepage(struct page *page, struct writeback_control *wbc)
{
	struct folio *folio = page_folio(page);
	struct mmaplab_fileio *fio = READ_ONCE(folio->mapping->host->i_private);
	struct mmaplab_pc_batch b;

	if (!fio) {
		folio_redirty_for_writepage(wbc, folio);
		folio_unlock(folio);
		return 0;
	}
	b = (struct mmaplab_pc_batch){ .fio = fio, .path = mmaplab_pc_path(fio, wbc) };
	mmaplab_pc_write_folio(folio, wbc, &b);
	mmaplab_pc_batch_end(&b);
	return 0;
}

/*
 * filemap_migrate_folio: compaction moves dirty pages as they are instead
 * of writing them out first, so RECLAIM means reclaim.
 */
static const struct address_space_operations mmaplab_pc_aops = {
	.read_folio	= mmaplab_pc_read_folio,
	.dirty_folio	= filemap_dirty_folio,
	.writepages	= mmaplab_pc_writepages,
	.writepage	= mmaplab_pc_writepage,
	.migrate_folio	= filemap_migrate_folio,
};

/*
 * filemap_fault() may drop mmap_lock (VM_FAULT_RETRY, COMPLETED), after
 * which the VMA and even the session may be gone: count only faults that
 * came back with the lock held.
 */
static vm_fault_t mmaplab_pc_fault(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;
	vm_fault_t ret = filemap_fault(vmf);

	if (!(ret & (VM_FAULT_ERROR | VM_FAULT_RETRY | VM_FAULT_COMPLETED))) {
		atomic64_inc(&s->stats.faults);
		atomic64_inc(&s->stats.pages_mapped);
	}
	return ret;
}

static vm_fault_t mmaplab_pc_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
				       pgoff_t end_pgoff)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;

	atomic64_inc(&s->stats.map_pages_calls);
	return filemap_map_pages(vmf, start_pgoff, end_pgoff);
}

/*
 * filemap_page_mkwrite() without the parts that are a real filesystem's:
 * no freeze protection (this superblock is never frozen) and no
 * file_update_time() (the device inode's times are not the data's). The
 * folio may have been truncated or invalidated (FILL) since the fault
 * found it: then the core retries the fault.
 */
static vm_fault_t mmaplab_pc_page_mkwrite(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct folio *folio = page_folio(vmf->page);

	folio_lock(folio);
	if (folio->mapping != mapping) {
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;
	}
	mmaplab_store_note_write(s->fio->store, folio->index);
	folio_mark_dirty(folio);
	/* a no-op unless the bdi wanted stable pages; ours does not */
	folio_wait_stable(folio);
	atomic64_inc(&s->stats.mkwrite_faults);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct mmaplab_pc_vm_ops = {
	.open		= mmaplab_vm_open,
	.close		= mmaplab_vm_close,
	.fault		= mmaplab_pc_fault,
	.map_pages	= mmaplab_pc_map_pages,
	.page_mkwrite	= mmaplab_pc_page_mkwrite,
};

/*
 * MAP_PRIVATE works as for any file: reads share the page cache, the first
 * write copies the page (page_mkwrite is for shared mappings only).
 * DONTEXPAND and DONTDUMP as for every other method (mmaplab_map.c).
 */
int mmaplab_page_cache_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	mmaplab_vma_set_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	mmaplab_vma_attach(s, vma, &mmaplab_pc_vm_ops);
	return 0;
}

/* The period_ms work: start writeback of what is dirty, and come back. */
static void mmaplab_pc_periodic_work(struct work_struct *work)
{
	struct mmaplab_fileio *fio = container_of(to_delayed_work(work), struct mmaplab_fileio,
						  periodic);

	mmaplab_wb_begin(fio, MMAPLAB_PATH_PERIODIC);
	filemap_fdatawrite(fio->inode->i_mapping);
	mmaplab_wb_end(fio);
	atomic64_inc(&fio->s->stats.periodic_runs);
	/* cancel_delayed_work_sync() at teardown stops this requeue too */
	queue_delayed_work(system_unbound_wq, &fio->periodic, msecs_to_jiffies(fio->period_ms));
}

/*
 * MMAPLAB_METHOD_DEFERRED_IO, MMAPLAB_METHOD_DEFERRED_IO_KEEP_MAPPING
 *
 * The screen's pages are handed out by ->fault as in the fault method,
 * with page->mapping and page->index set so that folio_mkclean() can find
 * the PTEs that map them (the reverse map of a file page). The first write
 * to a page faults into page_mkwrite, which adds it to the dirty set and
 * schedules the flush. The flush write-protects each page again (so its
 * next write faults again) and copies it to the store.
 *
 * The mapping's only address_space operation is noop_dirty_folio: zapping
 * a dirty PTE (munmap, exit) marks the page dirty through
 * a_ops->dirty_folio, and these pages are not page cache pages to account.
 */
static const struct address_space_operations mmaplab_defio_aops = {
	.dirty_folio	= noop_dirty_folio,
};

static vm_fault_t mmaplab_defio_fault(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= s->buf.nr_pages)
		return VM_FAULT_SIGBUS;
	page = mmaplab_buf_page(&s->buf, vmf->pgoff);
	if (!page)
		return VM_FAULT_SIGBUS;

	get_page(page);
	/* for the reverse-map walk of folio_mkclean() */
	page->mapping = vmf->vma->vm_file->f_mapping;
	page->index = vmf->pgoff;
	/* returned unlocked: the core locks it */
	vmf->page = page;
	atomic64_inc(&s->stats.faults);
	atomic64_inc(&s->stats.pages_mapped);
	return 0;
}

static vm_fault_t mmaplab_defio_page_mkwrite(struct vm_fault *vmf)
{
	struct mmaplab_session *s = vmf->vma->vm_private_data;
	struct mmaplab_fileio *fio = s->fio;
	struct page *page = vmf->page;

	/* held until the PTE is writable: a flush cannot clean it half-way */
	lock_page(page);
	spin_lock(&fio->dirty_lock);
	__set_bit(vmf->pgoff, fio->dirty);
	spin_unlock(&fio->dirty_lock);
	mmaplab_store_note_write(fio->store, vmf->pgoff);
	/* does nothing if a flush is already pending: the batch is open */
	queue_delayed_work(system_unbound_wq, &fio->defer, fio->delay);
	atomic64_inc(&s->stats.mkwrite_faults);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct mmaplab_defio_vm_ops = {
	.open		= mmaplab_vm_open,
	.close		= mmaplab_vm_close,
	.fault		= mmaplab_defio_fault,
	.page_mkwrite	= mmaplab_defio_page_mkwrite,
};

/*
 * Shared mappings only: in a private one the first write copies the page
 * and never reaches page_mkwrite, so nothing would ever be flushed.
 */
int mmaplab_defio_mmap(struct mmaplab_session *s, struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_SHARED))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_PRIVATE,
				    "deferred I/O: a private mapping's writes never reach the flush");
	mmaplab_vma_set_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	mmaplab_vma_attach(s, vma, &mmaplab_defio_vm_ops);
	return 0;
}

/*
 * Send the dirty set to the store as one batch. Each page is locked,
 * write-protected in every VMA and copied before it is unlocked: a write
 * after the clean faults into page_mkwrite, which waits for the lock and
 * puts the page in the next batch, so no write is lost and the copy is
 * consistent.
 */
static void mmaplab_defio_flush(struct mmaplab_fileio *fio, enum mmaplab_path path)
{
	struct mmaplab_session *s = fio->s;
	unsigned long nr = s->buf.nr_pages, i, n = 0;

	mutex_lock(&fio->flush_lock);
	spin_lock(&fio->dirty_lock);
	swap(fio->dirty, fio->flushing);
	spin_unlock(&fio->dirty_lock);

	for_each_set_bit(i, fio->flushing, nr) {
		struct page *page = mmaplab_buf_page(&s->buf, i);

		lock_page(page);
		folio_mkclean(page_folio(page));
		mmaplab_store_arrive(fio->store, i, mmaplab_buf_kaddr(&s->buf, i << PAGE_SHIFT),
				     path, &s->stats);
		unlock_page(page);
		n++;
		cond_resched();
	}
	bitmap_zero(fio->flushing, nr);

	if (n) {
		atomic64_inc(&s->stats.writeback_calls);
		atomic64_inc(&s->stats.batches);
		mmaplab_store_batch_done(fio->store);
	}
	mutex_unlock(&fio->flush_lock);
}

static void mmaplab_defio_work(struct work_struct *work)
{
	struct mmaplab_fileio *fio = container_of(to_delayed_work(work), struct mmaplab_fileio,
						  defer);

	mmaplab_defio_flush(fio, MMAPLAB_PATH_DEFERRED);
}

/*
 * Before the screen is freed: nothing maps it any more, so its pages stop
 * being file pages. A page freed with page->mapping set is "Bad page state
 * ... non-NULL mapping", which KEEP_MAPPING exists to show.
 */
static void mmaplab_defio_release_pages(struct mmaplab_fileio *fio)
{
	struct mmaplab_session *s = fio->s;
	unsigned long i;

	if (fio->method == MMAPLAB_METHOD_DEFERRED_IO_KEEP_MAPPING) {
		pr_notice("%s[%d]: hazard: freeing %lu screen pages with page->mapping still set\n",
			  current->comm, task_pid_nr(current), s->buf.nr_pages);
		return;
	}
	for (i = 0; i < s->buf.nr_pages; i++)
		mmaplab_buf_page(&s->buf, i)->mapping = NULL;
}

/* Session entry points */

/*
 * CONFIGURE: delay_ms and period_ms belong to one method each. The method
 * is known and may map the allocator (checked before).
 */
int mmaplab_file_check(struct mmaplab_session *s, const struct mmaplab_config *cfg)
{
	if (cfg->delay_ms && !mmaplab_is_defio(cfg->method))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_TIMING,
				    "delay_ms is for the deferred-I/O methods only");
	if (cfg->delay_ms > MMAPLAB_DELAY_MS_MAX)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_TIMING,
				    "delay_ms %u is above %u", cfg->delay_ms, MMAPLAB_DELAY_MS_MAX);
	if (cfg->period_ms && !mmaplab_is_page_cache(cfg->method))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_TIMING,
				    "period_ms is for the page-cache method only");
	if (cfg->period_ms &&
	    (cfg->period_ms < MMAPLAB_PERIOD_MS_MIN || cfg->period_ms > MMAPLAB_PERIOD_MS_MAX))
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_TIMING,
				    "period_ms %u is outside [%u, %u]", cfg->period_ms,
				    MMAPLAB_PERIOD_MS_MIN, MMAPLAB_PERIOD_MS_MAX);
	return 0;
}

static void mmaplab_fileio_free(struct mmaplab_fileio *fio)
{
	bitmap_free(fio->dirty);
	bitmap_free(fio->flushing);
	mutex_destroy(&fio->wb_lock);
	mutex_destroy(&fio->flush_lock);
	kfree(fio);
}

/*
 * CONFIGURE of a file-backed method, with s->lock held, once the buffer is
 * allocated: the inode, the store, the file pointed at the inode's mapping.
 * On failure nothing is left behind and the caller frees the buffer.
 */
int mmaplab_file_setup(struct mmaplab_session *s, struct file *file,
		       const struct mmaplab_config *cfg)
{
	bool page_cache = mmaplab_is_page_cache(cfg->method);
	struct mmaplab_fileio *fio;

	lockdep_assert_held(&s->lock);

	fio = kzalloc(sizeof(*fio), GFP_KERNEL);
	if (!fio)
		return -ENOMEM;
	fio->s = s;
	fio->method = cfg->method;
	mutex_init(&fio->wb_lock);
	mutex_init(&fio->flush_lock);
	spin_lock_init(&fio->dirty_lock);
	INIT_DELAYED_WORK(&fio->periodic, mmaplab_pc_periodic_work);
	INIT_DELAYED_WORK(&fio->defer, mmaplab_defio_work);
	fio->period_ms = cfg->period_ms;
	fio->delay = msecs_to_jiffies(cfg->delay_ms ?: MMAPLAB_DELAY_MS_DEFAULT);

	if (!page_cache) {
		fio->dirty = bitmap_zalloc(s->buf.nr_pages, GFP_KERNEL);
		fio->flushing = bitmap_zalloc(s->buf.nr_pages, GFP_KERNEL);
		if (!fio->dirty || !fio->flushing)
			goto err_free;
	}

	fio->inode = mmaplab_fs_new_inode(fio, s->buf.size,
					  page_cache ? &mmaplab_pc_aops : &mmaplab_defio_aops);
	if (!fio->inode)
		goto err_free;

	/*
	 * PAGE_CACHE: the buffer is the store; DEFERRED_IO*: a store of its
	 * own. Either belongs to whoever opened the session, whichever
	 * process holds the file now (mmaplab_store_may_read()).
	 */
	fio->store = mmaplab_store_create(s->buf.size, page_cache ? s->buf.vaddr : NULL,
					  file->f_cred->euid);
	if (!fio->store)
		goto err_iput;

	file->f_mapping = fio->inode->i_mapping;
	file->f_wb_err = filemap_sample_wb_err(file->f_mapping);
	s->fio = fio;

	if (fio->period_ms)
		queue_delayed_work(system_unbound_wq, &fio->periodic,
				   msecs_to_jiffies(fio->period_ms));
	return 0;

err_iput:
	iput(fio->inode);
err_free:
	mmaplab_fileio_free(fio);
	return -ENOMEM;
}

/*
 * End of a file-backed session (reconfigure with s->lock held, release):
 * nothing maps the buffer any more. Send what is still dirty (path
 * RELEASE), drop the inode and close the store; the caller frees the
 * buffer next. write_inode_now() rather than a plain flush: it also waits
 * for a flusher that is writing this inode, so that no writeback is left
 * running once i_private is cleared.
 */
void mmaplab_file_teardown(struct mmaplab_session *s, struct file *file)
{
	struct mmaplab_fileio *fio = s->fio;
	struct inode *inode;

	if (!fio)
		return;
	inode = fio->inode;

	if (mmaplab_is_page_cache(fio->method)) {
		cancel_delayed_work_sync(&fio->periodic);
		mmaplab_wb_begin(fio, MMAPLAB_PATH_RELEASE);
		write_inode_now(inode, 1);
		mmaplab_wb_end(fio);
	} else {
		cancel_delayed_work_sync(&fio->defer);
		mmaplab_defio_flush(fio, MMAPLAB_PATH_RELEASE);
		mmaplab_defio_release_pages(fio);
	}

	file->f_mapping = file_inode(file)->i_mapping;
	file->f_wb_err = filemap_sample_wb_err(file->f_mapping);
	WRITE_ONCE(inode->i_private, NULL);
	iput(inode);

	/* the store outlives the session: PAGE_CACHE's buffer memory goes with it */
	if (mmaplab_is_page_cache(fio->method) && !WARN_ON_ONCE(!mmaplab_buf_take_vmalloc(&s->buf)))
		mmaplab_store_adopt_data(fio->store);
	mmaplab_store_close(fio->store);

	s->fio = NULL;
	mmaplab_fileio_free(fio);
}

/* PAGE_CACHE: the pattern reaches the mapping only once its cached pages are dropped. */
static int mmaplab_pc_fill(struct mmaplab_session *s, const struct mmaplab_pattern *pat)
{
	struct address_space *mapping = s->fio->inode->i_mapping;
	int ret;

	if (mapping_tagged(mapping, PAGECACHE_TAG_DIRTY))
		return mmaplab_fail(s, -EBUSY, MMAPLAB_REASON_DIRTY,
				    "FILL would discard dirty page-cache pages: FLUSH or fsync first");

	ret = mmaplab_store_pattern(s->fio->store, pat);
	if (ret)
		return ret;

	ret = invalidate_inode_pages2(mapping);
	if (ret == -EBUSY)
		return mmaplab_fail(s, -EBUSY, MMAPLAB_REASON_DIRTY,
				    "FILL: a page was dirtied meanwhile and stays cached over the new store");
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "FILL: invalidate_inode_pages2: %d", ret);
	return 0;
}

/* DEFERRED_IO*: the screen and the store both get the pattern. */
static int mmaplab_defio_fill(struct mmaplab_session *s, const struct mmaplab_pattern *pat)
{
	int ret = mmaplab_buf_pattern(&s->buf, pat);

	if (ret)
		return ret;
	return mmaplab_store_pattern(s->fio->store, pat);
}

/*
 * FILL or VERIFY of a file-backed session, with s->lock held. VERIFY
 * checks what reached the store.
 */
int mmaplab_file_pattern(struct mmaplab_session *s, const struct mmaplab_pattern *pat)
{
	if (pat->v)
		return mmaplab_store_pattern(s->fio->store, pat);
	if (mmaplab_is_page_cache(s->fio->method))
		return mmaplab_pc_fill(s, pat);
	return mmaplab_defio_fill(s, pat);
}

/* The session's store with a reference for the caller, or NULL; s->lock held. */
struct mmaplab_kstore *mmaplab_file_store(struct mmaplab_session *s)
{
	lockdep_assert_held(&s->lock);

	if (!s->fio)
		return NULL;
	mmaplab_store_get(s->fio->store);
	return s->fio->store;
}

/* Deferred I/O now rather than at the end of the window. */
static void mmaplab_defio_flush_now(struct mmaplab_fileio *fio, enum mmaplab_path path)
{
	/* a flush that is already running finishes first (flush_lock) */
	cancel_delayed_work(&fio->defer);
	mmaplab_defio_flush(fio, path);
}

/* FLUSH of a file-backed session, with s->lock held: everything dirty, and wait. */
int mmaplab_file_flush(struct mmaplab_session *s)
{
	struct mmaplab_fileio *fio = s->fio;
	int ret;

	if (!mmaplab_is_page_cache(fio->method)) {
		mmaplab_defio_flush_now(fio, MMAPLAB_PATH_FLUSH);
		return 0;
	}

	mmaplab_wb_begin(fio, MMAPLAB_PATH_FLUSH);
	ret = filemap_write_and_wait(fio->inode->i_mapping);
	mmaplab_wb_end(fio);
	if (ret)
		return mmaplab_fail(s, ret, MMAPLAB_REASON_KERNEL,
				    "FLUSH: writeback failed: %d", ret);
	return 0;
}

/*
 * ->fsync of the device: fsync(2), fdatasync(2) and msync(MS_SYNC), which
 * calls it with mmap_lock dropped. The other methods have nothing to sync
 * and answer EINVAL, which is what the kernel answers for a file without
 * ->fsync.
 */
int mmaplab_file_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct mmaplab_session *s = file->private_data;
	struct mmaplab_fileio *fio;
	int ret = 0;

	mutex_lock(&s->lock);
	fio = s->fio;
	if (!fio) {
		ret = mmaplab_fail(s, -EINVAL, mmaplab_session_configured(s) ?
				   MMAPLAB_REASON_COMBINATION : MMAPLAB_REASON_NOT_CONFIGURED,
				   "fsync: only the file-backed methods have a store to sync");
	} else if (mmaplab_is_page_cache(fio->method)) {
		mmaplab_wb_begin(fio, MMAPLAB_PATH_FSYNC);
		ret = file_write_and_wait_range(file, start, end);
		mmaplab_wb_end(fio);
	} else {
		mmaplab_defio_flush_now(fio, MMAPLAB_PATH_FSYNC);
	}
	mutex_unlock(&s->lock);
	return ret;
}
