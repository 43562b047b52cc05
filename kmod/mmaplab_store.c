// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: backing stores of the file-backed methods (PAGE_CACHE and
 * DEFERRED_IO*), "the far end" their writeback and flushes send pages to.
 *
 * A store is the bytes that arrived plus, per page, when and by which path
 * they last arrived and when the write that made them dirty happened. It
 * is reference-counted: its session holds one reference while it is open,
 * the global list one for as long as the module keeps it, and a STORE
 * ioctl one while it copies. When its session ends (last close, or a
 * CONFIGURE that replaces it) the store stays on the list, readable by id,
 * until MMAPLAB_STORES_KEPT newer ones have ended after it.
 *
 * Ownership: a store belongs to the effective uid that opened the session
 * creating it (@owner, taken from that file's f_cred at CONFIGURE). Its
 * session reads it as id 0; by id, open or kept, only a session of the
 * same owner or one opened with CAP_SYS_ADMIN may read it
 * (mmaplab_store_may_read(), which the STORE ioctl asks before it copies
 * anything). Without that rule dev_mode=0666 would let any user read what
 * another user's mapping sent to its store.
 *
 * Locking: @lock (a spinlock) protects a store's bytes and records. It is
 * taken by page_mkwrite, by writeback and by the deferred-I/O flush, one
 * page at a time, and never around anything that can fault or sleep: the
 * STORE ioctl snapshots under it and copies to userspace after dropping it
 * (see the locking note of mmaplab.h). mmaplab_stores_lock protects the
 * list, every store's @node and @open, and the count of kept stores.
 * @id, @owner, @size and @nr_pages are set before the store is on the list
 * and never change: whoever holds a reference reads them without a lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/vmalloc.h>

#include "mmaplab.h"

struct mmaplab_kstore_page {
	struct mmaplab_store_page rec;	/* what STORE reports */
	u64 pending_ns;			/* first write since the latest arrival, 0 none */
};

struct mmaplab_kstore {
	struct kref ref;
	u64 id;
	kuid_t owner;		/* euid of the creating session's opener */
	size_t size;
	unsigned long nr_pages;
	/*
	 * vmalloc memory. PAGE_CACHE: the session's buffer, owned by it
	 * until the session ends and hands it over (@owns_data);
	 * DEFERRED_IO*: the store's own.
	 */
	void *data;
	bool owns_data;
	spinlock_t lock;		/* the bytes and the records (above) */
	struct mmaplab_kstore_page *pages;
	u64 batches;
	bool open;
	struct list_head node;
};

/* Every store the module knows: open ones and the kept closed ones. */
static LIST_HEAD(mmaplab_stores);
static DEFINE_SPINLOCK(mmaplab_stores_lock);
static unsigned int mmaplab_stores_kept;
/* ids start at 1: 0 names the caller's own store in STORE */
static atomic64_t mmaplab_store_last_id = ATOMIC64_INIT(0);

/*
 * A new open store of @size bytes, belonging to @owner. @data is the
 * memory to use (PAGE_CACHE: the session's buffer, not owned), or NULL for
 * a zeroed store of its own. The caller holds the session's reference; the
 * list holds another.
 */
struct mmaplab_kstore *mmaplab_store_create(size_t size, void *data, kuid_t owner)
{
	struct mmaplab_kstore *st;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return NULL;

	st->owner = owner;
	st->size = size;
	st->nr_pages = size >> PAGE_SHIFT;
	st->pages = kvcalloc(st->nr_pages, sizeof(*st->pages), GFP_KERNEL);
	if (!st->pages)
		goto err_free;
	if (data) {
		st->data = data;
	} else {
		st->data = __vmalloc(size, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
		if (!st->data)
			goto err_free_pages;
		st->owns_data = true;
	}

	spin_lock_init(&st->lock);
	kref_init(&st->ref);	/* the session's */
	kref_get(&st->ref);	/* the list's */
	st->open = true;
	st->id = atomic64_inc_return(&mmaplab_store_last_id);

	spin_lock(&mmaplab_stores_lock);
	list_add_tail(&st->node, &mmaplab_stores);
	spin_unlock(&mmaplab_stores_lock);
	return st;

err_free_pages:
	kvfree(st->pages);
err_free:
	kfree(st);
	return NULL;
}

static void mmaplab_store_release(struct kref *ref)
{
	struct mmaplab_kstore *st = container_of(ref, struct mmaplab_kstore, ref);

	if (st->owns_data)
		vfree(st->data);
	kvfree(st->pages);
	kfree(st);
}

void mmaplab_store_get(struct mmaplab_kstore *st)
{
	kref_get(&st->ref);
}

void mmaplab_store_put(struct mmaplab_kstore *st)
{
	kref_put(&st->ref, mmaplab_store_release);
}

/*
 * PAGE_CACHE: the session's buffer memory is the store's from now on (the
 * session took it from its buffer with mmaplab_buf_take_vmalloc()).
 */
void mmaplab_store_adopt_data(struct mmaplab_kstore *st)
{
	st->owns_data = true;
}

/*
 * The session is done with @st: nothing writes to it any more. It is kept
 * for reading by id; the oldest kept store beyond MMAPLAB_STORES_KEPT is
 * dropped. Drops the session's reference.
 */
void mmaplab_store_close(struct mmaplab_kstore *st)
{
	struct mmaplab_kstore *evict = NULL, *it;

	spin_lock(&mmaplab_stores_lock);
	WRITE_ONCE(st->open, false);
	/* closed stores sit in the order they closed, after the open ones that remain */
	list_move_tail(&st->node, &mmaplab_stores);
	if (++mmaplab_stores_kept > MMAPLAB_STORES_KEPT) {
		list_for_each_entry(it, &mmaplab_stores, node) {
			if (!READ_ONCE(it->open)) {
				evict = it;
				break;
			}
		}
		list_del(&evict->node);
		mmaplab_stores_kept--;
	}
	spin_unlock(&mmaplab_stores_lock);

	if (evict)
		mmaplab_store_put(evict);
	mmaplab_store_put(st);
}

/* The store with @id, open or kept, with a reference for the caller; or NULL. */
struct mmaplab_kstore *mmaplab_store_find(u64 id)
{
	struct mmaplab_kstore *it, *found = NULL;

	spin_lock(&mmaplab_stores_lock);
	list_for_each_entry(it, &mmaplab_stores, node) {
		if (it->id == id) {
			found = it;
			mmaplab_store_get(found);
			break;
		}
	}
	spin_unlock(&mmaplab_stores_lock);
	return found;
}

/*
 * May the session of @file read @st by id? Its owner may, and so may a
 * session opened with CAP_SYS_ADMIN. The caller holds a reference on @st;
 * @owner never changes, so no lock is needed.
 *
 * Both sides are the credentials the sessions' files were opened with
 * (f_cred), not the caller's: who a session is gets settled once, at open,
 * like the node's mode, so a descriptor handed to a more privileged
 * process does not read more through it than its opener could.
 *
 * The euid, not the fsuid: the fsuid differs from it only after
 * setfsuid(), the identity a file server takes on to reach a client's
 * files, and a store is no file; the euid is the owner the kernel gives
 * the objects a process creates (SysV IPC's uid and cuid). kuid_t values
 * are global: uid 0 inside a user namespace is not root here. And
 * CAP_SYS_ADMIN counts only in the initial user namespace, since the
 * stores are the whole machine's: owning a user namespace, which grants
 * every capability inside it, reads nobody else's store.
 *
 * The owner is compared first, so that a user reading their own store
 * never goes through a capability check (and the audit it may log).
 */
bool mmaplab_store_may_read(const struct mmaplab_kstore *st, const struct file *file)
{
	if (uid_eq(st->owner, file->f_cred->euid))
		return true;
	return file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);
}

/* Module exit: every session is gone, so every store left is a kept one. */
void mmaplab_stores_exit(void)
{
	struct mmaplab_kstore *st, *next;
	LIST_HEAD(all);

	spin_lock(&mmaplab_stores_lock);
	list_splice_init(&mmaplab_stores, &all);
	mmaplab_stores_kept = 0;
	spin_unlock(&mmaplab_stores_lock);

	list_for_each_entry_safe(st, next, &all, node) {
		WARN_ON_ONCE(READ_ONCE(st->open));
		list_del(&st->node);
		mmaplab_store_put(st);
	}
}

/*
 * A write made page @index dirty (page_mkwrite): remember when, unless an
 * earlier write since its latest arrival already did.
 */
void mmaplab_store_note_write(struct mmaplab_kstore *st, unsigned long index)
{
	u64 now = ktime_get_ns();

	if (index >= st->nr_pages)
		return;
	spin_lock(&st->lock);
	if (!st->pages[index].pending_ns)
		st->pages[index].pending_ns = now;
	spin_unlock(&st->lock);
}

/* ->read_folio: page @index of the store into @dst (zeroes past its end). */
void mmaplab_store_load(struct mmaplab_kstore *st, unsigned long index, void *dst)
{
	if (index >= st->nr_pages) {
		memset(dst, 0, PAGE_SIZE);
		return;
	}
	spin_lock(&st->lock);
	memcpy(dst, st->data + (index << PAGE_SHIFT), PAGE_SIZE);
	spin_unlock(&st->lock);
}

/*
 * Page @index arrives: copy PAGE_SIZE bytes from @src into the store and
 * record the arrival. The latency of the page (its first write to now) goes
 * to the session's counters @c when that write is known.
 */
void mmaplab_store_arrive(struct mmaplab_kstore *st, unsigned long index, const void *src,
			  enum mmaplab_path path, struct mmaplab_counters *c)
{
	struct mmaplab_kstore_page *p;
	u64 now;

	if (index >= st->nr_pages)
		return;
	p = &st->pages[index];

	spin_lock(&st->lock);
	memcpy(st->data + (index << PAGE_SHIFT), src, PAGE_SIZE);
	now = ktime_get_ns();
	p->rec.arrived_ns = now;
	p->rec.dirtied_ns = p->pending_ns;
	p->rec.path = path;
	p->rec.arrivals++;
	if (p->pending_ns) {
		u64 latency = now - p->pending_ns;

		atomic64_set(&c->flush_latency_last_ns, latency);
		/* one store per session at a time, and all arrivals under its lock */
		if (latency > atomic64_read(&c->flush_latency_max_ns))
			atomic64_set(&c->flush_latency_max_ns, latency);
	}
	p->pending_ns = 0;
	spin_unlock(&st->lock);

	atomic64_inc(&c->pages_written);
}

/* A writeback call or flush that sent at least one page has ended. */
void mmaplab_store_batch_done(struct mmaplab_kstore *st)
{
	spin_lock(&st->lock);
	st->batches++;
	spin_unlock(&st->lock);
}

static bool mmaplab_store_pattern_page(void *arg, unsigned long pg,
				       const struct mmaplab_pattern *pat)
{
	struct mmaplab_kstore *st = arg;
	bool bad;

	spin_lock(&st->lock);
	bad = mmaplab_pattern_page(st->data + (pg << PAGE_SHIFT), pg, pat);
	spin_unlock(&st->lock);
	return bad;
}

/* FILL or VERIFY of a store; a mismatch is a result in @pat->v, not an error. */
int mmaplab_store_pattern(struct mmaplab_kstore *st, const struct mmaplab_pattern *pat)
{
	return mmaplab_pattern_walk(st->nr_pages, pat, mmaplab_store_pattern_page, st);
}

/*
 * STORE: fill @req's output fields and copy the records and bytes it asks
 * for to userspace. The caller holds a reference on @st and no lock. The
 * records are one snapshot; the bytes are copied a page at a time through
 * a bounce page, so a store that is still receiving pages may show a newer
 * page than its record says.
 */
int mmaplab_store_read(struct mmaplab_kstore *st, struct mmaplab_store *req)
{
	struct mmaplab_store_page *recs = NULL;
	u64 want_pages = 0, want_data = 0, done, i;
	void *bounce = NULL;
	int ret = 0;

	if (req->pages_ptr)
		want_pages = min_t(u64, req->pages_max, st->nr_pages);
	if (req->data_ptr)
		want_data = min_t(u64, req->data_len, st->size);

	if (want_pages) {
		recs = kvmalloc_array(want_pages, sizeof(*recs), GFP_KERNEL);
		if (!recs)
			return -ENOMEM;
	}
	if (want_data) {
		bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!bounce) {
			ret = -ENOMEM;
			goto out;
		}
	}

	spin_lock(&st->lock);
	for (i = 0; i < want_pages; i++)
		recs[i] = st->pages[i].rec;
	req->batches = st->batches;
	spin_unlock(&st->lock);
	req->now_ns = ktime_get_ns();

	if (want_pages &&
	    copy_to_user(u64_to_user_ptr(req->pages_ptr), recs, want_pages * sizeof(*recs))) {
		ret = -EFAULT;
		goto out;
	}

	for (done = 0; done < want_data; ) {
		size_t chunk = min_t(u64, want_data - done, PAGE_SIZE);

		spin_lock(&st->lock);
		memcpy(bounce, st->data + done, chunk);
		spin_unlock(&st->lock);

		if (copy_to_user(u64_to_user_ptr(req->data_ptr + done), bounce, chunk)) {
			ret = -EFAULT;
			goto out;
		}
		done += chunk;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out;
		}
		cond_resched();
	}

	req->id = st->id;
	req->size = st->size;
	req->open = READ_ONCE(st->open);
	req->pages_filled = want_pages;
out:
	kfree(bounce);
	kvfree(recs);
	return ret;
}
