// SPDX-License-Identifier: GPL-2.0-only
//
// Module registration. lib/device/native.ts is the typed description of
// these exports; keep the two in step.
#include "addon.h"

static Napi::Object InitMmaplab(Napi::Env env, Napi::Object exports)
{
	using namespace mmaplab;

	exports.Set("open", Napi::Function::New(env, Open, "open"));
	exports.Set("close", Napi::Function::New(env, Close, "close"));
	exports.Set("ioctl", Napi::Function::New(env, Ioctl, "ioctl"));
	exports.Set("ioctlNoArg", Napi::Function::New(env, IoctlNoArg, "ioctlNoArg"));
	exports.Set("ioctlWithArray", Napi::Function::New(env, IoctlWithArray, "ioctlWithArray"));
	exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
	exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
	exports.Set("msync", Napi::Function::New(env, Msync, "msync"));
	exports.Set("constants", Napi::Function::New(env, Constants, "constants"));
	return exports;
}

NODE_API_MODULE(mmaplab, InitMmaplab)
