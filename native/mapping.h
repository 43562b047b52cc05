// SPDX-License-Identifier: GPL-2.0-only
//
// The state behind each ArrayBuffer that mmap() returns, shared by the
// synchronous calls (mapping.cc) and the asynchronous ones (async.cc).
#ifndef MMAPLAB_NATIVE_MAPPING_H
#define MMAPLAB_NATIVE_MAPPING_H

#include "addon.h"

#include <cstddef>

namespace mmaplab {

struct Mapping {
	void *addr;
	size_t len;
	// Set once munmap has been called (or taken over): the finalizer then
	// only frees this struct.
	bool unmapped;
	// Asynchronous calls in flight on this memory. Only touched on the main
	// thread (incremented when the call is queued, decremented when it
	// settles), so no lock is needed; while non-zero, every call that would
	// unmap, move or reprotect the memory fails with EBUSY.
	unsigned int busy;
};

// A byte range of a mapping, checked: offset a page multiple, length > 0,
// the range inside the mapping.
struct MappingRange {
	size_t offset;
	size_t length;
};

size_t PageSize();

// The Mapping behind `value`: TypeError if it is not an ArrayBuffer returned
// by mmap(); nullptr if it was unmapped already (or detached).
Mapping *MappingOf(Napi::Env env, Napi::Value value);
// The live Mapping behind info[0]: TypeError if it is not an ArrayBuffer
// returned by mmap(); nullptr if it was unmapped already (or detached).
Mapping *FindMapping(const Napi::CallbackInfo &info);
// Like FindMapping, but an unmapped mapping is an EALREADY error.
Mapping *LiveMapping(const Napi::CallbackInfo &info, const char *syscall);
// The range given by the optional (offset, length) arguments at info[i] and
// info[i + 1]: the whole mapping by default; RangeError when unusable.
MappingRange ArgRange(const Napi::CallbackInfo &info, size_t i, const Mapping *m);

// The arguments of a call of the form f(buffer, int, offset?, length?).
struct RangeCallArgs {
	Mapping *m;
	int value;
	MappingRange range;
};
RangeCallArgs ArgRangeCall(const Napi::CallbackInfo &info, const char *syscall, const char *arg);

} // namespace mmaplab

#endif // MMAPLAB_NATIVE_MAPPING_H
