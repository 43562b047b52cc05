// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_good: a driver that lets userspace map a buffer it allocated, the
 * right way. The buffer comes from vmalloc_user() (zeroed, and marked so
 * that remap_vmalloc_range() accepts it), and mmap maps it with
 * remap_vmalloc_range(), which inserts each page with a reference of the
 * mapping's own: the pages stay the driver's until it frees them, and a
 * range past the end is refused.
 *
 * /dev/mmap_good, a misc device; one 16 KiB buffer for every opener.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/vmalloc.h>

#define MMAP_GOOD_SIZE	(4 * PAGE_SIZE)

static void *mmap_good_buf;

static int mmap_good_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* checks the range against the buffer, then maps it page by page */
	return remap_vmalloc_range(vma, mmap_good_buf, vma->vm_pgoff);
}

static const struct file_operations mmap_good_fops = {
	.owner = THIS_MODULE,
	.mmap = mmap_good_mmap,
};

static struct miscdevice mmap_good_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mmap_good",
	.fops = &mmap_good_fops,
	.mode = 0600,
};

static int __init mmap_good_init(void)
{
	int ret;

	mmap_good_buf = vmalloc_user(MMAP_GOOD_SIZE);
	if (!mmap_good_buf)
		return -ENOMEM;
	ret = misc_register(&mmap_good_dev);
	if (ret)
		vfree(mmap_good_buf);
	return ret;
}

static void __exit mmap_good_exit(void)
{
	misc_deregister(&mmap_good_dev);
	vfree(mmap_good_buf);
}

module_init(mmap_good_init);
module_exit(mmap_good_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmaplab example: a buffer mapped with remap_vmalloc_range");
