// SPDX-License-Identifier: GPL-2.0-only
//
// Error conversion and argument checks.
#include "addon.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

namespace mmaplab {

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#define MMAPLAB_HAVE_STRERRORNAME_NP 1
#endif

// glibc >= 2.32 names every errno (and the description is thread-safe);
// elsewhere (musl prebuilds) fall back to the names this tool meets.
const char *ErrnoName(int err)
{
#ifdef MMAPLAB_HAVE_STRERRORNAME_NP
	const char *name = strerrorname_np(err);
	if (name)
		return name;
#else
	// A table, read across: clang-format would put one case on each line.
	// clang-format off
	switch (err) {
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(EINTR); E(EIO); E(ENXIO); E(E2BIG); E(EBADF);
	E(EAGAIN); E(ENOMEM); E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST);
	E(ENODEV); E(EINVAL); E(ENOTTY); E(EFBIG); E(ENOSPC); E(ERANGE);
	E(ENOSYS); E(EOVERFLOW); E(EOPNOTSUPP); E(EALREADY); E(ETXTBSY);
	E(EROFS); E(EMFILE); E(ENFILE);
#undef E
	}
	// clang-format on
#endif
	return "UNKNOWN";
}

namespace {

std::string ErrnoDescription(int err)
{
#ifdef MMAPLAB_HAVE_STRERRORNAME_NP
	const char *desc = strerrordesc_np(err);
	std::string s = desc ? desc : "unknown error";
#else
	std::string s = std::strerror(err);
#endif
	// Node's messages start lower case ("ENOENT: no such file or directory").
	if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z' &&
	    !(s.size() > 1 && s[1] >= 'A' && s[1] <= 'Z'))
		s[0] = static_cast<char>(s[0] - 'A' + 'a');
	return s;
}

Napi::Error Make(Napi::Env env, int err, const std::string &description, const char *syscall,
		 const char *path)
{
	const char *code = ErrnoName(err);
	std::string msg = std::string(code) + ": " + description + ", " + syscall;
	if (path)
		msg += std::string(" '") + path + "'";

	Napi::Error error = Napi::Error::New(env, msg);
	error.Set("errno", Napi::Number::New(env, -err));
	error.Set("code", Napi::String::New(env, code));
	error.Set("syscall", Napi::String::New(env, syscall));
	if (path)
		error.Set("path", Napi::String::New(env, path));
	return error;
}

} // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const char *path)
{
	return Make(env, err, ErrnoDescription(err), syscall, path);
}

void ThrowErrno(Napi::Env env, int err, const char *syscall, const char *path)
{
	throw ErrnoError(env, err, syscall, path);
}

void ThrowAlreadyUnmapped(Napi::Env env, const char *syscall)
{
	throw Make(env, EALREADY, "mapping already unmapped", syscall, nullptr);
}

void ThrowBusy(Napi::Env env, const char *syscall)
{
	throw Make(env, EBUSY, "mapping in use by a pending asynchronous call", syscall, nullptr);
}

void ThrowRange(Napi::Env env, const char *name, const std::string &what)
{
	Napi::RangeError error =
		Napi::RangeError::New(env, std::string("The value of \"") + name +
						   "\" is out of range. It must be " + what);
	error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
	throw error;
}

void ThrowArg(Napi::Env env, const char *code, const char *name, const std::string &what)
{
	Napi::TypeError error = Napi::TypeError::New(env, std::string("The \"") + name +
								  "\" argument must be " + what);
	error.Set("code", Napi::String::New(env, code));
	throw error;
}

void CheckArgCount(const Napi::CallbackInfo &info, size_t want)
{
	if (info.Length() < want) {
		Napi::TypeError error = Napi::TypeError::New(
			info.Env(), "Expected " + std::to_string(want) + " arguments, got " +
					    std::to_string(info.Length()));
		error.Set("code", Napi::String::New(info.Env(), "ERR_MISSING_ARGS"));
		throw error;
	}
}

namespace {

// The integral value of a number argument within [min, max], or a TypeError.
double ArgInteger(const Napi::CallbackInfo &info, size_t i, const char *name, double min,
		  double max, const char *what)
{
	Napi::Value v = info[i];
	if (!v.IsNumber())
		ThrowArg(info.Env(), "ERR_INVALID_ARG_TYPE", name, what);
	double d = v.As<Napi::Number>().DoubleValue();
	if (!std::isfinite(d) || std::trunc(d) != d || d < min || d > max)
		ThrowArg(info.Env(), "ERR_INVALID_ARG_VALUE", name, what);
	return d;
}

} // namespace

int32_t ArgInt32(const Napi::CallbackInfo &info, size_t i, const char *name)
{
	return static_cast<int32_t>(
		ArgInteger(info, i, name, INT32_MIN, INT32_MAX, "a 32-bit signed integer"));
}

uint32_t ArgUint32(const Napi::CallbackInfo &info, size_t i, const char *name)
{
	return static_cast<uint32_t>(
		ArgInteger(info, i, name, 0, UINT32_MAX, "a 32-bit unsigned integer"));
}

uint64_t ArgSafeUint(const Napi::CallbackInfo &info, size_t i, const char *name)
{
	// 2^53 - 1: every integer up to it is exact in a double.
	return static_cast<uint64_t>(
		ArgInteger(info, i, name, 0, 9007199254740991.0, "a non-negative safe integer"));
}

} // namespace mmaplab
