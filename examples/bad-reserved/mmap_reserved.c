// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_reserved: a driver with the reserved-page habit of old drivers and
 * tutorials. It allocates a 16 KiB block, calls SetPageReserved() on every
 * page "so that remap_pfn_range will work", maps it with
 * remap_pfn_range(), and frees the block at unload without
 * ClearPageReserved(). remap_pfn_range() never needed the flag; freeing
 * pages that still carry it is what the kernel complains about.
 *
 * /dev/mmap_reserved, a misc device; one buffer for every opener.
 */
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>

#define MMAP_RESERVED_ORDER	2
#define MMAP_RESERVED_SIZE	(PAGE_SIZE << MMAP_RESERVED_ORDER)

static struct page *mmap_reserved_block;

static int mmap_reserved_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;

	if (vma->vm_pgoff >= MMAP_RESERVED_SIZE >> PAGE_SHIFT || len > MMAP_RESERVED_SIZE - off)
		return -EINVAL;
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(mmap_reserved_block) + vma->vm_pgoff, len,
			       vma->vm_page_prot);
}

static const struct file_operations mmap_reserved_fops = {
	.owner = THIS_MODULE,
	.mmap = mmap_reserved_mmap,
};

static struct miscdevice mmap_reserved_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mmap_reserved",
	.fops = &mmap_reserved_fops,
	.mode = 0600,
};

static int __init mmap_reserved_init(void)
{
	int i, ret;

	mmap_reserved_block = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_COMP,
					  MMAP_RESERVED_ORDER);
	if (!mmap_reserved_block)
		return -ENOMEM;
	/* the habit: not needed by remap_pfn_range */
	for (i = 0; i < 1 << MMAP_RESERVED_ORDER; i++)
		SetPageReserved(mmap_reserved_block + i);
	ret = misc_register(&mmap_reserved_dev);
	if (ret) {
		/* this path does it right, so that only the unload shows the mistake */
		for (i = 0; i < 1 << MMAP_RESERVED_ORDER; i++)
			ClearPageReserved(mmap_reserved_block + i);
		__free_pages(mmap_reserved_block, MMAP_RESERVED_ORDER);
	}
	return ret;
}

static void __exit mmap_reserved_exit(void)
{
	misc_deregister(&mmap_reserved_dev);
	/* the mistake: the pages go back with PG_reserved still set */
	__free_pages(mmap_reserved_block, MMAP_RESERVED_ORDER);
}

module_init(mmap_reserved_init);
module_exit(mmap_reserved_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmaplab example: pages freed while still marked reserved");
