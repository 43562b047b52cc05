// SPDX-License-Identifier: GPL-2.0-only
//
// Loops over memory that would be slow, or unobservable, in JavaScript:
// touch every page, write or check the seeded pattern of the uapi header,
// the same touches and pattern writes in a forked child (forkWrite,
// forkTouch), and the sequential sweeps the benchmarks time (readAll,
// fillAll).
//
// The loops take an optional progress Int32Array: element 0 holds the index
// of the page being accessed, stored before the access. Put it in memory
// another process can read (a MAP_SHARED mapping of a file) and a process
// killed by SIGBUS or SIGSEGV still tells which page it died on.
//
// A forked child runs nothing but one of these loops and _exit() (a forked
// child of a threaded process may only do what is async-signal-safe), so
// whatever the memory does to it (SIGBUS past a buffer, SIGSEGV on a
// protection or an unmapped range) is the answer, and the caller survives
// it: the fuzzer touches every mapping this way. forkTouch's child leaves
// the page it is on in a MAP_SHARED anonymous page made before the fork, so
// a child killed by a signal still says where.
#include "child.h"
#include "mapping.h"

#include <linux/mmaplab.h>

#include <cerrno>
#include <cstring>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mmaplab {

namespace {

struct Span {
	unsigned char *data;
	size_t len;
};

// Any ArrayBuffer (a mapping or not); a detached one has no bytes.
Span ArgBuffer(const Napi::CallbackInfo &info, size_t i)
{
	if (!info[i].IsArrayBuffer())
		ThrowArg(info.Env(), "ERR_INVALID_ARG_TYPE", "buffer", "an ArrayBuffer");
	Napi::ArrayBuffer ab = info[i].As<Napi::ArrayBuffer>();
	if (ab.IsDetached())
		return { nullptr, 0 };
	return { static_cast<unsigned char *>(ab.Data()), ab.ByteLength() };
}

volatile int32_t *ArgProgress(const Napi::CallbackInfo &info, size_t i)
{
	if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull())
		return nullptr;
	if (!info[i].IsTypedArray() ||
	    info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
		ThrowArg(info.Env(), "ERR_INVALID_ARG_TYPE", "progress", "an Int32Array");
	Napi::Int32Array p = info[i].As<Napi::Int32Array>();
	if (p.ElementLength() < 1)
		ThrowArg(info.Env(), "ERR_INVALID_ARG_VALUE", "progress",
			 "an Int32Array of at least 1 element");
	return p.Data();
}

inline void Report(volatile int32_t *progress, size_t page)
{
	if (progress)
		*progress = static_cast<int32_t>(page);
}

// Words of the pattern: word i of the span is mmaplab_pattern_word(seed,
// first + i), in host byte order (little-endian hosts only, as the TS side).
void WritePattern(Span s, uint32_t seed, uint32_t first, volatile int32_t *progress)
{
	volatile uint32_t *w = reinterpret_cast<volatile uint32_t *>(s.data);
	size_t words = s.len / 4, per_page = PageSize() / 4;

	for (size_t i = 0; i < words; i++) {
		if (i % per_page == 0)
			Report(progress, i / per_page);
		w[i] = mmaplab_pattern_word(seed, static_cast<uint32_t>(first + i));
	}
}

// Loads the first byte of each page; with `write`, stores it back
// unchanged, which is a write fault all the same and keeps the data.
// Returns the number of pages touched.
size_t TouchPages(Span s, bool write, volatile int32_t *progress)
{
	volatile unsigned char *p = s.data;
	size_t page = PageSize(), n = 0;

	for (size_t off = 0; off < s.len; off += page, n++) {
		Report(progress, n);
		unsigned char v = p[off];
		if (write)
			p[off] = v;
	}
	return n;
}

// What forkTouch's child does to its range (its `mode` argument).
enum TouchMode : uint32_t { kRead = 0, kWrite = 1, kPattern = 2 };

// fork(); the child touches `s` as `mode` says (the pattern: word i =
// pattern(seed, first + i)) and exits; the parent waits for it. Returns
// { exitCode, signal }.
Napi::Object ForkTouchSpan(Napi::Env env, Span s, uint32_t mode, uint32_t seed, uint32_t first,
			   volatile int32_t *progress)
{
	pid_t pid = ForkOrThrow(env);
	if (pid == 0) {
		if (mode == kPattern)
			WritePattern(s, seed, first, progress);
		else
			TouchPages(s, mode == kWrite, progress);
		_exit(0);
	}
	return ExitOf(env, WaitOrThrow(env, pid), Napi::Object::New(env));
}

// The arguments of patternWrite/patternCheck: (buffer, seed, firstIndex, progress?).
struct PatternArgs {
	Span span;
	uint32_t seed;
	uint32_t first;
	volatile int32_t *progress;
};

PatternArgs ArgPattern(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 3);
	return { ArgBuffer(info, 0), ArgUint32(info, 1, "seed"), ArgUint32(info, 2, "firstIndex"),
		 ArgProgress(info, 3) };
}

size_t Pages(const Span &s)
{
	return (s.len + PageSize() - 1) / PageSize();
}

// Tells the compiler that any memory may have changed (or be read) here.
// Between the passes of a sweep it keeps a repeated pass from being folded
// into one (reads hoisted, identical stores found dead): every pass must
// really move the bytes it claims to.
inline void MemoryBarrier()
{
	asm volatile("" : : : "memory");
}

// The sum of the buffer's bytes taken as 64-bit words (a short tail byte
// by byte). Plain loads, which the compiler may vectorise as any consumer
// of the memory would; the sum is returned so the loads cannot be dropped.
uint64_t SumWords(Span s)
{
	uint64_t sum = 0;
	size_t words = s.len / 8;

	for (size_t i = 0; i < words; i++) {
		uint64_t w;
		std::memcpy(&w, s.data + 8 * i, sizeof(w));
		sum += w;
	}
	for (size_t i = 8 * words; i < s.len; i++)
		sum += s.data[i];
	return sum;
}

} // namespace

// touch(buffer, write: boolean, progress?) -> pages touched. A read loads
// the first byte of each page; a write stores it back unchanged, which is
// a write fault all the same and keeps the data.
Napi::Value Touch(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	Span s = ArgBuffer(info, 0);
	if (!info[1].IsBoolean())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "write", "of type boolean");
	bool write = info[1].As<Napi::Boolean>().Value();
	volatile int32_t *progress = ArgProgress(info, 2);

	size_t n = TouchPages(s, write, progress);
	Report(progress, n);
	return Napi::Number::New(env, static_cast<double>(n));
}

// readAll(buffer, passes) -> checksum: reads every byte of the buffer
// `passes` times, front to back. The checksum (the 64-bit word sum of all
// passes, folded to 32 bits) only exists to keep the reads.
Napi::Value ReadAll(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 2);
	Span s = ArgBuffer(info, 0);
	uint32_t passes = ArgUint32(info, 1, "passes");
	uint64_t sum = 0;

	for (uint32_t pass = 0; pass < passes; pass++) {
		sum += SumWords(s);
		MemoryBarrier();
	}
	return Napi::Number::New(info.Env(), static_cast<uint32_t>(sum ^ (sum >> 32)));
}

// fillAll(buffer, byte, passes) -> undefined: sets every byte of the
// buffer to `byte`, `passes` times, front to back.
Napi::Value FillAll(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 3);
	Span s = ArgBuffer(info, 0);
	uint32_t byte = ArgUint32(info, 1, "byte");
	if (byte > 255)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "byte", "an integer from 0 to 255");
	uint32_t passes = ArgUint32(info, 2, "passes");

	for (uint32_t pass = 0; pass < passes; pass++) {
		std::memset(s.data, static_cast<int>(byte), s.len);
		MemoryBarrier();
	}
	return env.Undefined();
}

// patternWrite(buffer, seed, firstIndex, progress?) -> undefined
Napi::Value PatternWrite(const Napi::CallbackInfo &info)
{
	PatternArgs a = ArgPattern(info);

	WritePattern(a.span, a.seed, a.first, a.progress);
	Report(a.progress, Pages(a.span));
	return info.Env().Undefined();
}

// patternCheck(buffer, seed, firstIndex, progress?) -> null or
// { offset, expected, found } of the first bad word (offset in the
// pattern's coordinates: 4 * (firstIndex + i)).
Napi::Value PatternCheck(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	PatternArgs a = ArgPattern(info);
	const volatile uint32_t *w = reinterpret_cast<const volatile uint32_t *>(a.span.data);
	size_t words = a.span.len / 4, per_page = PageSize() / 4;

	for (size_t i = 0; i < words; i++) {
		if (i % per_page == 0)
			Report(a.progress, i / per_page);
		uint32_t want = mmaplab_pattern_word(a.seed, static_cast<uint32_t>(a.first + i));
		uint32_t have = w[i];
		if (have != want) {
			Napi::Object r = Napi::Object::New(env);
			r.Set("offset",
			      Napi::Number::New(env, 4.0 * (static_cast<double>(a.first) + i)));
			r.Set("expected", Napi::Number::New(env, want));
			r.Set("found", Napi::Number::New(env, have));
			return r;
		}
	}
	Report(a.progress, Pages(a.span));
	return env.Null();
}

// forkWrite(buffer, seed, firstIndex) -> { exitCode, signal }: fork(); the
// child writes the pattern over `buffer` through the mapping it inherited
// and exits; the parent waits for it. A fault in the child is reported as
// its signal number.
Napi::Value ForkWrite(const Napi::CallbackInfo &info)
{
	PatternArgs a = ArgPattern(info);

	return ForkTouchSpan(info.Env(), a.span, kPattern, a.seed, a.first, nullptr);
}

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
	Span s = ArgBuffer(info, 0);
	uint64_t offset = ArgSafeUint(info, 1, "offset");
	uint64_t length = ArgSafeUint(info, 2, "length");
	uint32_t mode = ArgUint32(info, 3, "mode");
	uint32_t seed = ArgUint32(info, 4, "seed");
	uint32_t first = ArgUint32(info, 5, "firstIndex");

	if (mode > kPattern)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "mode",
			 "0 (read), 1 (write) or 2 (pattern)");
	if (offset % PageSize() != 0)
		ThrowRange(env, "offset", "a multiple of the page size");
	if (offset > s.len || length > s.len - offset)
		ThrowRange(env, "length", "such that offset + length lies inside the buffer");

	SharedArea shared(env, PageSize());
	volatile int32_t *reached = reinterpret_cast<volatile int32_t *>(shared.Data());
	*reached = -1;

	Span range = { s.data + offset, static_cast<size_t>(length) };
	Napi::Object r = ForkTouchSpan(env, range, mode, seed, first, reached);
	int32_t last = *reached;
	r.Set("page", last >= 0 ? Napi::Number::New(env, last) : env.Null());
	return r;
}

} // namespace mmaplab
