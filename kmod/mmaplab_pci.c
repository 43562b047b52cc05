// SPDX-License-Identifier: GPL-2.0
/*
 * mmaplab: the PCI devices the module drives.
 *
 * Two of QEMU's devices: ivshmem-plain, whose BAR is the PCI_BAR
 * allocator's memory, and edu, which does bus-master DMA into and out of
 * DMA_DEVICE buffers (DEVICE_DMA). Each is used from its first instance;
 * without one, what needs it is -ENODEV.
 *
 * ivshmem-plain (MMAPLAB_ALLOC_PCI_BAR)
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

#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>

#include "mmaplab.h"

#define MMAPLAB_IVSHMEM_VENDOR	0x1af4
#define MMAPLAB_IVSHMEM_DEVICE	0x1110
#define MMAPLAB_IVSHMEM_BAR	2

/*
 * The bound device. @lock orders probe, remove and the claims of the
 * sessions; @claimed is true while a session's buffer is the BAR.
 */
static struct {
	struct mutex lock;		/* orders probe, remove and the claims */
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
	if (!mmaplab_bar.pdev) {
		ret = -ENODEV;
	} else if (size > mmaplab_bar.len) {
		ret = -EINVAL;
	} else if (mmaplab_bar.claimed) {
		ret = -EBUSY;
	} else {
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

static int mmaplab_ivshmem_probe(struct pci_dev *pdev)
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
static void mmaplab_ivshmem_remove(struct pci_dev *pdev)
{
	mutex_lock(&mmaplab_bar.lock);
	WARN_ON_ONCE(mmaplab_bar.claimed);
	mmaplab_bar.pdev = NULL;
	mmaplab_bar.len = 0;
	mutex_unlock(&mmaplab_bar.lock);

	pci_release_region(pdev, MMAPLAB_IVSHMEM_BAR);
	pci_disable_device(pdev);
}

/*
 * edu (MMAPLAB_ALLOC_DMA_DEVICE, DEVICE_DMA)
 *
 * QEMU's teaching device (hw/misc/edu.c): BAR 0 holds registers, among
 * them a DMA engine that copies between guest memory and a 4 KiB buffer of
 * the device's own, reachable only by DMA (device address 0x40000). A
 * transfer starts when the command is written and completes from a timer
 * about 100 ms later. The engine cuts every address to its dma_mask
 * property, silently: 28 bits unless the VM sets more (mmaplab's VMs set
 * 32). The module cannot ask, so at probe it measures (below) and sets
 * the DMA mask to 32 bits only if the engine reaches past 28.
 * QEMU before 9.1 kills the whole VM (hw_error) on a transfer that touches
 * the end of its buffer, a full 4096 bytes included, so a page goes in two
 * halves, each through the start of the buffer, and every address and
 * count is checked against that rule first.
 */
#define MMAPLAB_EDU_VENDOR	0x1234
#define MMAPLAB_EDU_DEVICE	0x11e8
#define MMAPLAB_EDU_REG_ID	0x00
#define MMAPLAB_EDU_ID_LOW	0xed
#define MMAPLAB_EDU_REG_SRC	0x80
#define MMAPLAB_EDU_REG_DST	0x88
#define MMAPLAB_EDU_REG_COUNT	0x90
#define MMAPLAB_EDU_REG_CMD	0x98
#define MMAPLAB_EDU_CMD_RUN	0x1
#define MMAPLAB_EDU_CMD_TO_RAM	0x2
#define MMAPLAB_EDU_BUF		0x40000
#define MMAPLAB_EDU_BUF_SIZE	4096
#define MMAPLAB_EDU_NARROW_BITS	28
#define MMAPLAB_EDU_WIDE_BITS	32
#define MMAPLAB_EDU_CHUNK	(PAGE_SIZE / 2)
#define MMAPLAB_EDU_TIMEOUT_MS	2000

/*
 * @lock orders probe, remove and the transfers (one at a time). @bounce is
 * a coherent page of the module's, the far end of every transfer that is
 * not the session's buffer (allocated at 28 bits, so always reachable).
 * @bits: the DMA mask the device was found to honour. @broken: a transfer
 * did not finish in time, so the device may still write @bounce later; it
 * is never used or freed again.
 */
static struct {
	struct mutex lock;		/* orders probe, remove and the transfers */
	struct pci_dev *pdev;
	void __iomem *regs;
	void *bounce;
	dma_addr_t bounce_handle;
	unsigned int bits;
	bool broken;
} mmaplab_edu = {
	.lock = __MUTEX_INITIALIZER(mmaplab_edu.lock),
};

/*
 * The device DMA_DEVICE buffers are allocated for, or NULL without one.
 * Not under the lock, which a transfer holds for seconds: @pdev is set at
 * probe and cleared at remove, which only module unload (no session) does.
 */
struct device *mmaplab_edu_device(void)
{
	struct pci_dev *pdev = READ_ONCE(mmaplab_edu.pdev);

	return pdev ? &pdev->dev : NULL;
}

/*
 * One transfer of @count bytes between guest memory at @ram and the
 * device's buffer at offset @at, the direction given by @to_ram; waits for
 * the engine. Called with the lock held.
 */
static int mmaplab_edu_transfer(dma_addr_t ram, unsigned int at, unsigned int count, bool to_ram)
{
	void __iomem *regs = mmaplab_edu.regs;
	unsigned long deadline = jiffies + msecs_to_jiffies(MMAPLAB_EDU_TIMEOUT_MS);
	u32 dev_addr = MMAPLAB_EDU_BUF + at;

	/* what QEMU would abort on, and what its engine cannot reach */
	if (WARN_ON_ONCE(!count || at + count >= MMAPLAB_EDU_BUF_SIZE ||
			 ram + count - 1 > DMA_BIT_MASK(mmaplab_edu.bits)))
		return -EINVAL;

	writel(to_ram ? dev_addr : (u32)ram, regs + MMAPLAB_EDU_REG_SRC);
	writel(to_ram ? (u32)ram : dev_addr, regs + MMAPLAB_EDU_REG_DST);
	writel(count, regs + MMAPLAB_EDU_REG_COUNT);
	writel(MMAPLAB_EDU_CMD_RUN | (to_ram ? MMAPLAB_EDU_CMD_TO_RAM : 0),
	       regs + MMAPLAB_EDU_REG_CMD);
	while (readl(regs + MMAPLAB_EDU_REG_CMD) & MMAPLAB_EDU_CMD_RUN) {
		if (time_after(jiffies, deadline)) {
			mmaplab_edu.broken = true;
			return -ETIMEDOUT;
		}
		usleep_range(5000, 10000);
	}
	return 0;
}

/* The device's address of page @index of @t. */
static dma_addr_t mmaplab_edu_target_page(const struct mmaplab_dma_target *t, unsigned long index)
{
	return t->pages ? t->pages[index] : t->base + ((dma_addr_t)index << PAGE_SHIFT);
}

/*
 * Page @index of @t through the device, in @to_ram's direction: each half
 * goes into the start of the device's buffer and out again (the start,
 * since QEMU before 9.1 aborts on a transfer that ends at the buffer's end).
 */
static int mmaplab_edu_page(const struct mmaplab_dma_target *t, unsigned long index, bool to_ram,
			    struct mmaplab_device_dma *req)
{
	dma_addr_t page = mmaplab_edu_target_page(t, index);
	dma_addr_t from = to_ram ? mmaplab_edu.bounce_handle : page;
	dma_addr_t to = to_ram ? page : mmaplab_edu.bounce_handle;
	unsigned int half;
	int ret;

	for (half = 0; half < PAGE_SIZE; half += MMAPLAB_EDU_CHUNK) {
		ret = mmaplab_edu_transfer(from + half, 0, MMAPLAB_EDU_CHUNK, false);
		if (!ret)
			ret = mmaplab_edu_transfer(to + half, 0, MMAPLAB_EDU_CHUNK, true);
		if (ret)
			return ret;
		req->transfers += 2;
	}
	return 0;
}

/*
 * DEVICE_DMA of the memory @t names, page by page: the device reads it and
 * the module checks what arrived in the bounce page against the pattern of
 * req->seed, or the device writes that pattern into it. A mismatch is a
 * result, reported in @req.
 */
int mmaplab_edu_dma(const struct mmaplab_dma_target *t, struct mmaplab_device_dma *req)
{
	bool to_ram = req->direction == MMAPLAB_DMA_FROM_DEVICE;
	struct mmaplab_verify v;
	const struct mmaplab_pattern pat = { .seed = req->seed, .v = to_ram ? NULL : &v };
	unsigned long pg;
	int ret = 0;

	req->mismatch = MMAPLAB_NO_MISMATCH;
	req->expected = 0;
	req->found = 0;
	req->transfers = 0;

	if (mutex_lock_killable(&mmaplab_edu.lock))
		return -EINTR;
	if (!mmaplab_edu.pdev || mmaplab_edu.broken) {
		ret = -ENODEV;
		goto out;
	}
	for (pg = 0; pg < t->nr_pages; pg++) {
		if (to_ram)
			mmaplab_pattern_page(mmaplab_edu.bounce, pg, &pat);
		ret = mmaplab_edu_page(t, pg, to_ram, req);
		if (ret)
			break;
		if (!to_ram && mmaplab_pattern_page(mmaplab_edu.bounce, pg, &pat)) {
			req->mismatch = v.mismatch;
			req->expected = v.expected;
			req->found = v.found;
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
out:
	mutex_unlock(&mmaplab_edu.lock);
	return ret;
}

/*
 * Does the engine reach past 28 bits? The bounce page is below 256 MiB;
 * the device reads the same address with bit 28 set, into the bounce
 * page's second half. An engine that cuts the address read the first half,
 * which holds a pattern; one that reaches 32 bits read other RAM, so the
 * halves differ. Only without an IOMMU (the DMA address is then the
 * physical one) and where that address is RAM: a device's read of RAM
 * changes nothing, a read of I/O memory might.
 */
static bool mmaplab_edu_reaches_wide(struct pci_dev *pdev)
{
	dma_addr_t above = mmaplab_edu.bounce_handle + BIT_ULL(MMAPLAB_EDU_NARROW_BITS);
	void *second = mmaplab_edu.bounce + MMAPLAB_EDU_CHUNK;
	const struct mmaplab_pattern marker = { .seed = 0x7eac4 };
	bool wide;

	if (device_iommu_mapped(&pdev->dev) || !page_is_ram(PHYS_PFN(above)))
		return false;
	mmaplab_pattern_page(mmaplab_edu.bounce, 0, &marker);
	memset(second, 0, MMAPLAB_EDU_CHUNK);
	mmaplab_edu.bits = MMAPLAB_EDU_WIDE_BITS;
	wide = !mmaplab_edu_transfer(above, 0, MMAPLAB_EDU_CHUNK, false) &&
	       !mmaplab_edu_transfer(mmaplab_edu.bounce_handle + MMAPLAB_EDU_CHUNK, 0,
				     MMAPLAB_EDU_CHUNK, true) &&
	       memcmp(mmaplab_edu.bounce, second, MMAPLAB_EDU_CHUNK);
	mmaplab_edu.bits = MMAPLAB_EDU_NARROW_BITS;
	return wide;
}

/*
 * The DMA mask the engine honours (see above), set on the device. Called
 * at probe with the lock held and the mask at 28 bits, which the bounce
 * page satisfies either way.
 */
static void mmaplab_edu_measure_reach(struct pci_dev *pdev)
{
	if (!mmaplab_edu_reaches_wide(pdev))
		return;
	if (dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(MMAPLAB_EDU_WIDE_BITS)))
		return;
	mmaplab_edu.bits = MMAPLAB_EDU_WIDE_BITS;
}

static int mmaplab_edu_probe(struct pci_dev *pdev)
{
	void __iomem *regs;
	u32 id;
	int ret;

	mutex_lock(&mmaplab_edu.lock);
	ret = mmaplab_edu.pdev ? -EBUSY : 0;
	mutex_unlock(&mmaplab_edu.lock);
	if (ret) {
		dev_info(&pdev->dev, "not used: another edu is the device already\n");
		return ret;
	}

	ret = pci_enable_device_mem(pdev);
	if (ret)
		return ret;
	ret = pci_request_region(pdev, 0, KBUILD_MODNAME);
	if (ret)
		goto err_disable;
	regs = pci_iomap(pdev, 0, 0);
	if (!regs) {
		ret = -ENOMEM;
		goto err_release;
	}
	id = readl(regs + MMAPLAB_EDU_REG_ID);
	if ((id & 0xff) != MMAPLAB_EDU_ID_LOW) {
		dev_err(&pdev->dev, "identification register reads %#x, not an edu device\n", id);
		ret = -ENODEV;
		goto err_unmap;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(MMAPLAB_EDU_NARROW_BITS));
	if (ret)
		goto err_unmap;
	pci_set_master(pdev);

	mutex_lock(&mmaplab_edu.lock);
	mmaplab_edu.bounce = dma_alloc_coherent(&pdev->dev, PAGE_SIZE, &mmaplab_edu.bounce_handle,
						GFP_KERNEL);
	if (!mmaplab_edu.bounce) {
		mutex_unlock(&mmaplab_edu.lock);
		ret = -ENOMEM;
		goto err_master;
	}
	mmaplab_edu.regs = regs;
	mmaplab_edu.bits = MMAPLAB_EDU_NARROW_BITS;
	mmaplab_edu.broken = false;
	mmaplab_edu_measure_reach(pdev);
	WRITE_ONCE(mmaplab_edu.pdev, pdev);
	mutex_unlock(&mmaplab_edu.lock);

	dev_info(&pdev->dev, "edu %u.%u, DMA to %u bits (measured)%s: the dma_device allocator\n",
		 id >> 24, (id >> 16) & 0xff, mmaplab_edu.bits,
		 mmaplab_edu.broken ? ", then stopped answering" : "");
	return 0;

err_master:
	pci_clear_master(pdev);
err_unmap:
	pci_iounmap(pdev, regs);
err_release:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
	return ret;
}

/* At module unload: no session, so no buffer and no transfer. */
static void mmaplab_edu_remove(struct pci_dev *pdev)
{
	mutex_lock(&mmaplab_edu.lock);
	/* a transfer that never finished may still land in the bounce page */
	if (!mmaplab_edu.broken)
		dma_free_coherent(&pdev->dev, PAGE_SIZE, mmaplab_edu.bounce,
				  mmaplab_edu.bounce_handle);
	mmaplab_edu.bounce = NULL;
	pci_iounmap(pdev, mmaplab_edu.regs);
	mmaplab_edu.regs = NULL;
	WRITE_ONCE(mmaplab_edu.pdev, NULL);
	mutex_unlock(&mmaplab_edu.lock);

	pci_clear_master(pdev);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
}

enum {
	MMAPLAB_PCI_IVSHMEM,
	MMAPLAB_PCI_EDU,
};

static int mmaplab_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	return id->driver_data == MMAPLAB_PCI_EDU ? mmaplab_edu_probe(pdev) :
						    mmaplab_ivshmem_probe(pdev);
}

static void mmaplab_pci_remove(struct pci_dev *pdev)
{
	if (pdev->vendor == MMAPLAB_EDU_VENDOR)
		mmaplab_edu_remove(pdev);
	else
		mmaplab_ivshmem_remove(pdev);
}

static const struct pci_device_id mmaplab_pci_ids[] = {
	{ PCI_DEVICE(MMAPLAB_IVSHMEM_VENDOR, MMAPLAB_IVSHMEM_DEVICE),
	  .driver_data = MMAPLAB_PCI_IVSHMEM },
	{ PCI_DEVICE(MMAPLAB_EDU_VENDOR, MMAPLAB_EDU_DEVICE), .driver_data = MMAPLAB_PCI_EDU },
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
