/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mmaplab: userspace interface of /dev/mmaplab.
 *
 * This header is the only definition of the ioctl numbers and structure
 * layouts. The kernel module and the Node-API addon both include it; the
 * TypeScript side reads the numbers back from the addon and a unit test
 * checks its own layout description against them.
 *
 * Session model: every open file is an independent session. CONFIGURE picks
 * an allocator, a mapping method and a size and allocates the buffer; mmap()
 * then maps that buffer with that method. FILL and VERIFY write and check a
 * seeded pattern from the kernel side, so data can be checked both ways.
 */
#ifndef _UAPI_LINUX_MMAPLAB_H
#define _UAPI_LINUX_MMAPLAB_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MMAPLAB_DEVICE_NAME	"mmaplab"

/* Where the buffer's memory comes from. Zero is never valid. */
enum mmaplab_alloc {
	/* vmalloc_user(): virtually contiguous, zeroed, VM_USERMAP set */
	MMAPLAB_ALLOC_VMALLOC_USER = 1,
	/*
	 * One alloc_pages(order >= 1) block *without* __GFP_COMP: the tail
	 * pages have a zero refcount. Hazard: only with allow_hazards=1.
	 */
	MMAPLAB_ALLOC_PAGES_NOCOMP = 2,
	MMAPLAB_ALLOC_COUNT
};

/* How mmap() exposes the buffer. Zero is never valid. */
enum mmaplab_method {
	/* remap_vmalloc_range() at mmap time; needs VM_USERMAP memory */
	MMAPLAB_METHOD_REMAP_VMALLOC_RANGE = 1,
	/* ->fault returns vmf->page after get_page() (the "nopage" technique) */
	MMAPLAB_METHOD_FAULT_PAGE = 2,
	MMAPLAB_METHOD_COUNT
};

/* Largest buffer a session may ask for. */
#define MMAPLAB_MAX_SIZE	(64ULL << 20)

struct mmaplab_config {
	__u32 alloc;		/* enum mmaplab_alloc */
	__u32 method;		/* enum mmaplab_method */
	__u64 size;		/* bytes; a non-zero multiple of the page size */
	__u32 flags;		/* must be zero (reserved for later options) */
	__u32 reserved;		/* must be zero */
};

/*
 * The pattern: 32-bit little-endian words; the word at byte offset 4*i of
 * the buffer holds mmaplab_pattern_word(seed, i). The word index is mixed in
 * so that a page mapped at the wrong offset is caught, not only garbage.
 */
static inline __u32 mmaplab_pattern_word(__u32 seed, __u32 index)
{
	__u32 x = seed ^ (index * 0x9e3779b1U);

	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

struct mmaplab_fill {
	__u32 seed;
	__u32 reserved;		/* must be zero */
};

#define MMAPLAB_NO_MISMATCH	(~0ULL)

struct mmaplab_verify {
	__u32 seed;		/* in */
	__u32 reserved;		/* in: must be zero */
	__u64 mismatch;		/* out: byte offset of the first bad word, or MMAPLAB_NO_MISMATCH */
	__u32 expected;		/* out: the word the pattern wanted there */
	__u32 found;		/* out: the word the buffer held */
};

#define MMAPLAB_IOC_MAGIC	0xb7
#define MMAPLAB_IOC_CONFIGURE	_IOW(MMAPLAB_IOC_MAGIC, 1, struct mmaplab_config)
#define MMAPLAB_IOC_FILL	_IOW(MMAPLAB_IOC_MAGIC, 2, struct mmaplab_fill)
#define MMAPLAB_IOC_VERIFY	_IOWR(MMAPLAB_IOC_MAGIC, 3, struct mmaplab_verify)

#endif /* _UAPI_LINUX_MMAPLAB_H */
