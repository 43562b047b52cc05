// SPDX-License-Identifier: GPL-2.0-only
//
// constants(): everything the TypeScript side must agree with, read from the
// uapi header (ioctl numbers, struct sizes and field offsets, enums) and from
// the C library (mmap/open/msync flags, page size). test/unit/device.test.ts
// checks lib/device/layout.ts against this object, so the two cannot drift.
#include "addon.h"

#include <linux/mmaplab.h>

#include <cstddef>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace mmaplab {

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
	Napi::Object sys = Napi::Object::New(env);
	auto num = [&](Napi::Object o, const char *key, double v) {
		o.Set(key, Napi::Number::New(env, v));
	};

	num(ioctl, "CONFIGURE", MMAPLAB_IOC_CONFIGURE);
	num(ioctl, "FILL", MMAPLAB_IOC_FILL);
	num(ioctl, "VERIFY", MMAPLAB_IOC_VERIFY);

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
	FIELD(mmaplab_config, reserved);
	STRUCT(mmaplab_fill);
	FIELD(mmaplab_fill, seed);
	FIELD(mmaplab_fill, reserved);
	STRUCT(mmaplab_verify);
	FIELD(mmaplab_verify, seed);
	FIELD(mmaplab_verify, reserved);
	FIELD(mmaplab_verify, mismatch);
	FIELD(mmaplab_verify, expected);
	FIELD(mmaplab_verify, found);
#undef FIELD
#undef STRUCT

	num(enums, "ALLOC_VMALLOC_USER", MMAPLAB_ALLOC_VMALLOC_USER);
	num(enums, "ALLOC_PAGES_NOCOMP", MMAPLAB_ALLOC_PAGES_NOCOMP);
	num(enums, "ALLOC_COUNT", MMAPLAB_ALLOC_COUNT);
	num(enums, "METHOD_REMAP_VMALLOC_RANGE", MMAPLAB_METHOD_REMAP_VMALLOC_RANGE);
	num(enums, "METHOD_FAULT_PAGE", MMAPLAB_METHOD_FAULT_PAGE);
	num(enums, "METHOD_COUNT", MMAPLAB_METHOD_COUNT);

	num(sys, "PROT_NONE", PROT_NONE);
	num(sys, "PROT_READ", PROT_READ);
	num(sys, "PROT_WRITE", PROT_WRITE);
	num(sys, "PROT_EXEC", PROT_EXEC);
	num(sys, "MAP_SHARED", MAP_SHARED);
	num(sys, "MAP_PRIVATE", MAP_PRIVATE);
	num(sys, "MAP_FIXED", MAP_FIXED);
	num(sys, "MAP_ANONYMOUS", MAP_ANONYMOUS);
	num(sys, "MAP_POPULATE", MAP_POPULATE);
	num(sys, "O_RDONLY", O_RDONLY);
	num(sys, "O_WRONLY", O_WRONLY);
	num(sys, "O_RDWR", O_RDWR);
	num(sys, "O_CLOEXEC", O_CLOEXEC);
	num(sys, "O_NONBLOCK", O_NONBLOCK);
	num(sys, "MS_ASYNC", MS_ASYNC);
	num(sys, "MS_SYNC", MS_SYNC);
	num(sys, "MS_INVALIDATE", MS_INVALIDATE);

	c.Set("DEVICE_NAME", Napi::String::New(env, MMAPLAB_DEVICE_NAME));
	num(c, "IOC_MAGIC", MMAPLAB_IOC_MAGIC);
	c.Set("NO_MISMATCH", Napi::BigInt::New(env, static_cast<uint64_t>(MMAPLAB_NO_MISMATCH)));
	c.Set("MAX_SIZE", Napi::BigInt::New(env, static_cast<uint64_t>(MMAPLAB_MAX_SIZE)));
	num(c, "PAGE_SIZE", sysconf(_SC_PAGESIZE));
	c.Set("ioctl", ioctl);
	c.Set("ioc", ioc);
	c.Set("sizes", sizes);
	c.Set("offsets", offsets);
	c.Set("fieldSizes", field_sizes);
	c.Set("enums", enums);
	c.Set("sys", sys);
	return c;
}

} // namespace mmaplab
