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
	exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
	exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
	exports.Set("addSeals", Napi::Function::New(env, AddSeals, "addSeals"));
	exports.Set("ioctl", Napi::Function::New(env, Ioctl, "ioctl"));
	exports.Set("ioctlNoArg", Napi::Function::New(env, IoctlNoArg, "ioctlNoArg"));
	exports.Set("ioctlWithArray", Napi::Function::New(env, IoctlWithArray, "ioctlWithArray"));
	exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
	exports.Set("mmapOver", Napi::Function::New(env, MmapOver, "mmapOver"));
	exports.Set("address", Napi::Function::New(env, Address, "address"));
	exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
	exports.Set("msync", Napi::Function::New(env, Msync, "msync"));
	exports.Set("msyncAsync", Napi::Function::New(env, MsyncAsync, "msyncAsync"));
	exports.Set("munmapRange", Napi::Function::New(env, MunmapRange, "munmapRange"));
	exports.Set("unsafeMunmapKeepingBuffer", Napi::Function::New(env, UnsafeMunmapKeepingBuffer,
								     "unsafeMunmapKeepingBuffer"));
	exports.Set("mremap", Napi::Function::New(env, Mremap, "mremap"));
	exports.Set("mprotect", Napi::Function::New(env, Mprotect, "mprotect"));
	exports.Set("madvise", Napi::Function::New(env, Madvise, "madvise"));
	exports.Set("mincore", Napi::Function::New(env, Mincore, "mincore"));
	exports.Set("ioctlAsync", Napi::Function::New(env, IoctlAsync, "ioctlAsync"));
	exports.Set("touch", Napi::Function::New(env, Touch, "touch"));
	exports.Set("readAll", Napi::Function::New(env, ReadAll, "readAll"));
	exports.Set("fillAll", Napi::Function::New(env, FillAll, "fillAll"));
	exports.Set("patternWrite", Napi::Function::New(env, PatternWrite, "patternWrite"));
	exports.Set("patternCheck", Napi::Function::New(env, PatternCheck, "patternCheck"));
	exports.Set("forkWrite", Napi::Function::New(env, ForkWrite, "forkWrite"));
	exports.Set("forkTouch", Napi::Function::New(env, ForkTouch, "forkTouch"));
	exports.Set("setAffinity", Napi::Function::New(env, SetAffinity, "setAffinity"));
	exports.Set("getAffinity", Napi::Function::New(env, GetAffinity, "getAffinity"));
	exports.Set("constants", Napi::Function::New(env, Constants, "constants"));
	exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
	exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
	exports.Set("transfer", Napi::Function::New(env, Transfer, "transfer"));
	exports.Set("vmsplice", Napi::Function::New(env, Vmsplice, "vmsplice"));
	exports.Set("splice", Napi::Function::New(env, Splice, "splice"));
	exports.Set("remoteAccess", Napi::Function::New(env, RemoteAccess, "remoteAccess"));
	exports.Set("futexHandoff", Napi::Function::New(env, FutexHandoff, "futexHandoff"));
	exports.Set("futexWaitPrivate",
		    Napi::Function::New(env, FutexWaitPrivate, "futexWaitPrivate"));
	exports.Set("mlock", Napi::Function::New(env, Mlock, "mlock"));
	exports.Set("munlock", Napi::Function::New(env, Munlock, "munlock"));
	exports.Set("childSmaps", Napi::Function::New(env, ChildSmaps, "childSmaps"));
	exports.Set("ioUring", Napi::Function::New(env, IoUring, "ioUring"));
	exports.Set("uffdRegister", Napi::Function::New(env, UffdRegister, "uffdRegister"));
	exports.Set("coreDumpChild", Napi::Function::New(env, CoreDumpChild, "coreDumpChild"));
	exports.Set("forkHold", Napi::Function::New(env, ForkHold, "forkHold"));
	exports.Set("forkRelease", Napi::Function::New(env, ForkRelease, "forkRelease"));
	exports.Set("pressureChild", Napi::Function::New(env, PressureChild, "pressureChild"));
	return exports;
}

NODE_API_MODULE(mmaplab, InitMmaplab)
