// SPDX-License-Identifier: GPL-2.0-only
//
// The calls that may block for long (msync of a large range, an ioctl that
// waits) run on the libuv thread pool and settle a Promise. The thread
// makes only the system call: every JS value is read before it starts and
// written after it ends, on the main thread.
#include "mapping.h"

#include <cerrno>
#include <cstring>
#include <linux/ioctl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <vector>

namespace mmaplab {

namespace {

// A worker that settles a Promise with the system call's result or with an
// Error shaped like the synchronous calls' (code, errno, syscall).
class SyscallWorker : public Napi::AsyncWorker {
public:
	SyscallWorker(Napi::Env env, const char *syscall)
		: Napi::AsyncWorker(env, syscall), deferred_(Napi::Promise::Deferred::New(env)),
		  syscall_(syscall)
	{
	}

	Napi::Promise Promise() const
	{
		return deferred_.Promise();
	}

protected:
	// Runs on the main thread once the call ended, before the Promise
	// settles (release what the call held).
	virtual void Settle()
	{
	}
	virtual Napi::Value Result()
	{
		return Napi::Number::New(Env(), ret_);
	}

	void OnOK() override
	{
		Napi::HandleScope scope(Env());
		Settle();
		if (err_ != 0)
			deferred_.Reject(ErrnoError(Env(), err_, syscall_).Value());
		else
			deferred_.Resolve(Result());
	}

	// AsyncWorker's failure path: only SetError() leads here, which these
	// workers never call; release and reject all the same.
	void OnError(const Napi::Error &e) override
	{
		Napi::HandleScope scope(Env());
		Settle();
		deferred_.Reject(e.Value());
	}

	int ret_ = 0;
	int err_ = 0;

private:
	Napi::Promise::Deferred deferred_;
	const char *syscall_;
};

class MsyncWorker : public SyscallWorker {
public:
	MsyncWorker(Napi::Env env, Napi::ArrayBuffer ab, Mapping *m, MappingRange r, int flags)
		: SyscallWorker(env, "msync"), buffer_(Napi::Persistent(ab)), m_(m),
		  addr_(static_cast<char *>(m->addr) + r.offset), length_(r.length), flags_(flags)
	{
		// The reference keeps the ArrayBuffer (and so `m`) alive, and the
		// busy count keeps munmap, mremap and mprotect away from the memory.
		m_->busy++;
	}

	void Execute() override
	{
		if (msync(addr_, length_, flags_) < 0)
			err_ = errno;
	}

protected:
	void Settle() override
	{
		m_->busy--;
		buffer_.Reset();
	}

	Napi::Value Result() override
	{
		return Env().Undefined();
	}

private:
	Napi::Reference<Napi::ArrayBuffer> buffer_;
	Mapping *m_;
	void *addr_;
	size_t length_;
	int flags_;
};

class IoctlWorker : public SyscallWorker {
public:
	IoctlWorker(Napi::Env env, int fd, uint32_t request, Napi::Uint8Array arg)
		: SyscallWorker(env, "ioctl"), arg_(Napi::Persistent(arg)), fd_(fd),
		  request_(request), copy_(arg.Data(), arg.Data() + arg.ByteLength())
	{
	}

	void Execute() override
	{
		ret_ = ioctl(fd_, static_cast<unsigned long>(request_),
			     copy_.empty() ? nullptr : copy_.data());
		if (ret_ < 0)
			err_ = errno;
	}

protected:
	// The kernel's answer goes back into the caller's bytes, unless the
	// array was detached or shrunk meanwhile (then there is nowhere to put it).
	void Settle() override
	{
		Napi::Uint8Array arg = arg_.Value();
		if (arg.ByteLength() == copy_.size())
			std::memcpy(arg.Data(), copy_.data(), copy_.size());
		arg_.Reset();
	}

private:
	Napi::Reference<Napi::Uint8Array> arg_;
	int fd_;
	uint32_t request_;
	std::vector<unsigned char> copy_;
};

} // namespace

// msyncAsync(buffer, flags, offset?, length?) -> Promise<undefined>
Napi::Value MsyncAsync(const Napi::CallbackInfo &info)
{
	RangeCallArgs a = ArgRangeCall(info, "msync", "flags");

	auto *worker =
		new MsyncWorker(info.Env(), info[0].As<Napi::ArrayBuffer>(), a.m, a.range, a.value);
	Napi::Promise promise = worker->Promise();
	worker->Queue();
	return promise;
}

// ioctlAsync(fd, request, arg: Uint8Array) -> Promise<number>. The kernel
// works on a copy of `arg`, copied back when the call ends, so the struct
// may not carry pointers into JS memory (use ioctlWithArray for those).
Napi::Value IoctlAsync(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 3);
	int fd = ArgInt32(info, 0, "fd");
	uint32_t request = ArgUint32(info, 1, "request");
	if (!info[2].IsTypedArray() ||
	    info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "arg", "a Uint8Array");
	Napi::Uint8Array arg = info[2].As<Napi::Uint8Array>();
	if (_IOC_DIR(request) != _IOC_NONE && _IOC_SIZE(request) > arg.ByteLength())
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "arg",
			 "a Uint8Array of at least " + std::to_string(_IOC_SIZE(request)) +
				 " bytes (the size encoded in the request)");

	auto *worker = new IoctlWorker(env, fd, request, arg);
	Napi::Promise promise = worker->Promise();
	worker->Queue();
	return promise;
}

} // namespace mmaplab
