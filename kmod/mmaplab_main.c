// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: the /dev/mmaplab misc device, its module parameters and its file
 * operations.
 *
 * Every open file is a session (struct mmaplab_session). The ioctls live in
 * mmaplab_ioctl.c, the allocators in mmaplab_alloc.c, the mapping
 * methods in mmaplab_map.c, the file-backed ones' machinery (and
 * ->fsync) in mmaplab_file.c. This file owns what is left: open/release,
 * mmap, read/write/llseek of the buffer, and the device.
 *
 * Lifetime: a session's buffer lives until the last mapping and the last
 * file reference are gone. Every VMA holds a reference to the file, so
 * release() only runs once nothing maps the buffer; every open file holds
 * the module (fops.owner), so the module cannot be unloaded before that.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mmaplab.h"

/*
 * Read-only after load: an experiment that wants hazards reloads the module,
 * so the setting in force is always the one logged at load time.
 */
bool mmaplab_allow_hazards;
module_param_named(allow_hazards, mmaplab_allow_hazards, bool, 0444);
MODULE_PARM_DESC(allow_hazards,
		 "Accept configurations that deliberately break kernel rules (default: N)");

/* Read-only after load for the same reason; checked against the uapi limit at load. */
unsigned long mmaplab_max_size = MMAPLAB_MAX_SIZE;
module_param_named(max_size, mmaplab_max_size, ulong, 0444);
MODULE_PARM_DESC(max_size,
		 "Largest buffer a session may configure, in bytes (default and maximum: 64 MiB)");

/*
 * The mode of the /dev node devtmpfs creates. Root only by default; a lab
 * that wants unprivileged users to run the safe methods loads the module
 * with dev_mode=0666. Hazards still need allow_hazards=1 and CAP_SYS_ADMIN,
 * whoever can open the node, and a store is read by id only by its owner
 * or with CAP_SYS_ADMIN (mmaplab_store.c), so users sharing the node do not
 * read each other's data. Permission bits only: no setuid, setgid or
 * sticky bit on a device node.
 */
static ushort mmaplab_dev_mode = 0600;
module_param_named(dev_mode, mmaplab_dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode,
		 "Mode of /dev/" MMAPLAB_DEVICE_NAME ", permission bits only (default: 0600)");

static struct miscdevice mmaplab_misc;

atomic_long_t mmaplab_nr_sessions = ATOMIC_LONG_INIT(0);

/* The device DMA_COHERENT buffers are allocated for (and mapped through). */
struct device *mmaplab_dma_device(void)
{
	return mmaplab_misc.this_device;
}

/*
 * Not configured yet, or freed by FREE_WHILE_MAPPED, is -ENODEV: there is no
 * buffer behind the file to map, which is what mmap(2) documents ENODEV for.
 * The device's ->mmap and its dma-buf's both come here.
 */
int mmaplab_session_mmap(struct mmaplab_session *s, struct vm_area_struct *vma, const char *what)
{
	int ret;

	mutex_lock(&s->lock);
	ret = mmaplab_buf_usable(s, what);
	if (!ret)
		ret = mmaplab_map_mmap(s, vma);
	if (!ret)
		mmaplab_succeed(s);
	mutex_unlock(&s->lock);
	return ret;
}

static int mmaplab_mmap(struct file *file, struct vm_area_struct *vma)
{
	return mmaplab_session_mmap(file->private_data, vma, "mmap");
}

/*
 * One chunk of read() (@write false: from the buffer into @bounce) or
 * write() (from @bounce into the buffer) at @pos, under s->lock. Returns
 * the bytes moved, 0 at the end of the buffer for read() (EOF), or an error.
 */
static ssize_t mmaplab_rw_chunk(struct mmaplab_session *s, loff_t pos, void *bounce,
				size_t chunk, bool write)
{
	ssize_t ret;

	mutex_lock(&s->lock);
	ret = mmaplab_buf_usable(s, write ? "write" : "read");
	if (ret)
		goto out;
	if (pos >= s->buf.size) {
		if (write)
			ret = -ENOSPC;
		else
			mmaplab_succeed(s);	/* EOF */
		goto out;
	}
	chunk = min_t(size_t, chunk, s->buf.size - pos);
	if (write)
		mmaplab_buf_copy_in(&s->buf, pos, bounce, chunk);
	else
		mmaplab_buf_copy_out(&s->buf, pos, bounce, chunk);
	mmaplab_succeed(s);
	ret = chunk;
out:
	mutex_unlock(&s->lock);
	return ret;
}

/*
 * read() and write() copy between the buffer and user memory a page at a
 * time through a bounce page: the copy to or from user memory may fault
 * and take mmap_lock, and ->mmap takes s->lock under mmap_lock, so user
 * memory is only touched with s->lock dropped (see mmaplab.h). Each chunk
 * re-checks the buffer under the lock, so a CONFIGURE or FREE_WHILE_MAPPED
 * between two chunks ends the transfer there instead of using freed memory.
 *
 * The file position is a byte offset into the buffer. read() at or past
 * the end is EOF; write() there is -ENOSPC (the buffer does not grow). A
 * short count is returned when a later chunk fails.
 *
 * For the file-backed methods the buffer is what it is to them: the
 * backing store itself (PAGE_CACHE: read() and write() bypass the page
 * cache, as if the far end were read or changed directly) or the screen
 * (DEFERRED_IO*: write() does not reach the store).
 *
 * write() fetches each chunk from user memory before it takes the lock,
 * read() hands it over after.
 */
static ssize_t mmaplab_rw(struct mmaplab_session *s, char __user *ubuf, size_t count,
			  loff_t *ppos, bool write)
{
	loff_t pos = *ppos;
	size_t done = 0;
	void *bounce;
	ssize_t ret = 0;

	atomic64_inc(write ? &s->stats.write_calls : &s->stats.read_calls);
	if (pos < 0)
		return -EINVAL;

	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (done < count) {
		size_t chunk = min_t(size_t, count - done, PAGE_SIZE - offset_in_page(pos));

		if (write && copy_from_user(bounce, ubuf + done, chunk)) {
			ret = -EFAULT;
			break;
		}
		ret = mmaplab_rw_chunk(s, pos, bounce, chunk, write);
		if (ret <= 0)
			break;
		chunk = ret;
		if (!write && copy_to_user(ubuf + done, bounce, chunk)) {
			ret = -EFAULT;
			break;
		}
		done += chunk;
		pos += chunk;

		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	kfree(bounce);

	if (!done)
		return ret;
	*ppos = pos;
	atomic64_add(done, write ? &s->stats.write_bytes : &s->stats.read_bytes);
	return done;
}

static ssize_t mmaplab_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return mmaplab_rw(file->private_data, ubuf, count, ppos, false);
}

/* mmaplab_rw() only reads @ubuf here; the VFS casts the same way for ->write_iter. */
static ssize_t mmaplab_write(struct file *file, const char __user *ubuf, size_t count,
			     loff_t *ppos)
{
	return mmaplab_rw(file->private_data, (char __user *)ubuf, count, ppos, true);
}

/* SEEK_END is relative to the end of the buffer (0 when there is none). */
static loff_t mmaplab_llseek(struct file *file, loff_t offset, int whence)
{
	struct mmaplab_session *s = file->private_data;
	loff_t size;

	mutex_lock(&s->lock);
	size = mmaplab_session_configured(s) ? s->buf.size : 0;
	mutex_unlock(&s->lock);

	return fixed_size_llseek(file, offset, whence, size);
}

static int mmaplab_open(struct inode *inode, struct file *file)
{
	struct mmaplab_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;

	mutex_init(&s->lock);
	spin_lock_init(&s->error_lock);
	atomic_set(&s->nr_mappings, 0);
	/* replaces the miscdevice pointer the misc core left here */
	file->private_data = s;
	atomic_long_inc(&mmaplab_nr_sessions);
	return 0;
}

/*
 * Every VMA holds a reference to the file, so release() only runs once no
 * VMA maps the buffer any more. After FREE_WHILE_MAPPED only the buffer's
 * description is left to free; the memory is not freed twice. A
 * file-backed session first sends what is still dirty to its store, which
 * the module keeps for reading by id.
 */
static int mmaplab_release(struct inode *inode, struct file *file)
{
	struct mmaplab_session *s = file->private_data;

	mmaplab_file_teardown(s, file);
	mmaplab_buf_free(&s->buf);
	mutex_destroy(&s->lock);
	kfree(s);
	atomic_long_dec(&mmaplab_nr_sessions);
	return 0;
}

/* The uapi structures have the same layout for 32-bit callers. */
static const struct file_operations mmaplab_fops = {
	.owner		= THIS_MODULE,
	.open		= mmaplab_open,
	.release	= mmaplab_release,
	.read		= mmaplab_read,
	.write		= mmaplab_write,
	.llseek		= mmaplab_llseek,
	.unlocked_ioctl	= mmaplab_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= mmaplab_mmap,
	.fsync		= mmaplab_file_fsync,
};

static struct miscdevice mmaplab_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= MMAPLAB_DEVICE_NAME,
	.fops	= &mmaplab_fops,
	/* set from dev_mode at load, before the device is registered */
};

static int __init mmaplab_init(void)
{
	int ret;

	if (mmaplab_max_size < PAGE_SIZE || mmaplab_max_size > MMAPLAB_MAX_SIZE) {
		pr_err("max_size=%lu is outside [%lu, %llu]\n", mmaplab_max_size, PAGE_SIZE,
		       MMAPLAB_MAX_SIZE);
		return -EINVAL;
	}
	if (mmaplab_dev_mode & ~0777) {
		pr_err("dev_mode=%#o has bits outside the permission bits 0777\n",
		       mmaplab_dev_mode);
		return -EINVAL;
	}
	/* the misc core takes mode 0 as "unset": devtmpfs would make it 0600 */
	if (!mmaplab_dev_mode) {
		pr_err("dev_mode=0 would give a 0600 node, not a mode 0 one\n");
		return -EINVAL;
	}
	mmaplab_misc.mode = mmaplab_dev_mode;

	/* before the device exists: a session may need it at its first CONFIGURE */
	ret = mmaplab_file_init();
	if (ret) {
		pr_err("cannot mount the internal filesystem: %d\n", ret);
		return ret;
	}

	/* before the device too; with no PCI device to drive, PCI_BAR is -ENODEV */
	ret = mmaplab_pci_init();
	if (ret) {
		pr_err("cannot register the PCI driver: %d\n", ret);
		goto err_file_exit;
	}

	ret = misc_register(&mmaplab_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", MMAPLAB_DEVICE_NAME, ret);
		goto err_pci_exit;
	}

	/*
	 * A misc device sits on no bus, so nothing configured DMA for it: no
	 * mask, and dev->dma_mask pointing nowhere (the DMA API WARNs on a
	 * zero coherent mask, and refuses dma_set_mask without dma_mask).
	 * dma_coerce_mask_and_coherent() is what platform drivers without a
	 * bus-provided mask use: it points dma_mask at coherent_dma_mask and
	 * sets both. 64 bits: dma-direct then takes any RAM.
	 */
	ret = dma_coerce_mask_and_coherent(mmaplab_misc.this_device, DMA_BIT_MASK(64));
	if (ret) {
		pr_err("cannot set the DMA mask of /dev/%s: %d\n", MMAPLAB_DEVICE_NAME, ret);
		goto err_deregister;
	}

	pr_info("/dev/%s ready, mode %#o, hazards %s, max_size %lu\n", MMAPLAB_DEVICE_NAME,
		mmaplab_dev_mode,
		mmaplab_allow_hazards ? "ALLOWED (allow_hazards=1)" : "refused (allow_hazards=0)",
		mmaplab_max_size);
	return 0;

err_deregister:
	misc_deregister(&mmaplab_misc);
err_pci_exit:
	mmaplab_pci_exit();
err_file_exit:
	mmaplab_file_exit();
	return ret;
}

static void __exit mmaplab_exit(void)
{
	misc_deregister(&mmaplab_misc);
	mmaplab_pci_exit();
	mmaplab_file_exit();
	/* no session can be open here (fops.owner); pages stay only if leaked */
	if (atomic_long_read(&mmaplab_nr_buffers) || atomic_long_read(&mmaplab_nr_pages))
		pr_err("unloading with %ld buffers and %ld pages still counted\n",
		       atomic_long_read(&mmaplab_nr_buffers), atomic_long_read(&mmaplab_nr_pages));
	pr_info("unloaded\n");
}

module_init(mmaplab_init);
module_exit(mmaplab_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test module: ways a driver lets userspace mmap driver-allocated memory");
MODULE_AUTHOR("mmaplab");
