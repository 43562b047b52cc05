// SPDX-License-Identifier: GPL-2.0-only
//
// constants(): everything the TypeScript side must agree with, read from the
// uapi header (ioctl numbers, struct sizes and field offsets, enums, flag
// bits) and from
// the C library (mmap/open/msync flags, page size). test/unit/device.test.ts
// checks lib/device/layout.ts against this object, so the two cannot drift.
// And the module's rules for CONFIGURE (kmod/mmaplab_support.h, through
// support.c), from which lib/device/support.ts derives its tables.
#include "addon.h"
#include "support.h"

#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <linux/mmaplab.h>

#include <cstddef>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

// Values from the kernel's uapi for what an older C library may not name:
// the kernel answers EINVAL where it does not know them, which is a result.
#ifdef MADV_COLLAPSE
#define MMAPLAB_MADV_COLLAPSE MADV_COLLAPSE
#else
#define MMAPLAB_MADV_COLLAPSE 25
#endif
#ifdef MREMAP_DONTUNMAP
#define MMAPLAB_MREMAP_DONTUNMAP MREMAP_DONTUNMAP
#else
#define MMAPLAB_MREMAP_DONTUNMAP 4
#endif
#ifdef MLOCK_ONFAULT
#define MMAPLAB_MLOCK_ONFAULT MLOCK_ONFAULT
#else
#define MMAPLAB_MLOCK_ONFAULT 1
#endif

namespace mmaplab {

namespace {

// Each name of a NULL-ended list as a key of a new object.
Napi::Object Names(Napi::Env env, const struct mmaplab_support_name *list)
{
	Napi::Object o = Napi::Object::New(env);
	for (const struct mmaplab_support_name *n = list; n->name; n++)
		o.Set(n->name, Napi::Number::New(env, n->value));
	return o;
}

// kmod/mmaplab_support.h: the support table as rows indexed by method
// number, each indexed by allocator number, the allocators' marks by
// allocator number, and the names of the values and bits in them.
Napi::Object Support(Napi::Env env)
{
	Napi::Object support = Napi::Object::New(env);
	Napi::Array pairs = Napi::Array::New(env, MMAPLAB_METHOD_COUNT);
	Napi::Array marks = Napi::Array::New(env, MMAPLAB_ALLOC_COUNT);

	for (uint32_t m = 0; m < MMAPLAB_METHOD_COUNT; m++) {
		Napi::Array row = Napi::Array::New(env, MMAPLAB_ALLOC_COUNT);
		for (uint32_t a = 0; a < MMAPLAB_ALLOC_COUNT; a++)
			row.Set(a, Napi::Number::New(env, mmaplab_support_of(m, a)));
		pairs.Set(m, row);
	}
	for (uint32_t a = 0; a < MMAPLAB_ALLOC_COUNT; a++)
		marks.Set(a, Napi::Number::New(env, mmaplab_alloc_marks_of(a)));
	support.Set("values", Names(env, mmaplab_support_values));
	support.Set("pairs", pairs);
	support.Set("marks", Names(env, mmaplab_alloc_mark_bits));
	support.Set("allocMarks", marks);
	return support;
}

} // namespace

Napi::Value Constants(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object c = Napi::Object::New(env);
	Napi::Object ioctl = Napi::Object::New(env);
	Napi::Object ioc = Napi::Object::New(env);
	Napi::Object sizes = Napi::Object::New(env);
	Napi::Object offsets = Napi::Object::New(env);
	Napi::Object field_sizes = Napi::Object::New(env);
	Napi::Object enums = Napi::Object::New(env);
	Napi::Object flags = Napi::Object::New(env);
	Napi::Object sys = Napi::Object::New(env);
	auto num = [&](Napi::Object o, const char *key, double v) {
		o.Set(key, Napi::Number::New(env, v));
	};

	num(ioctl, "CONFIGURE", MMAPLAB_IOC_CONFIGURE);
	num(ioctl, "FILL", MMAPLAB_IOC_FILL);
	num(ioctl, "VERIFY", MMAPLAB_IOC_VERIFY);
	num(ioctl, "STATS", MMAPLAB_IOC_STATS);
	num(ioctl, "INFO", MMAPLAB_IOC_INFO);
	num(ioctl, "LAST_ERROR", MMAPLAB_IOC_LAST_ERROR);
	num(ioctl, "FREE_WHILE_MAPPED", MMAPLAB_IOC_FREE_WHILE_MAPPED);
	num(ioctl, "STORE", MMAPLAB_IOC_STORE);
	num(ioctl, "FLUSH", MMAPLAB_IOC_FLUSH);
	num(ioctl, "COUNTERS", MMAPLAB_IOC_COUNTERS);
	num(ioctl, "DEVICE_DMA", MMAPLAB_IOC_DEVICE_DMA);
	num(ioctl, "SHMEM_PIN", MMAPLAB_IOC_SHMEM_PIN);
	num(ioctl, "DMABUF", MMAPLAB_IOC_DMABUF);

	num(ioc, "NRBITS", _IOC_NRBITS);
	num(ioc, "TYPEBITS", _IOC_TYPEBITS);
	num(ioc, "SIZEBITS", _IOC_SIZEBITS);
	num(ioc, "DIRBITS", _IOC_DIRBITS);
	num(ioc, "NRSHIFT", _IOC_NRSHIFT);
	num(ioc, "TYPESHIFT", _IOC_TYPESHIFT);
	num(ioc, "SIZESHIFT", _IOC_SIZESHIFT);
	num(ioc, "DIRSHIFT", _IOC_DIRSHIFT);
	num(ioc, "NONE", _IOC_NONE);
	num(ioc, "WRITE", _IOC_WRITE);
	num(ioc, "READ", _IOC_READ);

#define STRUCT(s) num(sizes, #s, sizeof(struct s))
#define FIELD(s, f)                                                      \
	do {                                                             \
		num(offsets, #s "." #f, offsetof(struct s, f));          \
		num(field_sizes, #s "." #f, sizeof(((struct s *)0)->f)); \
	} while (0)
	STRUCT(mmaplab_config);
	FIELD(mmaplab_config, alloc);
	FIELD(mmaplab_config, method);
	FIELD(mmaplab_config, size);
	FIELD(mmaplab_config, flags);
	FIELD(mmaplab_config, cache);
	FIELD(mmaplab_config, delay_ms);
	FIELD(mmaplab_config, period_ms);
	STRUCT(mmaplab_fill);
	FIELD(mmaplab_fill, seed);
	FIELD(mmaplab_fill, reserved);
	STRUCT(mmaplab_verify);
	FIELD(mmaplab_verify, seed);
	FIELD(mmaplab_verify, reserved);
	FIELD(mmaplab_verify, mismatch);
	FIELD(mmaplab_verify, expected);
	FIELD(mmaplab_verify, found);
	STRUCT(mmaplab_last_error);
	FIELD(mmaplab_last_error, error);
	FIELD(mmaplab_last_error, reason);
	FIELD(mmaplab_last_error, text);
	STRUCT(mmaplab_stats);
	FIELD(mmaplab_stats, faults);
	FIELD(mmaplab_stats, map_pages_calls);
	FIELD(mmaplab_stats, pages_mapped);
	FIELD(mmaplab_stats, vma_opens);
	FIELD(mmaplab_stats, vma_closes);
	FIELD(mmaplab_stats, read_calls);
	FIELD(mmaplab_stats, read_bytes);
	FIELD(mmaplab_stats, write_calls);
	FIELD(mmaplab_stats, write_bytes);
	FIELD(mmaplab_stats, read_folio_calls);
	FIELD(mmaplab_stats, writeback_calls);
	FIELD(mmaplab_stats, pages_written);
	FIELD(mmaplab_stats, batches);
	FIELD(mmaplab_stats, mkwrite_faults);
	FIELD(mmaplab_stats, periodic_runs);
	FIELD(mmaplab_stats, flush_latency_last_ns);
	FIELD(mmaplab_stats, flush_latency_max_ns);
	STRUCT(mmaplab_page_info);
	FIELD(mmaplab_page_info, pfn);
	FIELD(mmaplab_page_info, flags);
	FIELD(mmaplab_page_info, refcount);
	FIELD(mmaplab_page_info, mapcount);
	FIELD(mmaplab_page_info, order);
	STRUCT(mmaplab_info);
	FIELD(mmaplab_info, alloc);
	FIELD(mmaplab_info, method);
	FIELD(mmaplab_info, size);
	FIELD(mmaplab_info, nr_pages);
	FIELD(mmaplab_info, flags);
	FIELD(mmaplab_info, cache);
	FIELD(mmaplab_info, config_flags);
	FIELD(mmaplab_info, mappings);
	FIELD(mmaplab_info, pages_ptr);
	FIELD(mmaplab_info, pages_max);
	FIELD(mmaplab_info, pages_filled);
	STRUCT(mmaplab_store_page);
	FIELD(mmaplab_store_page, arrived_ns);
	FIELD(mmaplab_store_page, dirtied_ns);
	FIELD(mmaplab_store_page, path);
	FIELD(mmaplab_store_page, arrivals);
	STRUCT(mmaplab_store);
	FIELD(mmaplab_store, id);
	FIELD(mmaplab_store, data_ptr);
	FIELD(mmaplab_store, data_len);
	FIELD(mmaplab_store, pages_ptr);
	FIELD(mmaplab_store, pages_max);
	FIELD(mmaplab_store, pages_filled);
	FIELD(mmaplab_store, size);
	FIELD(mmaplab_store, now_ns);
	FIELD(mmaplab_store, batches);
	FIELD(mmaplab_store, open);
	FIELD(mmaplab_store, reserved);
	STRUCT(mmaplab_module_counters);
	FIELD(mmaplab_module_counters, buffers);
	FIELD(mmaplab_module_counters, pages);
	FIELD(mmaplab_module_counters, sessions);
	FIELD(mmaplab_module_counters, reserved);
	STRUCT(mmaplab_device_dma);
	FIELD(mmaplab_device_dma, direction);
	FIELD(mmaplab_device_dma, seed);
	FIELD(mmaplab_device_dma, mismatch);
	FIELD(mmaplab_device_dma, expected);
	FIELD(mmaplab_device_dma, found);
	FIELD(mmaplab_device_dma, transfers);
	FIELD(mmaplab_device_dma, segments);
	FIELD(mmaplab_device_dma, reserved);
	STRUCT(mmaplab_shmem_pin);
	FIELD(mmaplab_shmem_pin, pin);
	FIELD(mmaplab_shmem_pin, reserved);
	FIELD(mmaplab_shmem_pin, from_swap);
	STRUCT(mmaplab_dmabuf);
	FIELD(mmaplab_dmabuf, op);
	FIELD(mmaplab_dmabuf, fd);
	FIELD(mmaplab_dmabuf, cpu_begin);
	FIELD(mmaplab_dmabuf, cpu_end);
	FIELD(mmaplab_dmabuf, alive);
	FIELD(mmaplab_dmabuf, reserved);
#undef FIELD
#undef STRUCT

#define ENUM(x) num(enums, #x, MMAPLAB_##x)
	ENUM(ALLOC_VMALLOC_USER);
	ENUM(ALLOC_PAGES_NOCOMP);
	ENUM(ALLOC_KMALLOC);
	ENUM(ALLOC_VMALLOC);
	ENUM(ALLOC_PAGES_ARRAY);
	ENUM(ALLOC_PAGES_COMP);
	ENUM(ALLOC_PAGES_SPLIT);
	ENUM(ALLOC_DMA_COHERENT);
	ENUM(ALLOC_PCI_BAR);
	ENUM(ALLOC_DMA_DEVICE);
	ENUM(ALLOC_SHMEM);
	ENUM(ALLOC_DMA_PAGES);
	ENUM(ALLOC_COUNT);
	ENUM(METHOD_REMAP_VMALLOC_RANGE);
	ENUM(METHOD_FAULT_PAGE);
	ENUM(METHOD_REMAP_PFN_RANGE);
	ENUM(METHOD_REMAP_PFN_RANGE_FIRST_PFN);
	ENUM(METHOD_FAULT_PAGE_NOREF);
	ENUM(METHOD_FAULT_VIRT_TO_PAGE);
	ENUM(METHOD_VM_INSERT_PAGE);
	ENUM(METHOD_VM_INSERT_PAGES);
	ENUM(METHOD_VM_MAP_PAGES);
	ENUM(METHOD_VMF_INSERT_PFN);
	ENUM(METHOD_DMA_MMAP_COHERENT);
	ENUM(METHOD_PAGE_CACHE);
	ENUM(METHOD_DEFERRED_IO);
	ENUM(METHOD_DEFERRED_IO_KEEP_MAPPING);
	ENUM(METHOD_VMF_INSERT_MIXED);
	ENUM(METHOD_VMF_INSERT_PFN_PROT);
	ENUM(METHOD_IO_REMAP_PFN_RANGE);
	ENUM(METHOD_VM_IOMAP_MEMORY);
	ENUM(METHOD_DMA_MMAP_PAGES);
	ENUM(METHOD_COUNT);
	ENUM(CACHE_WB);
	ENUM(CACHE_WC);
	ENUM(CACHE_UC);
	ENUM(CACHE_COUNT);
	ENUM(REASON_NONE);
	ENUM(REASON_BAD_ENUM);
	ENUM(REASON_BAD_SIZE);
	ENUM(REASON_BAD_FLAGS);
	ENUM(REASON_COMBINATION);
	ENUM(REASON_CACHE);
	ENUM(REASON_FAULT_AROUND);
	ENUM(REASON_HAZARD_DISABLED);
	ENUM(REASON_HAZARD_CAP);
	ENUM(REASON_MAPPED);
	ENUM(REASON_NOT_CONFIGURED);
	ENUM(REASON_RANGE);
	ENUM(REASON_PRIVATE);
	ENUM(REASON_NOMEM);
	ENUM(REASON_KERNEL);
	ENUM(REASON_FREED);
	ENUM(REASON_TIMING);
	ENUM(REASON_NO_STORE);
	ENUM(REASON_DIRTY);
	ENUM(REASON_NOT_OWNER);
	ENUM(REASON_NO_DEVICE);
	ENUM(REASON_DEVICE_BUSY);
	ENUM(REASON_UNPINNED);
	ENUM(REASON_EXPORTED);
	ENUM(REASON_OUT_OF_REACH);
	ENUM(REASON_COUNT);
	ENUM(PATH_NONE);
	ENUM(PATH_WRITEBACK);
	ENUM(PATH_BACKGROUND);
	ENUM(PATH_EXPIRY);
	ENUM(PATH_SYNC);
	ENUM(PATH_RECLAIM);
	ENUM(PATH_FSYNC);
	ENUM(PATH_FLUSH);
	ENUM(PATH_DEFERRED);
	ENUM(PATH_PERIODIC);
	ENUM(PATH_RELEASE);
	ENUM(PATH_COUNT);
	ENUM(DMA_TO_DEVICE);
	ENUM(DMA_FROM_DEVICE);
	ENUM(DMABUF_QUERY);
	ENUM(SHMEM_UNPIN);
	ENUM(SHMEM_PIN);
	ENUM(SHMEM_UNPIN_CLEAN);
	ENUM(DMABUF_EXPORT);
#undef ENUM

	// Bit flags: CONFIGURE's flags, mmaplab_info.flags, mmaplab_page_info.flags.
#define FLAG(x) num(flags, #x, MMAPLAB_##x)
	FLAG(CF_FAULT_AROUND);
	FLAG(CF_RESERVED);
	FLAG(CF_RESERVED_KEPT);
	FLAG(CF_SPLITTABLE);
	FLAG(CF_ALL);
	FLAG(INFO_CONFIGURED);
	FLAG(INFO_CONTIGUOUS);
	FLAG(INFO_FREED);
	FLAG(INFO_SLAB);
	FLAG(INFO_UNPINNED);
	FLAG(PAGE_COMPOUND);
	FLAG(PAGE_HEAD);
	FLAG(PAGE_TAIL);
	FLAG(PAGE_SLAB);
	FLAG(PAGE_TYPED);
	FLAG(PAGE_RESERVED);
	FLAG(PAGE_NO_STRUCT_PAGE);
#undef FLAG

	num(sys, "PROT_NONE", PROT_NONE);
	num(sys, "PROT_READ", PROT_READ);
	num(sys, "PROT_WRITE", PROT_WRITE);
	num(sys, "PROT_EXEC", PROT_EXEC);
	num(sys, "MAP_SHARED", MAP_SHARED);
	num(sys, "MAP_PRIVATE", MAP_PRIVATE);
	num(sys, "MAP_FIXED", MAP_FIXED);
	num(sys, "MAP_FIXED_NOREPLACE", MAP_FIXED_NOREPLACE);
	num(sys, "MAP_ANONYMOUS", MAP_ANONYMOUS);
	num(sys, "MAP_POPULATE", MAP_POPULATE);
	// memfds and their seals, for udmabuf.
	num(sys, "MFD_CLOEXEC", MFD_CLOEXEC);
	num(sys, "MFD_ALLOW_SEALING", MFD_ALLOW_SEALING);
	num(sys, "F_SEAL_SHRINK", F_SEAL_SHRINK);
	num(sys, "F_SEAL_GROW", F_SEAL_GROW);
	num(sys, "F_SEAL_WRITE", F_SEAL_WRITE);
	// The kernel's own dma-buf exporters: udmabuf and the DMA heaps.
	num(sys, "UDMABUF_CREATE", UDMABUF_CREATE);
	num(sys, "UDMABUF_FLAGS_CLOEXEC", UDMABUF_FLAGS_CLOEXEC);
	num(sys, "DMA_HEAP_IOCTL_ALLOC", DMA_HEAP_IOCTL_ALLOC);
	// The dma-buf uapi (<linux/dma-buf.h>): CPU access to an exported buffer.
	num(sys, "DMA_BUF_IOCTL_SYNC", DMA_BUF_IOCTL_SYNC);
	num(sys, "DMA_BUF_SYNC_READ", DMA_BUF_SYNC_READ);
	num(sys, "DMA_BUF_SYNC_WRITE", DMA_BUF_SYNC_WRITE);
	num(sys, "DMA_BUF_SYNC_START", DMA_BUF_SYNC_START);
	num(sys, "DMA_BUF_SYNC_END", DMA_BUF_SYNC_END);
	num(sys, "O_RDONLY", O_RDONLY);
	num(sys, "O_WRONLY", O_WRONLY);
	num(sys, "O_RDWR", O_RDWR);
	num(sys, "O_CLOEXEC", O_CLOEXEC);
	num(sys, "O_NONBLOCK", O_NONBLOCK);
	num(sys, "MS_ASYNC", MS_ASYNC);
	num(sys, "MS_SYNC", MS_SYNC);
	num(sys, "MS_INVALIDATE", MS_INVALIDATE);
	num(sys, "MADV_NORMAL", MADV_NORMAL);
	num(sys, "MADV_RANDOM", MADV_RANDOM);
	num(sys, "MADV_SEQUENTIAL", MADV_SEQUENTIAL);
	num(sys, "MADV_WILLNEED", MADV_WILLNEED);
	num(sys, "MADV_DONTNEED", MADV_DONTNEED);
	num(sys, "MADV_DONTFORK", MADV_DONTFORK);
	num(sys, "MADV_DOFORK", MADV_DOFORK);
	num(sys, "MADV_REMOVE", MADV_REMOVE);
	num(sys, "MADV_FREE", MADV_FREE);
	num(sys, "MADV_COLD", MADV_COLD);
	num(sys, "MADV_PAGEOUT", MADV_PAGEOUT);
	num(sys, "MADV_POPULATE_READ", MADV_POPULATE_READ);
	num(sys, "MADV_POPULATE_WRITE", MADV_POPULATE_WRITE);
	num(sys, "MADV_HUGEPAGE", MADV_HUGEPAGE);
	num(sys, "MADV_NOHUGEPAGE", MADV_NOHUGEPAGE);
	num(sys, "MADV_WIPEONFORK", MADV_WIPEONFORK);
	num(sys, "MADV_KEEPONFORK", MADV_KEEPONFORK);
	num(sys, "MADV_MERGEABLE", MADV_MERGEABLE);
	num(sys, "MADV_UNMERGEABLE", MADV_UNMERGEABLE);
	num(sys, "MADV_COLLAPSE", MMAPLAB_MADV_COLLAPSE);
	num(sys, "MREMAP_MAYMOVE", MREMAP_MAYMOVE);
	num(sys, "MREMAP_FIXED", MREMAP_FIXED);
	num(sys, "MREMAP_DONTUNMAP", MMAPLAB_MREMAP_DONTUNMAP);
	num(sys, "MCL_CURRENT", MCL_CURRENT);
	num(sys, "MCL_FUTURE", MCL_FUTURE);
	num(sys, "MCL_ONFAULT", MCL_ONFAULT);
	num(sys, "MLOCK_ONFAULT", MMAPLAB_MLOCK_ONFAULT);

	c.Set("DEVICE_NAME", Napi::String::New(env, MMAPLAB_DEVICE_NAME));
	num(c, "IOC_MAGIC", MMAPLAB_IOC_MAGIC);
	c.Set("NO_MISMATCH", Napi::BigInt::New(env, static_cast<uint64_t>(MMAPLAB_NO_MISMATCH)));
	c.Set("MAX_SIZE", Napi::BigInt::New(env, static_cast<uint64_t>(MMAPLAB_MAX_SIZE)));
	num(c, "REASON_TEXT_LEN", MMAPLAB_REASON_TEXT_LEN);
	num(c, "DELAY_MS_DEFAULT", MMAPLAB_DELAY_MS_DEFAULT);
	num(c, "DELAY_MS_MAX", MMAPLAB_DELAY_MS_MAX);
	num(c, "PERIOD_MS_MIN", MMAPLAB_PERIOD_MS_MIN);
	num(c, "PERIOD_MS_MAX", MMAPLAB_PERIOD_MS_MAX);
	num(c, "STORES_KEPT", MMAPLAB_STORES_KEPT);
	num(c, "PAGE_SIZE", sysconf(_SC_PAGESIZE));
	c.Set("ioctl", ioctl);
	c.Set("ioc", ioc);
	c.Set("sizes", sizes);
	c.Set("offsets", offsets);
	c.Set("fieldSizes", field_sizes);
	c.Set("enums", enums);
	c.Set("flags", flags);
	c.Set("sys", sys);
	c.Set("support", Support(env));
	return c;
}

} // namespace mmaplab
