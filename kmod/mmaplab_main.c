// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: the /dev/mmaplab misc device, its sessions and its ioctls.
 *
 * Every open file is a session (struct mmaplab_session). CONFIGURE picks an
 * allocator, a mapping method and a size and allocates the buffer; mmap()
 * maps it with that method; FILL and VERIFY write and check the uapi pattern
 * through the kernel's own address of the buffer, so data can be checked in
 * both directions. The allocators live in mmaplab_alloc.c, the mapping
 * techniques in mmaplab_map.c.
 *
 * Errors, in the order they are checked:
 *   -EFAULT  the ioctl argument cannot be read or written back
 *   -EINVAL  a reserved field or flag is set, the size is zero, not a page
 *            multiple or above MMAPLAB_MAX_SIZE, the allocator or method is
 *            unknown, the allocator cannot provide that size, the method
 *            cannot map that allocator's memory, or an mmap() range does
 *            not lie inside the buffer
 *   -EPERM   a hazard configuration without allow_hazards=1
 *   -ENODEV  FILL, VERIFY or mmap() before a successful CONFIGURE
 *   -EBUSY   CONFIGURE while the buffer is still mapped
 *   -ENOMEM  the allocation failed
 *   -EINTR   FILL or VERIFY interrupted by a fatal signal
 *   -ENOTTY  an unknown ioctl
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

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
static bool mmaplab_allow_hazards;
module_param_named(allow_hazards, mmaplab_allow_hazards, bool, 0444);
MODULE_PARM_DESC(allow_hazards,
		 "Accept configurations that deliberately break kernel rules (default: N)");

#define MMAPLAB_WORDS_PER_PAGE	(PAGE_SIZE / sizeof(__le32))

/*
 * Both loops below walk the buffer a page at a time through
 * mmaplab_buf_kaddr(), because an allocator only promises contiguity within
 * a page. A 64 MiB buffer takes a while under emulation, hence the
 * rescheduling point and the way out for a killed caller.
 */
static int mmaplab_pattern_fill(const struct mmaplab_buf *buf, u32 seed)
{
	unsigned long pg;
	u32 word = 0;

	for (pg = 0; pg < buf->nr_pages; pg++) {
		__le32 *p = mmaplab_buf_kaddr(buf, pg << PAGE_SHIFT);
		unsigned int i;

		for (i = 0; i < MMAPLAB_WORDS_PER_PAGE; i++, word++)
			p[i] = cpu_to_le32(mmaplab_pattern_word(seed, word));

		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/* A mismatch is a result, not an error: it goes back in @v and 0 is returned. */
static int mmaplab_pattern_check(const struct mmaplab_buf *buf, struct mmaplab_verify *v)
{
	unsigned long pg;
	u32 word = 0;

	v->mismatch = MMAPLAB_NO_MISMATCH;
	v->expected = 0;
	v->found = 0;

	for (pg = 0; pg < buf->nr_pages; pg++) {
		const __le32 *p = mmaplab_buf_kaddr(buf, pg << PAGE_SHIFT);
		unsigned int i;

		for (i = 0; i < MMAPLAB_WORDS_PER_PAGE; i++, word++) {
			u32 want = mmaplab_pattern_word(v->seed, word);
			u32 got = le32_to_cpu(p[i]);

			if (got != want) {
				v->mismatch = (u64)word * sizeof(*p);
				v->expected = want;
				v->found = got;
				return 0;
			}
		}

		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/*
 * Everything that can be decided from the request alone is checked before
 * the session is touched, so an invalid request never costs the caller the
 * buffer it already has.
 */
static int mmaplab_config_check(const struct mmaplab_config *cfg, bool *hazard)
{
	int ret;

	if (cfg->flags || cfg->reserved)
		return -EINVAL;
	if (!cfg->size || !IS_ALIGNED(cfg->size, PAGE_SIZE) || cfg->size > MMAPLAB_MAX_SIZE)
		return -EINVAL;

	ret = mmaplab_alloc_check(cfg->alloc, cfg->size);
	if (ret)
		return ret;
	ret = mmaplab_method_check(cfg->method, cfg->alloc);
	if (ret)
		return ret;

	*hazard = mmaplab_alloc_is_hazard(cfg->alloc) ||
		  mmaplab_method_is_hazard(cfg->method);
	if (*hazard && !mmaplab_allow_hazards)
		return -EPERM;
	return 0;
}

static int mmaplab_ioctl_configure(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_config cfg;
	bool hazard = false;
	int ret;

	if (copy_from_user(&cfg, argp, sizeof(cfg)))
		return -EFAULT;

	ret = mmaplab_config_check(&cfg, &hazard);
	if (ret)
		return ret;

	mutex_lock(&s->lock);

	/* a mapped buffer is in use by page tables we do not control */
	if (atomic_read(&s->nr_mappings)) {
		ret = -EBUSY;
		goto out_unlock;
	}

	/*
	 * Free first, then allocate: holding both buffers at once could fail
	 * a large request in a small guest that would otherwise fit. If the
	 * allocation fails, the session is left unconfigured.
	 */
	mmaplab_buf_free(&s->buf);
	ret = mmaplab_buf_alloc(&s->buf, cfg.alloc, cfg.size);
	if (ret)
		goto out_unlock;
	s->method = cfg.method;

	/* lets a reader of the kernel log tie what follows to this request */
	if (hazard)
		pr_notice("%s[%d]: hazard configuration: alloc %u, method %u, %llu bytes\n",
			  current->comm, task_pid_nr(current), cfg.alloc, cfg.method,
			  (unsigned long long)cfg.size);

out_unlock:
	mutex_unlock(&s->lock);
	return ret;
}

static int mmaplab_ioctl_fill(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_fill fill;
	int ret;

	if (copy_from_user(&fill, argp, sizeof(fill)))
		return -EFAULT;
	if (fill.reserved)
		return -EINVAL;

	mutex_lock(&s->lock);
	if (mmaplab_session_configured(s))
		ret = mmaplab_pattern_fill(&s->buf, fill.seed);
	else
		ret = -ENODEV;
	mutex_unlock(&s->lock);
	return ret;
}

static int mmaplab_ioctl_verify(struct mmaplab_session *s, void __user *argp)
{
	struct mmaplab_verify v;
	int ret;

	if (copy_from_user(&v, argp, sizeof(v)))
		return -EFAULT;
	if (v.reserved)
		return -EINVAL;

	mutex_lock(&s->lock);
	if (mmaplab_session_configured(s))
		ret = mmaplab_pattern_check(&s->buf, &v);
	else
		ret = -ENODEV;
	mutex_unlock(&s->lock);
	if (ret)
		return ret;

	/* outside s->lock: a fault on argp may take mmap_lock (see mmaplab.h) */
	if (copy_to_user(argp, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long mmaplab_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mmaplab_session *s = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case MMAPLAB_IOC_CONFIGURE:
		return mmaplab_ioctl_configure(s, argp);
	case MMAPLAB_IOC_FILL:
		return mmaplab_ioctl_fill(s, argp);
	case MMAPLAB_IOC_VERIFY:
		return mmaplab_ioctl_verify(s, argp);
	default:
		return -ENOTTY;
	}
}

/*
 * Not configured yet is -ENODEV, as for FILL and VERIFY: there is no buffer
 * behind the file to map, which is what mmap(2) documents ENODEV for.
 */
static int mmaplab_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmaplab_session *s = file->private_data;
	int ret;

	mutex_lock(&s->lock);
	if (mmaplab_session_configured(s))
		ret = mmaplab_map_mmap(s, vma);
	else
		ret = -ENODEV;
	mutex_unlock(&s->lock);
	return ret;
}

static int mmaplab_open(struct inode *inode, struct file *file)
{
	struct mmaplab_session *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;

	mutex_init(&s->lock);
	atomic_set(&s->nr_mappings, 0);
	/* replaces the miscdevice pointer the misc core left here */
	file->private_data = s;
	return 0;
}

/*
 * Every VMA holds a reference to the file, so release() only runs once no
 * VMA maps the buffer any more. nr_mappings is deliberately not asserted to
 * be zero here: it can be stale (see mmaplab_map.c) and a WARN would taint
 * the kernel in the middle of an experiment.
 */
static int mmaplab_release(struct inode *inode, struct file *file)
{
	struct mmaplab_session *s = file->private_data;

	mmaplab_buf_free(&s->buf);
	mutex_destroy(&s->lock);
	kfree(s);
	return 0;
}

/* The uapi structures have the same layout for 32-bit callers. */
static const struct file_operations mmaplab_fops = {
	.owner		= THIS_MODULE,
	.open		= mmaplab_open,
	.release	= mmaplab_release,
	.unlocked_ioctl	= mmaplab_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= mmaplab_mmap,
};

static struct miscdevice mmaplab_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= MMAPLAB_DEVICE_NAME,
	.fops	= &mmaplab_fops,
	.mode	= 0600,
};

static int __init mmaplab_init(void)
{
	int ret;

	ret = misc_register(&mmaplab_misc);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", MMAPLAB_DEVICE_NAME, ret);
		return ret;
	}

	pr_info("/dev/%s ready, hazards %s\n", MMAPLAB_DEVICE_NAME,
		mmaplab_allow_hazards ? "ALLOWED (allow_hazards=1)" : "refused (allow_hazards=0)");
	return 0;
}

static void __exit mmaplab_exit(void)
{
	misc_deregister(&mmaplab_misc);
	pr_info("unloaded\n");
}

module_init(mmaplab_init);
module_exit(mmaplab_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test module: ways a driver lets userspace mmap driver-allocated memory");
MODULE_AUTHOR("mmaplab");
