// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: a real device's memory as a buffer (MMAPLAB_ALLOC_PCI_BAR).
 *
 * The module drives QEMU's ivshmem-plain device (PCI 1af4:1110): BAR 0 is
 * a page of registers nothing here needs, BAR 2 is memory that QEMU takes
 * from a host memory backend. With a backend file shared with the host
 * (share=on), what the guest writes through the BAR lands in that file,
 * so the host (or anything reading the file) sees what "the device" saw,
 * independently of the guest's own view of the memory.
 *
 * One device is used, the first one bound; its BAR 2 is requested for the
 * module (pci_request_region, as any driver does) and handed to one
 * session at a time: PCI_BAR's allocation claims it and its free gives it
 * back. Bind and unbind through sysfs are off (suppress_bind_attrs), so
 * the device cannot go away under a mapping; the module itself cannot be
 * unloaded while a session is open.
 *
 * Without such a device (a lab machine, a VM without it) the driver stays
 * registered with nothing bound, and PCI_BAR's CONFIGURE is -ENODEV.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>

#include "mmaplab.h"

#define MMAPLAB_IVSHMEM_VENDOR	0x1af4
#define MMAPLAB_IVSHMEM_DEVICE	0x1110
#define MMAPLAB_IVSHMEM_BAR	2

/*
 * The bound device. @lock orders probe, remove and the claims of the
 * sessions; @claimed is true while a session's buffer is the BAR.
 */
static struct {
	struct mutex lock;
	struct pci_dev *pdev;
	phys_addr_t start;
	resource_size_t len;
	bool claimed;
} mmaplab_bar = {
	.lock = __MUTEX_INITIALIZER(mmaplab_bar.lock),
};

/*
 * Claim the BAR for a buffer of @size bytes from its start: 0 with its
 * physical address in @start, -ENODEV with no device, -EINVAL when @size
 * exceeds the BAR, -EBUSY while another session holds it.
 */
int mmaplab_pci_bar_claim(size_t size, phys_addr_t *start)
{
	int ret = 0;

	mutex_lock(&mmaplab_bar.lock);
	if (!mmaplab_bar.pdev)
		ret = -ENODEV;
	else if (size > mmaplab_bar.len)
		ret = -EINVAL;
	else if (mmaplab_bar.claimed)
		ret = -EBUSY;
	else {
		mmaplab_bar.claimed = true;
		*start = mmaplab_bar.start;
	}
	mutex_unlock(&mmaplab_bar.lock);
	return ret;
}

void mmaplab_pci_bar_unclaim(void)
{
	mutex_lock(&mmaplab_bar.lock);
	WARN_ON_ONCE(!mmaplab_bar.claimed);
	mmaplab_bar.claimed = false;
	mutex_unlock(&mmaplab_bar.lock);
}

static int mmaplab_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret;

	if (!(pci_resource_flags(pdev, MMAPLAB_IVSHMEM_BAR) & IORESOURCE_MEM) ||
	    !pci_resource_len(pdev, MMAPLAB_IVSHMEM_BAR)) {
		dev_err(&pdev->dev, "BAR %d is not a memory BAR\n", MMAPLAB_IVSHMEM_BAR);
		return -ENODEV;
	}

	mutex_lock(&mmaplab_bar.lock);
	if (mmaplab_bar.pdev) {
		mutex_unlock(&mmaplab_bar.lock);
		dev_info(&pdev->dev, "not used: %s is the device already\n",
			 pci_name(mmaplab_bar.pdev));
		return -EBUSY;
	}
	mutex_unlock(&mmaplab_bar.lock);

	ret = pci_enable_device_mem(pdev);
	if (ret)
		return ret;
	ret = pci_request_region(pdev, MMAPLAB_IVSHMEM_BAR, KBUILD_MODNAME);
	if (ret)
		goto err_disable;

	mutex_lock(&mmaplab_bar.lock);
	mmaplab_bar.pdev = pdev;
	mmaplab_bar.start = pci_resource_start(pdev, MMAPLAB_IVSHMEM_BAR);
	mmaplab_bar.len = pci_resource_len(pdev, MMAPLAB_IVSHMEM_BAR);
	mmaplab_bar.claimed = false;
	mutex_unlock(&mmaplab_bar.lock);

	dev_info(&pdev->dev, "BAR %d at %pa, %llu bytes: the pci_bar allocator\n",
		 MMAPLAB_IVSHMEM_BAR, &mmaplab_bar.start, (unsigned long long)mmaplab_bar.len);
	return 0;

err_disable:
	pci_disable_device(pdev);
	return ret;
}

/*
 * Only at module unload (no sysfs unbind, no hotplug in the VMs): no
 * session is open then, so nothing can hold the BAR.
 */
static void mmaplab_pci_remove(struct pci_dev *pdev)
{
	mutex_lock(&mmaplab_bar.lock);
	WARN_ON_ONCE(mmaplab_bar.claimed);
	mmaplab_bar.pdev = NULL;
	mmaplab_bar.len = 0;
	mutex_unlock(&mmaplab_bar.lock);

	pci_release_region(pdev, MMAPLAB_IVSHMEM_BAR);
	pci_disable_device(pdev);
}

static const struct pci_device_id mmaplab_pci_ids[] = {
	{ PCI_DEVICE(MMAPLAB_IVSHMEM_VENDOR, MMAPLAB_IVSHMEM_DEVICE) },
	{ }
};
/*
 * No MODULE_DEVICE_TABLE: udev must not load this test module because a
 * VM happens to have an ivshmem device; it is loaded on purpose.
 */

static struct pci_driver mmaplab_pci_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= mmaplab_pci_ids,
	.probe		= mmaplab_pci_probe,
	.remove		= mmaplab_pci_remove,
	.driver		= {
		.suppress_bind_attrs = true,
	},
};

int mmaplab_pci_init(void)
{
	return pci_register_driver(&mmaplab_pci_driver);
}

void mmaplab_pci_exit(void)
{
	pci_unregister_driver(&mmaplab_pci_driver);
}
