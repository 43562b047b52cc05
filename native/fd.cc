// SPDX-License-Identifier: GPL-2.0-only
//
// open / close / ioctl, and memfds with their seals. The ioctls are generic: the caller passes a
// Uint8Array holding the struct (encoded by lib/device/layout.ts) and the
// kernel reads and writes it in place. ioctlNoArg() is for _IO requests;
// ioctlWithArray() is for a struct that carries a user pointer to an array,
// so JS never handles a raw address.
#include "addon.h"

#include <linux/ioctl.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace mmaplab {

namespace {

Napi::Uint8Array ArgUint8Array(const Napi::CallbackInfo &info, size_t i, const char *name)
{
	if (!info[i].IsTypedArray() ||
	    info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
		ThrowArg(info.Env(), "ERR_INVALID_ARG_TYPE", name, "a Uint8Array");
	return info[i].As<Napi::Uint8Array>();
}

// The kernel copies _IOC_SIZE bytes in and/or out of the pointer: a shorter
// buffer would let it write past the end of JS memory.
void CheckStructSize(Napi::Env env, uint32_t request, size_t have, const char *name)
{
	if (_IOC_SIZE(request) > have)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", name,
			 "a Uint8Array of at least " + std::to_string(_IOC_SIZE(request)) +
				 " bytes (the size encoded in the request)");
}

} // namespace

// open(path: string, flags: number, mode?: number) -> fd
Napi::Value Open(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	if (!info[0].IsString())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "path", "of type string");
	std::string path = info[0].As<Napi::String>().Utf8Value();
	if (path.find('\0') != std::string::npos)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "path", "a string without null bytes");
	int flags = ArgInt32(info, 1, "flags");
	uint32_t mode =
		info.Length() > 2 && !info[2].IsUndefined() ? ArgUint32(info, 2, "mode") : 0;

	int fd = open(path.c_str(), flags, static_cast<mode_t>(mode));
	if (fd < 0)
		ThrowErrno(env, errno, "open", path.c_str());
	return Napi::Number::New(env, fd);
}

// close(fd: number) -> undefined. Not retried on EINTR: on Linux the fd is
// released whatever close() returns, and a retry could close a reused fd.
Napi::Value Close(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 1);
	int fd = ArgInt32(info, 0, "fd");

	if (close(fd) < 0)
		ThrowErrno(info.Env(), errno, "close");
	return info.Env().Undefined();
}

// dup(fd: number) -> fd: fcntl(F_DUPFD_CLOEXEC), a second descriptor for the
// same open file (the same mmaplab session).
Napi::Value Dup(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 1);
	int fd = ArgInt32(info, 0, "fd");

	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (copy < 0)
		ThrowErrno(info.Env(), errno, "dup");
	return Napi::Number::New(info.Env(), copy);
}

// memfdCreate(name: string, flags: number) -> fd: memfd_create(2), the
// shmem file udmabuf turns into a dma-buf.
Napi::Value MemfdCreate(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	if (!info[0].IsString())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "name", "of type string");
	std::string name = info[0].As<Napi::String>().Utf8Value();
	if (name.find('\0') != std::string::npos)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "name", "a string without null bytes");
	uint32_t flags = ArgUint32(info, 1, "flags");

	int fd = memfd_create(name.c_str(), flags);
	if (fd < 0)
		ThrowErrno(env, errno, "memfd_create");
	return Napi::Number::New(env, fd);
}

// addSeals(fd: number, seals: number) -> undefined: fcntl(F_ADD_SEALS).
Napi::Value AddSeals(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 2);
	int fd = ArgInt32(info, 0, "fd");
	int seals = ArgInt32(info, 1, "seals");

	if (fcntl(fd, F_ADD_SEALS, seals) < 0)
		ThrowErrno(info.Env(), errno, "fcntl");
	return info.Env().Undefined();
}

// ioctl(fd: number, request: number, arg: Uint8Array) -> number
Napi::Value Ioctl(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 3);
	int fd = ArgInt32(info, 0, "fd");
	uint32_t request = ArgUint32(info, 1, "request");
	Napi::Uint8Array arg = ArgUint8Array(info, 2, "arg");

	if (_IOC_DIR(request) != _IOC_NONE)
		CheckStructSize(env, request, arg.ByteLength(), "arg");

	int ret = ioctl(fd, static_cast<unsigned long>(request), arg.Data());
	if (ret < 0)
		ThrowErrno(env, errno, "ioctl");
	return Napi::Number::New(env, ret);
}

// ioctlNoArg(fd: number, request: number) -> number: an _IO request; the
// argument the kernel sees is 0.
Napi::Value IoctlNoArg(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	int fd = ArgInt32(info, 0, "fd");
	uint32_t request = ArgUint32(info, 1, "request");
	if (_IOC_DIR(request) != _IOC_NONE)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "request",
			 "an _IO request (no data direction): use ioctl() for a struct");

	int ret = ioctl(fd, static_cast<unsigned long>(request), 0UL);
	if (ret < 0)
		ThrowErrno(env, errno, "ioctl");
	return Napi::Number::New(env, ret);
}

// ioctlWithArray(fd, request, struct, ptrOffset, array, countOffset,
//                elementSize) -> number
//
// For a struct with a __u64 user pointer (at ptrOffset) to an array of
// elementSize-byte entries whose __u64 capacity is at countOffset. The ioctl
// runs on a private copy of the struct, in which the addon writes the
// array's address (0 for an empty array); the kernel's answer is copied back
// into `struct` with the pointer field zeroed. So no address ever reaches JS
// memory, and no JS thread (a SharedArrayBuffer) can change the pointer or
// the capacity between the check and the call. The capacity the caller put
// in `struct` must fit in `array`: the kernel is trusted to write at most
// that many entries, never past the array.
Napi::Value IoctlWithArray(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 7);
	int fd = ArgInt32(info, 0, "fd");
	uint32_t request = ArgUint32(info, 1, "request");
	Napi::Uint8Array st = ArgUint8Array(info, 2, "struct");
	uint32_t ptr_offset = ArgUint32(info, 3, "ptrOffset");
	Napi::Uint8Array array = ArgUint8Array(info, 4, "array");
	uint32_t count_offset = ArgUint32(info, 5, "countOffset");
	uint32_t element_size = ArgUint32(info, 6, "elementSize");

	if (_IOC_DIR(request) == _IOC_NONE)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "request",
			 "a request that passes a struct (_IOR, _IOW or _IOWR)");
	size_t size = _IOC_SIZE(request);
	CheckStructSize(env, request, st.ByteLength(), "struct");
	if (uint64_t(ptr_offset) + 8 > size)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "ptrOffset",
			 "the offset of a __u64 inside the request's struct");
	if (uint64_t(count_offset) + 8 > size)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "countOffset",
			 "the offset of a __u64 inside the request's struct");
	if (uint64_t(ptr_offset) + 8 > count_offset && uint64_t(count_offset) + 8 > ptr_offset)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "countOffset",
			 "a field that does not overlap the pointer field");
	if (element_size == 0)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "elementSize", "a positive integer");

	std::vector<unsigned char> copy(st.Data(), st.Data() + size);
	uint64_t count;
	std::memcpy(&count, copy.data() + count_offset, sizeof(count));
	size_t array_len = array.ByteLength();
	if (count > array_len / element_size)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "array",
			 "a Uint8Array with room for the " + std::to_string(count) +
				 " entries of " + std::to_string(element_size) +
				 " bytes the struct announces at countOffset");

	// The kernel writes both the struct and the array: they must not share
	// bytes (the struct is copied back over the caller's bytes afterwards).
	uintptr_t s_begin = reinterpret_cast<uintptr_t>(st.Data());
	uintptr_t a_begin = reinterpret_cast<uintptr_t>(array.Data());
	if (array_len > 0 && a_begin < s_begin + size && s_begin < a_begin + array_len)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "array",
			 "memory that does not overlap the struct");

	uint64_t address = array_len > 0 ? static_cast<uint64_t>(a_begin) : 0;
	std::memcpy(copy.data() + ptr_offset, &address, sizeof(address));

	int ret = ioctl(fd, static_cast<unsigned long>(request), copy.data());
	int err = errno;

	address = 0;
	std::memcpy(copy.data() + ptr_offset, &address, sizeof(address));
	std::memcpy(st.Data(), copy.data(), size);
	if (ret < 0)
		ThrowErrno(env, err, "ioctl");
	return Napi::Number::New(env, ret);
}

} // namespace mmaplab
