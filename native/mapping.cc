// SPDX-License-Identifier: GPL-2.0-only
//
// mmap / munmap / msync.
//
// A mapping is exactly one external ArrayBuffer over the mapped memory. Its
// finalize hint is a heap `Mapping`; the ArrayBuffer is type-tagged (so
// munmap() can tell ours from any other ArrayBuffer, even once detached) and
// wrapped with the same pointer (so munmap() finds it). Ownership:
//
//   - munmap(): unwrap, mark unmapped, detach, munmap. Any view left behind
//     has length 0 instead of pointing at freed memory.
//   - finalizer (the ArrayBuffer was collected or detached): munmap only if
//     not unmapped yet, then free the Mapping. It is the only place that
//     frees it.
#include "addon.h"

#include <cerrno>
#include <new>
#include <sys/mman.h>

namespace mmaplab {

namespace {

struct Mapping {
	void *addr;
	size_t len;
	bool unmapped;
};

// Random; marks ArrayBuffers created by mmap() below.
const napi_type_tag kMappingTag = { 0x6d6d61706c61622eULL, 0x9b1c3f0e52d7a4c1ULL };

void FinalizeMapping(napi_env, void *, void *hint)
{
	Mapping *m = static_cast<Mapping *>(hint);

	if (!m->unmapped)
		munmap(m->addr, m->len);
	delete m;
}

// The live Mapping behind `value`: TypeError if it is not an ArrayBuffer
// returned by mmap(), EALREADY if it was unmapped already.
Mapping *LiveMapping(const Napi::CallbackInfo &info, const char *syscall)
{
	Napi::Env env = info.Env();

	if (!info[0].IsArrayBuffer())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "buffer", "an ArrayBuffer returned by mmap()");
	Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
	if (!ab.CheckTypeTag(&kMappingTag))
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "buffer", "an ArrayBuffer returned by mmap()");

	void *m = nullptr;
	if (napi_unwrap(env, ab, &m) != napi_ok || !m)
		ThrowAlreadyUnmapped(env, syscall);
	return static_cast<Mapping *>(m);
}

} // namespace

// mmap(fd, length, prot, flags, offset) -> ArrayBuffer
Napi::Value Mmap(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 5);
	int fd = ArgInt32(info, 0, "fd");
	uint64_t length = ArgSafeUint(info, 1, "length");
	int prot = ArgInt32(info, 2, "prot");
	int flags = ArgInt32(info, 3, "flags");
	uint64_t offset = ArgSafeUint(info, 4, "offset");
	static_assert(sizeof(off_t) == 8, "build with a 64-bit off_t");

	void *addr = mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
	if (addr == MAP_FAILED)
		ThrowErrno(env, errno, "mmap");

	Mapping *m = new (std::nothrow) Mapping{ addr, static_cast<size_t>(length), false };
	if (!m) {
		munmap(addr, length);
		ThrowErrno(env, ENOMEM, "mmap");
	}
	napi_value value;
	if (napi_create_external_arraybuffer(env, addr, m->len, FinalizeMapping, m, &value) !=
	    napi_ok) {
		munmap(addr, length);
		delete m;
		throw Napi::Error::New(env);
	}

	// From here the finalizer owns `m`: if tagging or wrapping fails, the
	// ArrayBuffer is garbage and its collection unmaps the memory.
	Napi::ArrayBuffer ab(env, value);
	ab.TypeTag(&kMappingTag);
	if (napi_wrap(env, ab, m, nullptr, nullptr, nullptr) != napi_ok)
		throw Napi::Error::New(env);
	return ab;
}

// munmap(buffer) -> undefined; detaches `buffer`.
Napi::Value Munmap(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	Mapping *m = LiveMapping(info, "munmap");
	Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
	void *addr = m->addr;
	size_t len = m->len;

	// Take the unmap over from the finalizer before detaching: a finalizer
	// that runs from Detach() (synchronously or later) only frees `m`, so
	// `m` is not touched after Detach().
	void *unused;
	if (napi_remove_wrap(env, ab, &unused) != napi_ok)
		throw Napi::Error::New(env);
	m->unmapped = true;
	ab.Detach();

	// Unmapping a whole mapping does not fail in practice; if it did, the
	// memory stays mapped but no JS object can reach it any more.
	if (munmap(addr, len) < 0)
		ThrowErrno(env, errno, "munmap");
	return env.Undefined();
}

// msync(buffer, flags) -> undefined
Napi::Value Msync(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	Mapping *m = LiveMapping(info, "msync");
	int flags = ArgInt32(info, 1, "flags");

	if (msync(m->addr, m->len, flags) < 0)
		ThrowErrno(env, errno, "msync");
	return env.Undefined();
}

} // namespace mmaplab
