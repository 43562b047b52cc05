// SPDX-License-Identifier: GPL-2.0-only
//
// open / close / ioctl. The ioctl is generic: the caller passes a Uint8Array
// holding the struct (encoded by lib/device/layout.ts) and the kernel reads
// and writes it in place.
#include "addon.h"

#include <linux/ioctl.h>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <sys/ioctl.h>
#include <unistd.h>

namespace mmaplab {

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
	uint32_t mode = info.Length() > 2 && !info[2].IsUndefined() ? ArgUint32(info, 2, "mode") : 0;

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

// ioctl(fd: number, request: number, arg: Uint8Array) -> number
Napi::Value Ioctl(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 3);
	int fd = ArgInt32(info, 0, "fd");
	uint32_t request = ArgUint32(info, 1, "request");
	if (!info[2].IsTypedArray() ||
	    info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "arg", "a Uint8Array");
	Napi::Uint8Array arg = info[2].As<Napi::Uint8Array>();

	// The kernel copies _IOC_SIZE bytes in and/or out of the pointer: a
	// shorter buffer would let it write past the end of JS memory.
	if (_IOC_DIR(request) != _IOC_NONE && _IOC_SIZE(request) > arg.ByteLength())
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "arg",
			 ("a Uint8Array of at least " + std::to_string(_IOC_SIZE(request)) +
			  " bytes (the size encoded in the request)").c_str());

	int ret = ioctl(fd, static_cast<unsigned long>(request), arg.Data());
	if (ret < 0)
		ThrowErrno(env, errno, "ioctl");
	return Napi::Number::New(env, ret);
}

} // namespace mmaplab
