// SPDX-License-Identifier: GPL-2.0-only
//
// mmap and the calls that change a mapping: munmap (whole or partial),
// mremap, mprotect, madvise, msync, mincore.
//
// A mapping is exactly one external ArrayBuffer over the mapped memory. Its
// finalize hint is a heap `Mapping`; the ArrayBuffer is type-tagged (so a
// call can tell ours from any other ArrayBuffer, even once detached) and
// wrapped with the same pointer (so a call finds it). Ownership:
//
//   - Retire() (munmap, and the calls that replace a mapping by others):
//     unwrap, mark unmapped, detach. Any view left behind has length 0
//     instead of pointing at unmapped memory. The memory itself is then
//     unmapped (or moved) by the caller.
//   - finalizer (the ArrayBuffer was collected or detached): munmap only if
//     not unmapped yet, then free the Mapping. It is the only place that
//     frees it.
#include "mapping.h"

#include <cerrno>
#include <new>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace mmaplab {

namespace {

// Random; marks ArrayBuffers created by NewMappingBuffer().
const napi_type_tag kMappingTag = { 0x6d6d61706c61622eULL, 0x9b1c3f0e52d7a4c1ULL };

void FinalizeMapping(napi_env, void *, void *hint)
{
	Mapping *m = static_cast<Mapping *>(hint);

	if (!m->unmapped)
		munmap(m->addr, m->len);
	delete m;
}

// Wraps mapped memory in a new ArrayBuffer that owns it. On failure the
// memory is unmapped before the exception leaves.
Napi::ArrayBuffer NewMappingBuffer(Napi::Env env, void *addr, size_t len)
{
	Mapping *m = new (std::nothrow) Mapping{ addr, len, false, 0 };
	if (!m) {
		munmap(addr, len);
		ThrowErrno(env, ENOMEM, "mmap");
	}
	napi_value value;
	napi_status status =
		napi_create_external_arraybuffer(env, addr, len, FinalizeMapping, m, &value);
	if (status != napi_ok) {
		munmap(addr, len);
		delete m;
		if (status == napi_no_external_buffers_allowed) {
			Napi::Error error = Napi::Error::New(
				env,
				"this JavaScript runtime forbids external ArrayBuffers (a V8 "
				"memory cage, as in Electron): mmaplab exposes mapped memory only "
				"through them and never copies it, so mappings cannot be used here");
			error.Set("code", Napi::String::New(env, "ERR_EXTERNAL_BUFFERS_FORBIDDEN"));
			throw error;
		}
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

// Takes the unmap over from the finalizer and detaches `ab`. A finalizer
// that runs from Detach() (synchronously or later) only frees `m`, so `m`
// must not be touched after this call: read what you need first.
void Retire(Napi::Env env, Napi::ArrayBuffer ab, Mapping *m)
{
	void *unused;
	if (napi_remove_wrap(env, ab, &unused) != napi_ok)
		throw Napi::Error::New(env);
	m->unmapped = true;
	ab.Detach();
}

std::string PageMultiple()
{
	return "a multiple of the page size (" + std::to_string(PageSize()) + ")";
}

void CheckNotBusy(Napi::Env env, const Mapping *m, const char *syscall)
{
	if (m->busy)
		ThrowBusy(env, syscall);
}

} // namespace

size_t PageSize()
{
	static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
	return page;
}

Mapping *MappingOf(Napi::Env env, Napi::Value value)
{
	if (!value.IsArrayBuffer())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "buffer",
			 "an ArrayBuffer returned by mmap()");
	Napi::ArrayBuffer ab = value.As<Napi::ArrayBuffer>();
	if (!ab.CheckTypeTag(&kMappingTag))
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "buffer",
			 "an ArrayBuffer returned by mmap()");

	void *m = nullptr;
	if (ab.IsDetached() || napi_unwrap(env, ab, &m) != napi_ok || !m)
		return nullptr;
	return static_cast<Mapping *>(m);
}

Mapping *FindMapping(const Napi::CallbackInfo &info)
{
	return MappingOf(info.Env(), info[0]);
}

Mapping *LiveMapping(const Napi::CallbackInfo &info, const char *syscall)
{
	Mapping *m = FindMapping(info);
	if (!m)
		ThrowAlreadyUnmapped(info.Env(), syscall);
	return m;
}

MappingRange ArgRange(const Napi::CallbackInfo &info, size_t i, const Mapping *m)
{
	Napi::Env env = info.Env();
	size_t offset = 0;
	if (info.Length() > i && !info[i].IsUndefined())
		offset = ArgSafeUint(info, i, "offset");
	if (offset % PageSize() != 0)
		ThrowRange(env, "offset", PageMultiple());
	if (offset >= m->len)
		ThrowRange(env, "offset",
			   "below the mapping's length (" + std::to_string(m->len) + ")");
	size_t length = m->len - offset;
	if (info.Length() > i + 1 && !info[i + 1].IsUndefined())
		length = ArgSafeUint(info, i + 1, "length");
	if (length == 0 || length > m->len - offset)
		ThrowRange(env, "length",
			   "at least 1 and at most " + std::to_string(m->len - offset) +
				   " (the rest of the mapping from offset)");
	return { offset, length };
}

// mmap(fd, length, prot, flags, offset, address?) -> ArrayBuffer. `address`
// (default 0: none) is a hint, or the exact place with MAP_FIXED_NOREPLACE.
// MAP_FIXED is refused here: it would replace whatever is mapped at the
// address, the runtime's own memory included. mmapOver() is its safe form.
Napi::Value Mmap(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 5);
	int fd = ArgInt32(info, 0, "fd");
	uint64_t length = ArgSafeUint(info, 1, "length");
	int prot = ArgInt32(info, 2, "prot");
	int flags = ArgInt32(info, 3, "flags");
	uint64_t offset = ArgSafeUint(info, 4, "offset");
	uint64_t address = 0;
	if (info.Length() > 5 && !info[5].IsUndefined())
		address = ArgSafeUint(info, 5, "address");
	static_assert(sizeof(off_t) == 8, "build with a 64-bit off_t");
	if (length == 0)
		ThrowRange(env, "length", "at least 1");
	if (offset % PageSize() != 0)
		ThrowRange(env, "offset", PageMultiple());
	if (flags & MAP_FIXED)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "flags",
			 "without MAP_FIXED (mmapOver() maps over a mapping of this addon)");

	void *addr = mmap(reinterpret_cast<void *>(address), length, prot, flags, fd,
			  static_cast<off_t>(offset));
	if (addr == MAP_FAILED)
		ThrowErrno(env, errno, "mmap");
	return NewMappingBuffer(env, addr, static_cast<size_t>(length));
}

namespace {

// Is every page of [addr, addr + len) mapped? mincore(2) answers ENOMEM
// for a range with a hole in it.
bool RangeMapped(void *addr, size_t len)
{
	std::vector<unsigned char> vec((len + PageSize() - 1) / PageSize());
	return mincore(addr, len, vec.data()) == 0;
}

} // namespace

// mmapOver(buffer, offset, length, fd, prot, flags, fileOffset) ->
// { before, mapped, after }: mmap(2) with MAP_FIXED at `offset` bytes into
// a mapping of this addon, replacing [offset, offset + length rounded up to
// a page) of it. `buffer` is detached; `mapped` is the new mapping, `before`
// and `after` what is left of the old one on either side (null if nothing).
//
// A MAP_FIXED that fails may already have unmapped the range (the kernel
// unmaps before it calls the file's ->mmap). If the range is still mapped,
// nothing changed; if not, the rest of the old mapping is unmapped too and
// `buffer` detached, so that a mapping is either whole or gone.
Napi::Value MmapOver(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 7);
	Mapping *m = LiveMapping(info, "mmap");
	uint64_t offset = ArgSafeUint(info, 1, "offset");
	uint64_t length = ArgSafeUint(info, 2, "length");
	int fd = ArgInt32(info, 3, "fd");
	int prot = ArgInt32(info, 4, "prot");
	int flags = ArgInt32(info, 5, "flags");
	uint64_t file_offset = ArgSafeUint(info, 6, "fileOffset");
	size_t page = PageSize();
	size_t span = (m->len + page - 1) / page * page;

	if (offset % page != 0)
		ThrowRange(env, "offset", PageMultiple());
	if (offset >= m->len)
		ThrowRange(env, "offset",
			   "below the mapping's length (" + std::to_string(m->len) + ")");
	if (length == 0 || length > span - offset)
		ThrowRange(env, "length",
			   "at least 1 and at most " + std::to_string(span - offset) +
				   " (the pages of the mapping from offset)");
	if (file_offset % page != 0)
		ThrowRange(env, "fileOffset", PageMultiple());
	if (flags & MAP_FIXED_NOREPLACE)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "flags", "without MAP_FIXED_NOREPLACE");
	CheckNotBusy(env, m, "mmap");

	char *base = static_cast<char *>(m->addr);
	size_t len = m->len;
	size_t end = offset + (length + page - 1) / page * page;
	void *addr = mmap(base + offset, length, prot, flags | MAP_FIXED, fd,
			  static_cast<off_t>(file_offset));
	if (addr == MAP_FAILED) {
		int err = errno;
		if (!RangeMapped(base + offset, end - offset)) {
			Retire(env, info[0].As<Napi::ArrayBuffer>(), m);
			if (offset > 0)
				munmap(base, offset);
			if (end < len)
				munmap(base + end, len - end);
		}
		ThrowErrno(env, err, "mmap");
	}
	Retire(env, info[0].As<Napi::ArrayBuffer>(), m);

	Napi::Object parts = Napi::Object::New(env);
	parts.Set("before", offset > 0 ? NewMappingBuffer(env, base, offset) : env.Null());
	parts.Set("mapped", NewMappingBuffer(env, addr, static_cast<size_t>(length)));
	parts.Set("after", end < len ? NewMappingBuffer(env, base + end, len - end) : env.Null());
	return parts;
}

// address(buffer) -> number: where a live mapping starts.
Napi::Value Address(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	Mapping *m = LiveMapping(info, "address");
	uintptr_t addr = reinterpret_cast<uintptr_t>(m->addr);
	if (addr > 9007199254740991ULL)
		ThrowRange(env, "address",
			   "below 2^53 (a mapping above it has no exact JS number)");
	return Napi::Number::New(env, static_cast<double>(addr));
}

// munmap(buffer) -> undefined; detaches `buffer`. A no-op once unmapped.
Napi::Value Munmap(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	Mapping *m = FindMapping(info);
	if (!m)
		return env.Undefined();
	CheckNotBusy(env, m, "munmap");
	void *addr = m->addr;
	size_t len = m->len;
	Retire(env, info[0].As<Napi::ArrayBuffer>(), m);

	// Unmapping a whole mapping does not fail in practice; if it did, the
	// memory stays mapped but no JS object can reach it any more.
	if (munmap(addr, len) < 0)
		ThrowErrno(env, errno, "munmap");
	return env.Undefined();
}

// unsafeMunmapKeepingBuffer(buffer) -> undefined: munmap WITHOUT detaching,
// so the ArrayBuffer still points at the unmapped range and the next access
// through it faults (SIGSEGV), or reads whatever is mapped there later. For
// the one experiment that needs it ("touch after a raw munmap"), in a child
// process that is expected to die; lib/device never calls it otherwise.
Napi::Value UnsafeMunmapKeepingBuffer(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	Mapping *m = LiveMapping(info, "munmap");
	CheckNotBusy(env, m, "munmap");
	if (munmap(m->addr, m->len) < 0)
		ThrowErrno(env, errno, "munmap");
	m->unmapped = true;
	return env.Undefined();
}

// munmapRange(buffer, offset, length) -> ArrayBuffer[]: unmaps part of a
// mapping. `buffer` is detached; what remains before and after the hole
// comes back as new mappings (none, one or two, in address order). The
// length must be a page multiple unless the range runs to the end.
Napi::Value MunmapRange(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 3);
	Mapping *m = LiveMapping(info, "munmap");
	MappingRange r = ArgRange(info, 1, m);
	size_t end = r.offset + r.length;
	if (end != m->len && r.length % PageSize() != 0)
		ThrowRange(env, "length", PageMultiple() + ", or reach the end of the mapping");
	CheckNotBusy(env, m, "munmap");

	char *base = static_cast<char *>(m->addr);
	size_t len = m->len;
	if (munmap(base + r.offset, r.length) < 0)
		ThrowErrno(env, errno, "munmap");
	Retire(env, info[0].As<Napi::ArrayBuffer>(), m);

	Napi::Array rest = Napi::Array::New(env);
	if (r.offset > 0)
		rest.Set(rest.Length(), NewMappingBuffer(env, base, r.offset));
	if (end < len)
		rest.Set(rest.Length(), NewMappingBuffer(env, base + end, len - end));
	return rest;
}

// mremap(buffer, newLength, mayMove, to?, dontUnmap?) -> ArrayBuffer. On
// success `buffer` is detached (unless dontUnmap: MREMAP_DONTUNMAP leaves
// the old range mapped, without its page table entries) and the returned
// one covers the (maybe moved) mapping; `to` moves it to that address
// (MREMAP_FIXED, replacing whatever was there), or over another mapping of
// newLength bytes, whose buffer is then detached. On failure nothing
// changed.
Napi::Value Mremap(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 3);
	Mapping *m = LiveMapping(info, "mremap");
	uint64_t new_len = ArgSafeUint(info, 1, "newLength");
	if (!info[2].IsBoolean())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "mayMove", "of type boolean");
	bool may_move = info[2].As<Napi::Boolean>().Value();
	if (new_len == 0)
		ThrowRange(env, "newLength", "at least 1");
	// Optional: a fixed target (MREMAP_FIXED), an address or a mapping of
	// the same length to replace; and MREMAP_DONTUNMAP.
	uint64_t to = 0;
	Mapping *over = nullptr;
	bool fixed = info.Length() > 3 && !info[3].IsUndefined();
	if (fixed && info[3].IsArrayBuffer()) {
		over = MappingOf(env, info[3].As<Napi::ArrayBuffer>());
		if (!over)
			ThrowAlreadyUnmapped(env, "mremap");
		if (over == m || over->len != new_len)
			ThrowRange(env, "to", "another mapping of exactly newLength bytes");
		CheckNotBusy(env, over, "mremap");
		to = reinterpret_cast<uintptr_t>(over->addr);
	} else if (fixed) {
		to = ArgSafeUint(info, 3, "to");
		if (to == 0 || to % PageSize() != 0)
			ThrowRange(env, "to",
				   "a non-zero multiple of the page size, or a mapping to replace");
	}
	bool dont_unmap = false;
	if (info.Length() > 4 && !info[4].IsUndefined()) {
		if (!info[4].IsBoolean())
			ThrowArg(env, "ERR_INVALID_ARG_TYPE", "dontUnmap", "of type boolean");
		dont_unmap = info[4].As<Napi::Boolean>().Value();
	}
	CheckNotBusy(env, m, "mremap");

	int flags = may_move || fixed || dont_unmap ? MREMAP_MAYMOVE : 0;
	if (fixed)
		flags |= MREMAP_FIXED;
#ifdef MREMAP_DONTUNMAP
	if (dont_unmap)
		flags |= MREMAP_DONTUNMAP;
#else
	if (dont_unmap)
		flags |= 4; // the kernel's MREMAP_DONTUNMAP, unnamed by this C library
#endif
	// Always five arguments: the C library reads new_address whenever
	// MREMAP_DONTUNMAP is set too, and the kernel checks it (0: none).
	void *addr = mremap(m->addr, m->len, new_len, flags, reinterpret_cast<void *>(to));
	if (addr == MAP_FAILED)
		ThrowErrno(env, errno, "mremap");
	// With DONTUNMAP the old range stays mapped (emptied): its buffer lives on.
	if (!dont_unmap)
		Retire(env, info[0].As<Napi::ArrayBuffer>(), m);
	// The replaced mapping is gone: its buffer must not unmap what is there now.
	if (over)
		Retire(env, info[3].As<Napi::ArrayBuffer>(), over);
	return NewMappingBuffer(env, addr, static_cast<size_t>(new_len));
}

namespace {

// mprotect, madvise and msync: (addr, len, int) on a range of the mapping.
// `exclusive`: the call changes what the memory is, so an asynchronous call
// using it makes this one fail with EBUSY.
Napi::Value CallOnRange(const Napi::CallbackInfo &info, int (*call)(void *, size_t, int),
			const char *syscall, const char *arg, bool exclusive)
{
	Napi::Env env = info.Env();
	RangeCallArgs a = ArgRangeCall(info, syscall, arg);

	if (exclusive)
		CheckNotBusy(env, a.m, syscall);
	if (call(static_cast<char *>(a.m->addr) + a.range.offset, a.range.length, a.value) < 0)
		ThrowErrno(env, errno, syscall);
	return env.Undefined();
}

} // namespace

RangeCallArgs ArgRangeCall(const Napi::CallbackInfo &info, const char *syscall, const char *arg)
{
	CheckArgCount(info, 2);
	Mapping *m = LiveMapping(info, syscall);
	int value = ArgInt32(info, 1, arg);
	return { m, value, ArgRange(info, 2, m) };
}

// mprotect(buffer, prot, offset?, length?) -> undefined
Napi::Value Mprotect(const Napi::CallbackInfo &info)
{
	return CallOnRange(info, mprotect, "mprotect", "prot", true);
}

// madvise(buffer, advice, offset?, length?) -> undefined
Napi::Value Madvise(const Napi::CallbackInfo &info)
{
	return CallOnRange(info, madvise, "madvise", "advice", false);
}

// msync(buffer, flags, offset?, length?) -> undefined
Napi::Value Msync(const Napi::CallbackInfo &info)
{
	return CallOnRange(info, msync, "msync", "flags", false);
}

// mincore(buffer) -> Uint8Array, one byte per page (bit 0: resident).
Napi::Value Mincore(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	Mapping *m = LiveMapping(info, "mincore");
	size_t pages = (m->len + PageSize() - 1) / PageSize();

	Napi::Uint8Array vec = Napi::Uint8Array::New(env, pages);
	if (mincore(m->addr, m->len, vec.Data()) < 0)
		ThrowErrno(env, errno, "mincore");
	return vec;
}

} // namespace mmaplab
