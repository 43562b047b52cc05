// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_ldd: a driver in the style of LDD3's examples. It registers a char
 * device region with register_chrdev() and makes no node (its load script
 * would run mknod with the major from /proc/devices), and its buffer does
 * not exist until userspace asks for it: MMAP_LDD_ALLOC (the size, a u64)
 * allocates it with vmalloc_user(), and mmap is -ENODEV before that. The
 * mapping itself is the right way, remap_vmalloc_range(), and read(2) and
 * write(2) copy from and to the same buffer.
 */
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#define MMAP_LDD_ALLOC	_IOW('m', 1, __u64)
#define MMAP_LDD_MAX	(1 << 20)

static int mmap_ldd_major;
static DEFINE_MUTEX(mmap_ldd_lock);
static void *mmap_ldd_buf;
static size_t mmap_ldd_size;

/* Allocate the buffer once; asking again for the same size is a no-op. */
static long mmap_ldd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	u64 size;
	long ret = 0;

	if (cmd != MMAP_LDD_ALLOC)
		return -ENOTTY;
	if (copy_from_user(&size, (void __user *)arg, sizeof(size)))
		return -EFAULT;
	if (!size || size > MMAP_LDD_MAX || !PAGE_ALIGNED(size))
		return -EINVAL;
	mutex_lock(&mmap_ldd_lock);
	if (mmap_ldd_buf) {
		ret = size == mmap_ldd_size ? 0 : -EBUSY;
	} else {
		mmap_ldd_buf = vmalloc_user(size);
		if (mmap_ldd_buf)
			mmap_ldd_size = size;
		else
			ret = -ENOMEM;
	}
	mutex_unlock(&mmap_ldd_lock);
	return ret;
}

/*
 * The buffer, once it exists: it stays until the module goes. read(2) and
 * write(2) copy without the lock held, since a copy can fault and a fault
 * takes mmap_lock, which mmap holds when it takes this lock.
 */
static void *mmap_ldd_buffer(size_t *size)
{
	void *buf;

	mutex_lock(&mmap_ldd_lock);
	buf = mmap_ldd_buf;
	*size = mmap_ldd_size;
	mutex_unlock(&mmap_ldd_lock);
	return buf;
}

/* read(2) and write(2) go through the same buffer the mapping shows, at the file position. */
static ssize_t mmap_ldd_read(struct file *file, char __user *to, size_t count, loff_t *ppos)
{
	size_t size;
	void *buf = mmap_ldd_buffer(&size);

	if (!buf)
		return -ENODEV;
	return simple_read_from_buffer(to, count, ppos, buf, size);
}

static ssize_t mmap_ldd_write(struct file *file, const char __user *from, size_t count, loff_t *ppos)
{
	size_t size;
	void *buf = mmap_ldd_buffer(&size);

	if (!buf)
		return -ENODEV;
	return simple_write_to_buffer(buf, size, ppos, from, count);
}

static int mmap_ldd_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = -ENODEV;

	mutex_lock(&mmap_ldd_lock);
	if (mmap_ldd_buf)
		ret = remap_vmalloc_range(vma, mmap_ldd_buf, vma->vm_pgoff);
	mutex_unlock(&mmap_ldd_lock);
	return ret;
}

static const struct file_operations mmap_ldd_fops = {
	.owner = THIS_MODULE,
	.read = mmap_ldd_read,
	.write = mmap_ldd_write,
	.llseek = default_llseek,
	.unlocked_ioctl = mmap_ldd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = mmap_ldd_mmap,
};

static int __init mmap_ldd_init(void)
{
	mmap_ldd_major = register_chrdev(0, "mmap_ldd", &mmap_ldd_fops);
	return mmap_ldd_major < 0 ? mmap_ldd_major : 0;
}

static void __exit mmap_ldd_exit(void)
{
	unregister_chrdev(mmap_ldd_major, "mmap_ldd");
	vfree(mmap_ldd_buf);
}

module_init(mmap_ldd_init);
module_exit(mmap_ldd_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmaplab example: a char region without a node, a buffer allocated by ioctl");
