// SPDX-License-Identifier: GPL-2.0-only
//
// forkTouch: fork(); the child touches a byte range of a mapping it
// inherited (reads a byte of each page, writes it back unchanged, or writes
// the uapi pattern) and exits; the parent waits for it. Whatever the memory
// does to the child (SIGBUS past a buffer, SIGSEGV on a protection or an
// unmapped range) is the answer, and the caller survives it: the fuzzer
// touches every mapping this way.
//
// The child leaves the page it is on in a MAP_SHARED anonymous page made
// before the fork, so a child killed by a signal still says where. It runs
// nothing but the loop and _exit() (a forked child of a threaded process
// may only do what is async-signal-safe).
#include "child.h"
#include "mapping.h"

#include <linux/mmaplab.h>

#include <cerrno>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mmaplab {

namespace {

enum TouchMode : uint32_t { kRead = 0, kWrite = 1, kPattern = 2 };

[[noreturn]] void ChildTouch(volatile unsigned char *p, size_t length, uint32_t mode, uint32_t seed,
			     uint32_t first, volatile int32_t *reached)
{
	size_t page = PageSize();

	if (mode == kPattern) {
		volatile uint32_t *w = reinterpret_cast<volatile uint32_t *>(p);
		size_t words = length / 4, per_page = page / 4;

		for (size_t i = 0; i < words; i++) {
			if (i % per_page == 0)
				*reached = static_cast<int32_t>(i / per_page);
			w[i] = mmaplab_pattern_word(seed, static_cast<uint32_t>(first + i));
		}
		_exit(0);
	}
	for (size_t off = 0; off < length; off += page) {
		*reached = static_cast<int32_t>(off / page);
		unsigned char v = p[off];
		if (mode == kWrite)
			p[off] = v;
	}
	_exit(0);
}

} // namespace

// forkTouch(buffer, offset, length, mode, seed, firstIndex) ->
// { exitCode, signal, page }: mode 0 reads, 1 writes back, 2 writes the
// pattern (word i of the range = pattern(seed, firstIndex + i)) over
// [offset, offset + length) of `buffer`, in a forked child. `page` is the
// page of the range (from 0) the child was on last, null if it reached
// none. A detached buffer is empty: only length 0 fits it.
Napi::Value ForkTouch(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 6);
	if (!info[0].IsArrayBuffer())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "buffer", "an ArrayBuffer");
	Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
	unsigned char *data = ab.IsDetached() ? nullptr : static_cast<unsigned char *>(ab.Data());
	size_t len = ab.IsDetached() ? 0 : ab.ByteLength();
	uint64_t offset = ArgSafeUint(info, 1, "offset");
	uint64_t length = ArgSafeUint(info, 2, "length");
	uint32_t mode = ArgUint32(info, 3, "mode");
	uint32_t seed = ArgUint32(info, 4, "seed");
	uint32_t first = ArgUint32(info, 5, "firstIndex");

	if (mode > kPattern)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "mode", "0 (read), 1 (write) or 2 (pattern)");
	if (offset % PageSize() != 0)
		ThrowRange(env, "offset", "a multiple of the page size");
	if (offset > len || length > len - offset)
		ThrowRange(env, "length", "such that offset + length lies inside the buffer");

	SharedArea shared(env, PageSize());
	volatile int32_t *reached = reinterpret_cast<volatile int32_t *>(shared.Data());
	*reached = -1;

	pid_t pid = ForkOrThrow(env);
	if (pid == 0)
		ChildTouch(data + offset, length, mode, seed, first, reached);

	Napi::Object r = ExitOf(env, WaitOrThrow(env, pid), Napi::Object::New(env));
	int32_t last = *reached;
	r.Set("page", last >= 0 ? Napi::Number::New(env, last) : env.Null());
	return r;
}

} // namespace mmaplab
