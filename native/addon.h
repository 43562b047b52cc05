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
#include <string>

namespace mmaplab {

// "EINVAL" for EINVAL; "UNKNOWN" for a number this C library cannot name.
const char *ErrnoName(int err);
// Throws Error{code: 'EXXX', errno: -err, syscall} like Node's fs errors.
// `path` (optional) is appended to the message and set as .path, as Node does.
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char *syscall,
			     const char *path = nullptr);
// The same error as a value, for a Promise to reject with.
Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const char *path = nullptr);
// The same shape for a mapping that was already unmapped (or detached):
// code 'EALREADY', so callers handle it like any other syscall refusal.
[[noreturn]] void ThrowAlreadyUnmapped(Napi::Env env, const char *syscall);
// code 'EBUSY': an asynchronous call (msyncAsync) is using the mapping.
[[noreturn]] void ThrowBusy(Napi::Env env, const char *syscall);
// RangeError with code ERR_OUT_OF_RANGE, like Node's: "The value of "name"
// is out of range. It must be <what>".
[[noreturn]] void ThrowRange(Napi::Env env, const char *name, const std::string &what);

// Argument checks. Each throws a TypeError with code ERR_INVALID_ARG_TYPE
// (wrong JS type) or ERR_INVALID_ARG_VALUE (right type, unusable value), so a
// misuse of the addon is an exception, never a crash.
void CheckArgCount(const Napi::CallbackInfo &info, size_t want);
int32_t ArgInt32(const Napi::CallbackInfo &info, size_t i, const char *name);
uint32_t ArgUint32(const Napi::CallbackInfo &info, size_t i, const char *name);
// A non-negative integer no larger than Number.MAX_SAFE_INTEGER.
uint64_t ArgSafeUint(const Napi::CallbackInfo &info, size_t i, const char *name);
[[noreturn]] void ThrowArg(Napi::Env env, const char *code, const char *name,
			   const std::string &what);

Napi::Value Open(const Napi::CallbackInfo &info);
Napi::Value Close(const Napi::CallbackInfo &info);
Napi::Value Dup(const Napi::CallbackInfo &info);
Napi::Value MemfdCreate(const Napi::CallbackInfo &info);
Napi::Value AddSeals(const Napi::CallbackInfo &info);
Napi::Value Ioctl(const Napi::CallbackInfo &info);
Napi::Value IoctlNoArg(const Napi::CallbackInfo &info);
Napi::Value IoctlWithArray(const Napi::CallbackInfo &info);
Napi::Value Mmap(const Napi::CallbackInfo &info);
Napi::Value MmapOver(const Napi::CallbackInfo &info);
Napi::Value Address(const Napi::CallbackInfo &info);
Napi::Value Munmap(const Napi::CallbackInfo &info);
Napi::Value Msync(const Napi::CallbackInfo &info);
Napi::Value MsyncAsync(const Napi::CallbackInfo &info);
Napi::Value MunmapRange(const Napi::CallbackInfo &info);
Napi::Value UnsafeMunmapKeepingBuffer(const Napi::CallbackInfo &info);
Napi::Value Mremap(const Napi::CallbackInfo &info);
Napi::Value Mprotect(const Napi::CallbackInfo &info);
Napi::Value Madvise(const Napi::CallbackInfo &info);
Napi::Value Mincore(const Napi::CallbackInfo &info);
Napi::Value IoctlAsync(const Napi::CallbackInfo &info);
Napi::Value Touch(const Napi::CallbackInfo &info);
Napi::Value ReadAll(const Napi::CallbackInfo &info);
Napi::Value FillAll(const Napi::CallbackInfo &info);
Napi::Value PatternWrite(const Napi::CallbackInfo &info);
Napi::Value PatternCheck(const Napi::CallbackInfo &info);
Napi::Value ForkWrite(const Napi::CallbackInfo &info);
Napi::Value ForkTouch(const Napi::CallbackInfo &info);
Napi::Value SetAffinity(const Napi::CallbackInfo &info);
Napi::Value GetAffinity(const Napi::CallbackInfo &info);
Napi::Value Constants(const Napi::CallbackInfo &info);
Napi::Value Pipe(const Napi::CallbackInfo &info);
Napi::Value SocketPair(const Napi::CallbackInfo &info);
Napi::Value Transfer(const Napi::CallbackInfo &info);
Napi::Value Vmsplice(const Napi::CallbackInfo &info);
Napi::Value Splice(const Napi::CallbackInfo &info);
Napi::Value RemoteAccess(const Napi::CallbackInfo &info);
Napi::Value FutexHandoff(const Napi::CallbackInfo &info);
Napi::Value FutexWaitPrivate(const Napi::CallbackInfo &info);
Napi::Value Mlock(const Napi::CallbackInfo &info);
Napi::Value Munlock(const Napi::CallbackInfo &info);
Napi::Value ChildSmaps(const Napi::CallbackInfo &info);
Napi::Value IoUring(const Napi::CallbackInfo &info);
Napi::Value UffdRegister(const Napi::CallbackInfo &info);
Napi::Value CoreDumpChild(const Napi::CallbackInfo &info);
Napi::Value ForkHold(const Napi::CallbackInfo &info);
Napi::Value ForkRelease(const Napi::CallbackInfo &info);
Napi::Value PressureChild(const Napi::CallbackInfo &info);

} // namespace mmaplab

#endif // MMAPLAB_NATIVE_ADDON_H
