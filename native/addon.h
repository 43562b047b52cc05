// SPDX-License-Identifier: GPL-2.0-only
//
// Shared helpers of the mmaplab addon. The addon is deliberately thin: each
// export performs one system call and turns its failure into an Error shaped
// like Node's own (code, errno, syscall). Policy, names and struct encoding
// live in lib/device/ (TypeScript).
#ifndef MMAPLAB_NATIVE_ADDON_H
#define MMAPLAB_NATIVE_ADDON_H

#include <napi.h>

#include <cstdint>

namespace mmaplab {

// Throws Error{code: 'EXXX', errno: -err, syscall} like Node's fs errors.
// `path` (optional) is appended to the message and set as .path, as Node does.
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char *syscall,
			     const char *path = nullptr);
// The same shape for a mapping that was already unmapped (or detached):
// code 'EALREADY', so callers handle it like any other syscall refusal.
[[noreturn]] void ThrowAlreadyUnmapped(Napi::Env env, const char *syscall);

// Argument checks. Each throws a TypeError with code ERR_INVALID_ARG_TYPE
// (wrong JS type) or ERR_INVALID_ARG_VALUE (right type, unusable value), so a
// misuse of the addon is an exception, never a crash.
void CheckArgCount(const Napi::CallbackInfo &info, size_t want);
int32_t ArgInt32(const Napi::CallbackInfo &info, size_t i, const char *name);
uint32_t ArgUint32(const Napi::CallbackInfo &info, size_t i, const char *name);
// A non-negative integer no larger than Number.MAX_SAFE_INTEGER.
uint64_t ArgSafeUint(const Napi::CallbackInfo &info, size_t i, const char *name);
[[noreturn]] void ThrowArg(Napi::Env env, const char *code, const char *name,
			   const char *what);

Napi::Value Open(const Napi::CallbackInfo &info);
Napi::Value Close(const Napi::CallbackInfo &info);
Napi::Value Ioctl(const Napi::CallbackInfo &info);
Napi::Value IoctlNoArg(const Napi::CallbackInfo &info);
Napi::Value IoctlWithArray(const Napi::CallbackInfo &info);
Napi::Value Mmap(const Napi::CallbackInfo &info);
Napi::Value Munmap(const Napi::CallbackInfo &info);
Napi::Value Msync(const Napi::CallbackInfo &info);
Napi::Value Constants(const Napi::CallbackInfo &info);

} // namespace mmaplab

#endif // MMAPLAB_NATIVE_ADDON_H
