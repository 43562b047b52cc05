// SPDX-License-Identifier: GPL-2.0-only
//
// The system calls a program makes with a mapping besides touching it: the
// kernel reads or writes the mapped memory on the caller's behalf (read(2)
// and write(2) of a pipe or socket, vmsplice, a futex), another process
// reaches into it (process_vm_readv/writev, /proc/PID/mem, ptrace), or the
// caller changes how it is held (mlock, mlockall).
//
// Each export is one system call on a mapping, except those that need a
// second process (remoteAccess, futexHandoff, childSmaps, forkHold and
// forkRelease, pressureChild): they fork with child.h's helpers, and the
// child does only system calls and arithmetic before _exit() (a forked
// child of a threaded process may do nothing else).
#include "child.h"
#include "mapping.h"

#include <linux/futex.h>
#include <linux/mmaplab.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace mmaplab {

namespace {

// [offset, offset + length) of the mapping at info[i], info[i + 1] (both
// required): RangeError unless it lies inside the mapping.
char *RangeAddress(const Napi::CallbackInfo &info, size_t i, Mapping *m, size_t *length)
{
	Napi::Env env = info.Env();
	uint64_t offset = ArgSafeUint(info, i, "offset");
	uint64_t len = ArgSafeUint(info, i + 1, "length");

	if (offset > m->len || len > m->len - offset)
		ThrowRange(env, "length", "such that offset + length lies inside the mapping");
	*length = static_cast<size_t>(len);
	return static_cast<char *>(m->addr) + offset;
}

// The byte count a read/write-like call returned, or its failure thrown.
Napi::Value BytesOrThrow(Napi::Env env, ssize_t n, const char *call)
{
	if (n < 0)
		ThrowErrno(env, errno, call);
	return Napi::Number::New(env, static_cast<double>(n));
}

Napi::Array FdPair(Napi::Env env, const int fds[2])
{
	Napi::Array a = Napi::Array::New(env, 2);
	a.Set(0u, Napi::Number::New(env, fds[0]));
	a.Set(1u, Napi::Number::New(env, fds[1]));
	return a;
}

long Futex(volatile uint32_t *addr, int op, uint32_t val, const struct timespec *timeout)
{
	return syscall(SYS_futex, addr, op, val, timeout, nullptr, 0);
}

// How a futexHandoff() child's wait ended, from the errno it left (0: woken).
const char *WaiterName(int32_t err)
{
	if (err == 0)
		return "woken";
	if (err == EAGAIN)
		return "changed";
	if (err == ETIMEDOUT)
		return "timeout";
	return err < 0 ? "never-waited" : ErrnoName(err);
}

// What a remoteAccess() child leaves for its parent.
struct RemoteResult {
	int32_t err;	// errno of the call that stopped it, 0 if none
	int32_t call;	// which call that was (kRemoteCalls)
	uint64_t bytes; // bytes moved before it stopped
};

enum RemoteHow : uint32_t { kProcessVm = 0, kProcMem = 1, kPtrace = 2, kRemoteHowCount };

const char *const kRemoteCalls[] = {
	"process_vm_readv", "process_vm_writev", "open", "pread", "pwrite", "ptrace", "waitpid",
	"ptrace(PEEKDATA)", "ptrace(POKEDATA)",
};

enum RemoteCall : int32_t {
	kCallVmRead,
	kCallVmWrite,
	kCallOpen,
	kCallPread,
	kCallPwrite,
	kCallPtrace,
	kCallWaitpid,
	kCallPeek,
	kCallPoke,
};

void Fail(RemoteResult *r, RemoteCall call)
{
	r->err = errno ? errno : EIO;
	r->call = call;
}

void ByProcessVm(pid_t target, char *remote, char *local, size_t length, bool write,
		 RemoteResult *r)
{
	struct iovec liov = { local, length };
	struct iovec riov = { remote, length };
	ssize_t n = write ? process_vm_writev(target, &liov, 1, &riov, 1, 0)
			  : process_vm_readv(target, &liov, 1, &riov, 1, 0);
	if (n < 0)
		return Fail(r, write ? kCallVmWrite : kCallVmRead);
	r->bytes = static_cast<uint64_t>(n);
}

void ByProcMem(const char *path, char *remote, char *local, size_t length, bool write,
	       RemoteResult *r)
{
	int fd = open(path, write ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return Fail(r, kCallOpen);
	while (r->bytes < length) {
		off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(remote) + r->bytes);
		ssize_t n = write ? pwrite(fd, local + r->bytes, length - r->bytes, at)
				  : pread(fd, local + r->bytes, length - r->bytes, at);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			Fail(r, write ? kCallPwrite : kCallPread);
			break;
		}
		r->bytes += static_cast<uint64_t>(n);
	}
	close(fd);
}

// Seize (no SIGSTOP: the other threads keep running), interrupt, wait for
// the stop, move the words, detach. The parent is blocked in waitpid() for
// this child; the interrupted wait restarts after the detach.
void ByPtrace(pid_t target, char *remote, char *local, size_t length, bool write, RemoteResult *r)
{
	int status;

	if (ptrace(PTRACE_SEIZE, target, nullptr, nullptr) < 0)
		return Fail(r, kCallPtrace);
	if (ptrace(PTRACE_INTERRUPT, target, nullptr, nullptr) < 0)
		return Fail(r, kCallPtrace);
	if (waitpid(target, &status, __WALL) < 0)
		return Fail(r, kCallWaitpid);
	for (size_t off = 0; off + sizeof(long) <= length; off += sizeof(long)) {
		long word;
		errno = 0;
		if (write) {
			memcpy(&word, local + off, sizeof(word));
			if (ptrace(PTRACE_POKEDATA, target, remote + off, word) < 0) {
				Fail(r, kCallPoke);
				break;
			}
		} else {
			word = ptrace(PTRACE_PEEKDATA, target, remote + off, nullptr);
			if (word == -1 && errno != 0) {
				Fail(r, kCallPeek);
				break;
			}
			memcpy(local + off, &word, sizeof(word));
		}
		r->bytes += sizeof(long);
	}
	ptrace(PTRACE_DETACH, target, nullptr, nullptr);
}

} // namespace

// pipe() -> [readFd, writeFd], both close-on-exec.
Napi::Value Pipe(const Napi::CallbackInfo &info)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		ThrowErrno(info.Env(), errno, "pipe2");
	return FdPair(info.Env(), fds);
}

// socketPair() -> [fd, fd]: a connected AF_UNIX stream pair, close-on-exec.
Napi::Value SocketPair(const Napi::CallbackInfo &info)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		ThrowErrno(info.Env(), errno, "socketpair");
	return FdPair(info.Env(), fds);
}

// transfer(buffer, offset, length, fd, write, position?) -> bytes: one
// read(2) from `fd` into the mapped range, or one write(2) of the range to
// `fd` (pread/pwrite at `position` when given): the kernel copies to or
// from the mapping's memory itself, or, for a file opened O_DIRECT, has
// the device do it.
Napi::Value Transfer(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 5);
	if (!info[4].IsBoolean())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "write", "of type boolean");
	bool out = info[4].As<Napi::Boolean>().Value();
	bool at = info.Length() > 5 && !info[5].IsUndefined();
	const char *call = at ? (out ? "pwrite" : "pread") : (out ? "write" : "read");
	Mapping *m = LiveMapping(info, call);
	size_t length;
	char *p = RangeAddress(info, 1, m, &length);
	int fd = ArgInt32(info, 3, "fd");
	off_t position = at ? static_cast<off_t>(ArgSafeUint(info, 5, "position")) : 0;

	ssize_t n;
	if (at)
		n = out ? pwrite(fd, p, length, position) : pread(fd, p, length, position);
	else
		n = out ? write(fd, p, length) : read(fd, p, length);
	return BytesOrThrow(env, n, call);
}

// vmsplice(buffer, offset, length, fd) -> bytes: the mapped range into the
// pipe `fd`, which takes references to the pages instead of copying them.
Napi::Value Vmsplice(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 4);
	Mapping *m = LiveMapping(info, "vmsplice");
	size_t length;
	char *p = RangeAddress(info, 1, m, &length);
	int fd = ArgInt32(info, 3, "fd");
	struct iovec iov = { p, length };

	return BytesOrThrow(env, vmsplice(fd, &iov, 1, 0), "vmsplice");
}

// splice(fdIn, fdOut, length) -> bytes, at each file's own position.
Napi::Value Splice(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 3);
	int in = ArgInt32(info, 0, "fdIn");
	int out = ArgInt32(info, 1, "fdOut");
	uint64_t length = ArgSafeUint(info, 2, "length");

	return BytesOrThrow(env, splice(in, nullptr, out, nullptr, static_cast<size_t>(length), 0),
			    "splice");
}

// remoteAccess(buffer, offset, length, how, write, seed, firstIndex) ->
// { bytes, mismatch, exitCode, signal }: a forked child reads the mapped
// range of this process (how 0: process_vm_readv, 1: pread of
// /proc/PID/mem, 2: ptrace(PEEKDATA) word by word), or writes the uapi
// pattern (word i = pattern(seed, firstIndex + i)) into it
// (process_vm_writev, pwrite, POKEDATA). What a read brought back is
// checked against the pattern: `mismatch` is the first word that differs
// { offset, expected, found }, or null. A refusal is thrown with the errno
// and the call that refused.
Napi::Value RemoteAccess(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 7);
	Mapping *m = LiveMapping(info, "remoteAccess");
	size_t length;
	char *remote = RangeAddress(info, 1, m, &length);
	uint32_t how = ArgUint32(info, 3, "how");
	if (!info[4].IsBoolean())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "write", "of type boolean");
	bool write_in = info[4].As<Napi::Boolean>().Value();
	uint32_t seed = ArgUint32(info, 5, "seed");
	uint32_t first = ArgUint32(info, 6, "firstIndex");

	if (how >= kRemoteHowCount)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "how",
			 "0 (process_vm), 1 (/proc/PID/mem) or 2 (ptrace)");
	if (length == 0 || length % sizeof(long) != 0)
		ThrowRange(env, "length", "a non-zero multiple of 8");

	size_t page = PageSize();
	// The child's side of the copy and its result, shared with this process.
	SharedArea shared(env, page + (length + page - 1) / page * page);
	RemoteResult *res = reinterpret_cast<RemoteResult *>(shared.Data());
	char *local = shared.Data() + page;
	uint32_t *words = reinterpret_cast<uint32_t *>(local);
	size_t nwords = length / 4;
	if (write_in) {
		for (size_t i = 0; i < nwords; i++)
			words[i] = mmaplab_pattern_word(seed, static_cast<uint32_t>(first + i));
	}
	pid_t self = getpid();
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", static_cast<int>(self));

	pid_t pid = ForkOrThrow(env);
	if (pid == 0) {
		if (how == kProcessVm)
			ByProcessVm(self, remote, local, length, write_in, res);
		else if (how == kProcMem)
			ByProcMem(path, remote, local, length, write_in, res);
		else
			ByPtrace(self, remote, local, length, write_in, res);
		_exit(0);
	}

	int status = WaitOrThrow(env, pid);
	RemoteResult r = *res;
	Napi::Object out = Napi::Object::New(env);
	out.Set("bytes", Napi::Number::New(env, static_cast<double>(r.bytes)));
	Napi::Value mismatch = env.Null();
	if (r.err == 0 && !write_in) {
		for (size_t i = 0; i < r.bytes / 4; i++) {
			uint32_t want =
				mmaplab_pattern_word(seed, static_cast<uint32_t>(first + i));
			if (words[i] != want) {
				Napi::Object mm = Napi::Object::New(env);
				mm.Set("offset",
				       Napi::Number::New(env, 4.0 * static_cast<double>(i)));
				mm.Set("expected", Napi::Number::New(env, want));
				mm.Set("found", Napi::Number::New(env, words[i]));
				mismatch = mm;
				break;
			}
		}
	}
	if (r.err != 0)
		ThrowErrno(env, r.err, kRemoteCalls[r.call]);
	out.Set("mismatch", mismatch);
	return ExitOf(env, status, out);
}

// futexHandoff(buffer, offset) -> { woken, waiter, exitCode, signal }: a
// process-shared futex on the word at `offset`, as a PTHREAD_PROCESS_SHARED
// mutex uses it. First FUTEX_WAKE from this process (its refusal is thrown:
// the kernel could not make a key for the word); then a forked child waits
// on the word (FUTEX_WAIT, 3 s) while this process keeps waking it for up to
// 2 s. `woken`: a wake found the child; `waiter`: how the child's wait ended
// ('woken', 'changed' for EAGAIN, 'timeout', or an errno name).
Napi::Value FutexHandoff(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	Mapping *m = LiveMapping(info, "futex");
	uint64_t offset = ArgSafeUint(info, 1, "offset");
	if (offset % 4 != 0 || offset + 4 > m->len)
		ThrowRange(env, "offset", "a multiple of 4 inside the mapping");
	volatile uint32_t *word =
		reinterpret_cast<volatile uint32_t *>(static_cast<char *>(m->addr) + offset);

	if (Futex(word, FUTEX_WAKE, 1, nullptr) < 0)
		ThrowErrno(env, errno, "futex(FUTEX_WAKE)");
	uint32_t value = *word;

	SharedArea shared(env, PageSize());
	volatile int32_t *waiter = reinterpret_cast<volatile int32_t *>(shared.Data());
	*waiter = -1;

	pid_t pid = ForkOrThrow(env);
	if (pid == 0) {
		struct timespec t = { 3, 0 };
		*waiter = Futex(word, FUTEX_WAIT, value, &t) == 0 ? 0 : errno;
		_exit(0);
	}

	bool woken = false, reaped = false;
	int wake_err = 0, status = 0;
	struct timespec tick = { 0, 1000000 };
	for (int i = 0; i < 2000 && !woken && !reaped; i++) {
		long n = Futex(word, FUTEX_WAKE, 1, nullptr);
		if (n < 0) {
			wake_err = errno;
			break;
		}
		woken = n > 0;
		// A child gone before any wake found it keeps its own status.
		reaped = !woken && waitpid(pid, &status, WNOHANG) == pid;
		if (!woken && !reaped)
			nanosleep(&tick, nullptr);
	}
	if (!reaped)
		status = WaitOrThrow(env, pid);
	if (wake_err != 0)
		ThrowErrno(env, wake_err, "futex(FUTEX_WAKE)");
	Napi::Object out = Napi::Object::New(env);
	out.Set("woken", Napi::Boolean::New(env, woken));
	out.Set("waiter", Napi::String::New(env, WaiterName(*waiter)));
	return ExitOf(env, status, out);
}

// futexWaitPrivate(buffer, offset) -> undefined: FUTEX_WAIT_PRIVATE on the
// word at `offset` with a value it does not hold, which the kernel answers
// EAGAIN after reading the word (a private futex needs no page lookup).
// Any other answer is thrown.
Napi::Value FutexWaitPrivate(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	Mapping *m = LiveMapping(info, "futex");
	uint64_t offset = ArgSafeUint(info, 1, "offset");
	if (offset % 4 != 0 || offset + 4 > m->len)
		ThrowRange(env, "offset", "a multiple of 4 inside the mapping");
	volatile uint32_t *word =
		reinterpret_cast<volatile uint32_t *>(static_cast<char *>(m->addr) + offset);
	struct timespec t = { 0, 0 };

	if (Futex(word, FUTEX_WAIT_PRIVATE, *word + 1, &t) == 0)
		ThrowErrno(env, EPROTO, "futex(FUTEX_WAIT_PRIVATE)");
	if (errno != EAGAIN)
		ThrowErrno(env, errno, "futex(FUTEX_WAIT_PRIVATE)");
	return env.Undefined();
}

// mlock(buffer, flags, offset?, length?) -> undefined: mlock2(2) of a range.
Napi::Value Mlock(const Napi::CallbackInfo &info)
{
	RangeCallArgs a = ArgRangeCall(info, "mlock2", "flags");

	if (mlock2(static_cast<char *>(a.m->addr) + a.range.offset, a.range.length,
		   static_cast<unsigned int>(a.value)) < 0)
		ThrowErrno(info.Env(), errno, "mlock2");
	return info.Env().Undefined();
}

// munlock(buffer, offset?, length?) -> undefined.
Napi::Value Munlock(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 1);
	Mapping *m = LiveMapping(info, "munlock");
	MappingRange r = ArgRange(info, 1, m);

	if (munlock(static_cast<char *>(m->addr) + r.offset, r.length) < 0)
		ThrowErrno(info.Env(), errno, "munlock");
	return info.Env().Undefined();
}

// childSmaps(mlockallFlags) -> string: /proc/self/smaps as a forked child
// sees it after mlockall(mlockallFlags) (0: without). mlockall locks every
// mapping of the process that calls it; in a runtime whose other threads
// give memory back with madvise (refused on locked memory) that call
// belongs in a child. Its refusal is thrown with its errno.
Napi::Value ChildSmaps(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	int flags = ArgInt32(info, 0, "mlockallFlags");

	size_t page = PageSize();
	const size_t cap = 16u << 20;
	SharedArea shared(env, page + cap);
	RemoteResult *res = reinterpret_cast<RemoteResult *>(shared.Data());
	char *text = shared.Data() + page;

	pid_t pid = ForkOrThrow(env);
	if (pid == 0) {
		if (flags != 0 && mlockall(flags) < 0) {
			res->err = errno;
			_exit(0);
		}
		int fd = open("/proc/self/smaps", O_RDONLY);
		if (fd < 0) {
			res->err = errno;
			res->call = 1;
			_exit(0);
		}
		ssize_t n;
		while (res->bytes < cap && (n = read(fd, text + res->bytes, cap - res->bytes)) > 0)
			res->bytes += static_cast<uint64_t>(n);
		_exit(0);
	}

	WaitOrThrow(env, pid);
	RemoteResult r = *res;
	if (r.err != 0)
		ThrowErrno(env, r.err, r.call == 0 ? "mlockall" : "open");
	if (r.bytes >= cap)
		ThrowErrno(env, EFBIG, "read");
	return Napi::String::New(env, text, static_cast<size_t>(r.bytes));
}

// forkHold(buffer) -> { pid, fd }: a forked child that holds the mapping
// (inherited) and waits for forkRelease(). Meanwhile this process may drop
// its own mapping, so the child's outlives it. A child whose parent goes
// away first reads end-of-file and exits 2.
Napi::Value ForkHold(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	Mapping *m = LiveMapping(info, "fork");
	uint32_t *words = static_cast<uint32_t *>(m->addr);
	size_t nwords = m->len / 4;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		ThrowErrno(env, errno, "pipe2");
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		ThrowErrno(env, err, "fork");
	}
	if (pid == 0) {
		uint32_t order[2];
		close(p[1]);
		if (read(p[0], order, sizeof(order)) != static_cast<ssize_t>(sizeof(order)))
			_exit(2);
		for (size_t i = 0; i < nwords; i++)
			words[i] =
				mmaplab_pattern_word(order[0], static_cast<uint32_t>(order[1] + i));
		for (size_t i = 0; i < nwords; i++) {
			if (words[i] !=
			    mmaplab_pattern_word(order[0], static_cast<uint32_t>(order[1] + i)))
				_exit(1);
		}
		_exit(0);
	}
	close(p[0]);
	Napi::Object r = Napi::Object::New(env);
	r.Set("pid", Napi::Number::New(env, pid));
	r.Set("fd", Napi::Number::New(env, p[1]));
	return r;
}

// forkRelease(pid, fd, seed, firstIndex) -> { exitCode, signal }: tells a
// forkHold() child to write the pattern over the mapping it holds, check
// it (exit 1: it read back something else) and exit; waits for it.
Napi::Value ForkRelease(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 4);
	pid_t pid = ArgInt32(info, 0, "pid");
	int fd = ArgInt32(info, 1, "fd");
	uint32_t order[2] = { ArgUint32(info, 2, "seed"), ArgUint32(info, 3, "firstIndex") };

	ssize_t n = write(fd, order, sizeof(order));
	int err = n < 0 ? errno : 0;
	close(fd);
	int status = WaitOrThrow(env, pid);
	if (err != 0)
		ThrowErrno(env, err, "write");
	return ExitOf(env, status, Napi::Object::New(env));
}

// pressureChild(buffer, procsPath, filePath, passes, seed, firstIndex) ->
// { exitCode, signal }: a forked child joins the cgroup whose cgroup.procs
// is `procsPath`, reads every page of the mapping it inherited, reads
// `filePath` through `passes` times (page cache charged to that cgroup, so
// a low memory.max makes the kernel reclaim while the mapping is held),
// then checks that the mapping still holds the uapi pattern (exit 1 if
// not; 3: it could not join the cgroup; 4: it could not read the file).
Napi::Value PressureChild(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 6);
	Mapping *m = LiveMapping(info, "fork");
	if (!info[1].IsString() || !info[2].IsString())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "procsPath, filePath", "of type string");
	std::string procs = info[1].As<Napi::String>().Utf8Value();
	std::string file = info[2].As<Napi::String>().Utf8Value();
	uint32_t passes = ArgUint32(info, 3, "passes");
	uint32_t seed = ArgUint32(info, 4, "seed");
	uint32_t first = ArgUint32(info, 5, "firstIndex");
	volatile uint32_t *words = static_cast<volatile uint32_t *>(m->addr);
	size_t nwords = m->len / 4, per_page = PageSize() / 4;

	pid_t pid = ForkOrThrow(env);
	if (pid == 0) {
		int fd = open(procs.c_str(), O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(3);
		close(fd);
		for (size_t i = 0; i < nwords; i += per_page)
			(void)words[i];
		static char chunk[64 * 1024];
		for (uint32_t pass = 0; pass < passes; pass++) {
			fd = open(file.c_str(), O_RDONLY);
			if (fd < 0)
				_exit(4);
			while (read(fd, chunk, sizeof(chunk)) > 0)
				;
			close(fd);
		}
		for (size_t i = 0; i < nwords; i++) {
			if (words[i] !=
			    mmaplab_pattern_word(seed, static_cast<uint32_t>(first + i)))
				_exit(1);
		}
		_exit(0);
	}
	return ExitOf(env, WaitOrThrow(env, pid), Napi::Object::New(env));
}

} // namespace mmaplab
