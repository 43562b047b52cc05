// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: a session's buffer exported as a dma-buf (ioctl DMABUF).
 *
 * This is what a GPU, camera or media driver does to hand its memory to
 * userspace through a dma-buf file descriptor instead of its own device
 * node: userspace mmaps the dma-buf's fd and brackets CPU access with
 * DMA_BUF_IOCTL_SYNC. The dma-buf core calls ->mmap with the VMA as the
 * fd's mmap(2) made it, so the session's method maps it exactly as it maps
 * the device (mmaplab_map_mmap()); what differs is only whose file the VMA
 * holds, the dma-buf's.
 *
 * Lifetime: the dma-buf holds a reference to the session's file, so the
 * session (and its buffer) lives until the dma-buf's last descriptor and
 * last mapping are gone; its ->release drops that reference. While it
 * lives, CONFIGURE is refused (the dma-buf describes this buffer), and a
 * second EXPORT hands out another descriptor of the same dma-buf.
 *
 * No importer: no device attaches to these dma-bufs, so ->map_dma_buf
 * answers -EOPNOTSUPP (the dma-buf core insists on having one).
 *
 * Locking: ->mmap runs under mmap_lock (the dma-buf core takes no lock of
 * its own around it, on 6.1 as on 6.12) and takes the session lock inside,
 * as the device's ->mmap does. The CPU-access hooks run from the dma-buf's ioctl with
 * neither held and take the session lock for the sync of a streaming
 * buffer. ->release runs when the dma-buf's file is freed, never under the
 * session lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "mmaplab.h"
#include "mmaplab_compat.h"

MODULE_IMPORT_NS(DMA_BUF);

/*
 * What a dma-buf's priv points at: the session, and the reference to its
 * file that the dma-buf holds. One per dma-buf, so that a dma-buf still
 * being released never shares it with the one exported after it.
 */
struct mmaplab_export {
	struct mmaplab_session *s;
	struct file *owner;
};

static struct mmaplab_session *mmaplab_dmabuf_session(const struct dma_buf *dmabuf)
{
	const struct mmaplab_export *e = dmabuf->priv;

	return e->s;
}

static struct sg_table *mmaplab_dmabuf_map(struct dma_buf_attachment *attach,
					   enum dma_data_direction dir)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static void mmaplab_dmabuf_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
				 enum dma_data_direction dir)
{
}

static int mmaplab_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	return mmaplab_session_mmap(mmaplab_dmabuf_session(dmabuf), vma, "mmap of the dma-buf");
}

/*
 * A streaming (DMA_PAGES) buffer is the device's between the CPU's
 * accesses. Nothing to sync for other memory, or once FREE_WHILE_MAPPED
 * gave it back; and not a failure either, so LAST_ERROR is left alone.
 */
static void mmaplab_dmabuf_sync(struct mmaplab_session *s, bool for_cpu,
				enum dma_data_direction dir)
{
	struct mmaplab_buf *buf = &s->buf;

	mutex_lock(&s->lock);
	if (mmaplab_session_configured(s) && !buf->freed && mmaplab_buf_is_streaming(buf)) {
		if (for_cpu)
			dma_sync_single_for_cpu(buf->dma_dev, buf->dma_handle, buf->size, dir);
		else
			dma_sync_single_for_device(buf->dma_dev, buf->dma_handle, buf->size, dir);
	}
	mutex_unlock(&s->lock);
}

static int mmaplab_dmabuf_begin_cpu(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct mmaplab_session *s = mmaplab_dmabuf_session(dmabuf);

	atomic64_inc(&s->stats.dmabuf_cpu_begin);
	mmaplab_dmabuf_sync(s, true, dir);
	return 0;
}

static int mmaplab_dmabuf_end_cpu(struct dma_buf *dmabuf, enum dma_data_direction dir)
{
	struct mmaplab_session *s = mmaplab_dmabuf_session(dmabuf);

	atomic64_inc(&s->stats.dmabuf_cpu_end);
	mmaplab_dmabuf_sync(s, false, dir);
	return 0;
}

/*
 * The dma-buf's file is gone. A later EXPORT may already have replaced
 * s->dmabuf (see mmaplab_dmabuf_get()), so only this dma-buf is forgotten.
 */
static void mmaplab_dmabuf_release(struct dma_buf *dmabuf)
{
	struct mmaplab_export *e = dmabuf->priv;
	struct mmaplab_session *s = e->s;

	mutex_lock(&s->lock);
	if (s->dmabuf == dmabuf)
		s->dmabuf = NULL;
	mutex_unlock(&s->lock);
	fput(e->owner);
	kfree(e);
}

static const struct dma_buf_ops mmaplab_dmabuf_ops = {
	.map_dma_buf		= mmaplab_dmabuf_map,
	.unmap_dma_buf		= mmaplab_dmabuf_unmap,
	.mmap			= mmaplab_dmabuf_mmap,
	.begin_cpu_access	= mmaplab_dmabuf_begin_cpu,
	.end_cpu_access		= mmaplab_dmabuf_end_cpu,
	.release		= mmaplab_dmabuf_release,
};

/*
 * The session's dma-buf, exported now if there is none; a reference for the
 * caller either way. s->dmabuf is only a pointer, cleared by ->release: the
 * dma-buf lives as long as descriptors and mappings hold its file. Between
 * the last reference going and ->release, s->dmabuf still names a dma-buf
 * whose file count is zero (its memory stays until ->release has run, which
 * needs s->lock); that one is not revived but replaced.
 */
static struct dma_buf *mmaplab_dmabuf_get(struct mmaplab_session *s, struct file *file)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct mmaplab_export *e;
	struct dma_buf *dmabuf;
	int ret;

	lockdep_assert_held(&s->lock);

	ret = mmaplab_buf_usable(s, "DMABUF EXPORT");
	if (!ret && s->fio)
		ret = mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_COMBINATION,
				   "DMABUF EXPORT: a file-backed method maps its own inode");
	if (ret)
		return ERR_PTR(ret);
	if (s->dmabuf && mmaplab_file_tryget(s->dmabuf->file))
		return s->dmabuf;

	e = kmalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return ERR_PTR(mmaplab_fail(s, -ENOMEM, MMAPLAB_REASON_NOMEM,
					    "DMABUF EXPORT: no memory"));
	e->s = s;
	e->owner = file;
	info.ops = &mmaplab_dmabuf_ops;
	info.size = s->buf.size;
	/* No more than the session may: a read-only open exports a read-only dma-buf. */
	info.flags = (file->f_mode & FMODE_WRITE) ? O_RDWR : O_RDONLY;
	info.priv = e;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		kfree(e);
		return ERR_PTR(mmaplab_fail(s, PTR_ERR(dmabuf), MMAPLAB_REASON_KERNEL,
					    "dma_buf_export: %ld", PTR_ERR(dmabuf)));
	}
	/* The new dma-buf's one reference is the caller's; s->dmabuf holds none. */
	get_file(file);
	s->dmabuf = dmabuf;
	return dmabuf;
}

/* The outputs every answer carries. */
static void mmaplab_dmabuf_state(struct mmaplab_session *s, struct mmaplab_dmabuf *req)
{
	mutex_lock(&s->lock);
	req->alive = !!s->dmabuf;
	mutex_unlock(&s->lock);
	req->cpu_begin = atomic64_read(&s->stats.dmabuf_cpu_begin);
	req->cpu_end = atomic64_read(&s->stats.dmabuf_cpu_end);
}

/*
 * EXPORT: the descriptor is reserved first and installed last, after the
 * answer reached the caller: an installed descriptor cannot be taken back,
 * so a caller that cannot be told its number must never get one.
 */
static int mmaplab_dmabuf_export(struct mmaplab_session *s, struct file *file,
				 struct mmaplab_dmabuf *req, void __user *argp)
{
	struct dma_buf *dmabuf;
	int fd;

	mutex_lock(&s->lock);
	dmabuf = mmaplab_dmabuf_get(s, file);
	mutex_unlock(&s->lock);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return mmaplab_fail(s, fd, MMAPLAB_REASON_KERNEL,
				    "no descriptor for the dma-buf: %d", fd);
	}
	req->fd = fd;
	mmaplab_dmabuf_state(s, req);
	if (copy_to_user(argp, req, sizeof(*req))) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);

	mutex_lock(&s->lock);
	mmaplab_succeed(s);
	mutex_unlock(&s->lock);
	return 0;
}

/* DMABUF: see the uapi header. */
int mmaplab_ioctl_dmabuf(struct mmaplab_session *s, struct file *file, void __user *argp)
{
	struct mmaplab_dmabuf req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.op > MMAPLAB_DMABUF_EXPORT || req.reserved)
		return mmaplab_fail(s, -EINVAL, MMAPLAB_REASON_BAD_FLAGS,
				    "DMABUF: op %u is neither QUERY nor EXPORT, or reserved %u is not 0",
				    req.op, req.reserved);

	if (req.op == MMAPLAB_DMABUF_EXPORT)
		return mmaplab_dmabuf_export(s, file, &req, argp);

	req.fd = -1;
	mmaplab_dmabuf_state(s, &req);
	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}
