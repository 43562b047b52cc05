// SPDX-License-Identifier: GPL-2.0-only
//
// Uses of a mapping that need more than one system call of plumbing:
// io_uring (a one-entry ring, raw system calls, no liburing), userfaultfd
// registration, and a core dump of a forked child holding the mapping.
#include "child.h"
#include "mapping.h"

#include <linux/io_uring.h>
#include <linux/userfaultfd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mmaplab {

namespace {

// A one-entry io_uring: the rings mapped, one SQE submitted and its CQE
// reaped at a time. Closed (unmapped) by its destructor.
class Ring {
public:
	Ring() = default;
	Ring(const Ring &) = delete;
	Ring &operator=(const Ring &) = delete;
	~Ring()
	{
		if (sqes_ != MAP_FAILED)
			munmap(sqes_, sqes_len_);
		if (cq_ptr_ != MAP_FAILED && cq_ptr_ != sq_ptr_)
			munmap(cq_ptr_, cq_len_);
		if (sq_ptr_ != MAP_FAILED)
			munmap(sq_ptr_, sq_len_);
		if (fd_ >= 0)
			close(fd_);
	}

	// 0, or the errno of the call that failed (and its name in *call).
	int Setup(const char **call)
	{
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		*call = "io_uring_setup";
		fd_ = static_cast<int>(syscall(__NR_io_uring_setup, 1, &p));
		if (fd_ < 0)
			return errno;
		sq_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
		cq_len_ = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
		bool single = p.features & IORING_FEAT_SINGLE_MMAP;
		if (single)
			sq_len_ = cq_len_ = sq_len_ > cq_len_ ? sq_len_ : cq_len_;
		*call = "mmap";
		sq_ptr_ = mmap(nullptr, sq_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			       fd_, IORING_OFF_SQ_RING);
		if (sq_ptr_ == MAP_FAILED)
			return errno;
		cq_ptr_ = single ? sq_ptr_
				 : mmap(nullptr, cq_len_, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_CQ_RING);
		if (cq_ptr_ == MAP_FAILED)
			return errno;
		sqes_len_ = p.sq_entries * sizeof(struct io_uring_sqe);
		sqes_ = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			     fd_, IORING_OFF_SQES);
		if (sqes_ == MAP_FAILED)
			return errno;
		char *sq = static_cast<char *>(sq_ptr_);
		char *cq = static_cast<char *>(cq_ptr_);
		sq_tail_ = reinterpret_cast<unsigned *>(sq + p.sq_off.tail);
		sq_mask_ = reinterpret_cast<unsigned *>(sq + p.sq_off.ring_mask);
		sq_array_ = reinterpret_cast<unsigned *>(sq + p.sq_off.array);
		cq_head_ = reinterpret_cast<unsigned *>(cq + p.cq_off.head);
		cq_tail_ = reinterpret_cast<unsigned *>(cq + p.cq_off.tail);
		cq_mask_ = reinterpret_cast<unsigned *>(cq + p.cq_off.ring_mask);
		cqes_ = reinterpret_cast<struct io_uring_cqe *>(cq + p.cq_off.cqes);
		return 0;
	}

	// IORING_REGISTER_BUFFERS of one buffer: 0 or the errno.
	int RegisterBuffer(void *addr, size_t len)
	{
		struct iovec iov = { addr, len };
		if (syscall(__NR_io_uring_register, fd_, IORING_REGISTER_BUFFERS, &iov, 1) < 0)
			return errno;
		return 0;
	}

	// io_uring_enter submitting `submit` entries and waiting for one
	// completion, EINTR retried: 0, or its errno.
	int Enter(unsigned submit)
	{
		while (syscall(__NR_io_uring_enter, fd_, submit, 1, IORING_ENTER_GETEVENTS, nullptr,
			       0) < 0) {
			if (errno != EINTR)
				return errno;
		}
		return 0;
	}

	// Submits `sqe`, waits for its completion: *res is the CQE's result.
	// Returns 0, or the errno of io_uring_enter.
	int Run(const struct io_uring_sqe &sqe, int32_t *res)
	{
		unsigned tail = __atomic_load_n(sq_tail_, __ATOMIC_RELAXED);
		unsigned idx = tail & *sq_mask_;
		static_cast<struct io_uring_sqe *>(sqes_)[idx] = sqe;
		sq_array_[idx] = idx;
		__atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
		int err = Enter(1);
		if (err != 0)
			return err;
		unsigned head = __atomic_load_n(cq_head_, __ATOMIC_RELAXED);
		while (head == __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE)) {
			err = Enter(0);
			if (err != 0)
				return err;
		}
		*res = cqes_[head & *cq_mask_].res;
		__atomic_store_n(cq_head_, head + 1, __ATOMIC_RELEASE);
		return 0;
	}

private:
	int fd_ = -1;
	void *sq_ptr_ = MAP_FAILED;
	void *cq_ptr_ = MAP_FAILED;
	void *sqes_ = MAP_FAILED;
	size_t sq_len_ = 0, cq_len_ = 0, sqes_len_ = 0;
	unsigned *sq_tail_ = nullptr, *sq_mask_ = nullptr, *sq_array_ = nullptr;
	unsigned *cq_head_ = nullptr, *cq_tail_ = nullptr, *cq_mask_ = nullptr;
	struct io_uring_cqe *cqes_ = nullptr;
};

} // namespace

// ioUring(buffer, offset, length, fd, write, fixed) -> bytes: one
// IORING_OP_READ (from `fd` into the mapped range) or IORING_OP_WRITE (the
// range to `fd`) through a new one-entry ring; with `fixed`, the range is
// first registered as the ring's buffer (IORING_REGISTER_BUFFERS) and the
// _FIXED opcode used. A refusal is thrown with its errno: of the setup, the
// registration, or the operation itself (a negative CQE result).
Napi::Value IoUring(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 6);
	Mapping *m = LiveMapping(info, "io_uring");
	uint64_t offset = ArgSafeUint(info, 1, "offset");
	uint64_t length = ArgSafeUint(info, 2, "length");
	if (offset > m->len || length > m->len - offset || length == 0 || length > 0xffffffffu)
		ThrowRange(env, "length", "such that offset + length lies inside the mapping");
	int fd = ArgInt32(info, 3, "fd");
	if (!info[4].IsBoolean() || !info[5].IsBoolean())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "write, fixed", "of type boolean");
	bool out = info[4].As<Napi::Boolean>().Value();
	bool fixed = info[5].As<Napi::Boolean>().Value();
	char *p = static_cast<char *>(m->addr) + offset;

	Ring ring;
	const char *call = nullptr;
	int err = ring.Setup(&call);
	if (err)
		ThrowErrno(env, err, call);
	if (fixed) {
		err = ring.RegisterBuffer(p, static_cast<size_t>(length));
		if (err)
			ThrowErrno(env, err, "io_uring_register(IORING_REGISTER_BUFFERS)");
	}
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = fixed ? (out ? IORING_OP_WRITE_FIXED : IORING_OP_READ_FIXED)
			   : (out ? IORING_OP_WRITE : IORING_OP_READ);
	sqe.fd = fd;
	sqe.addr = reinterpret_cast<uintptr_t>(p);
	sqe.len = static_cast<uint32_t>(length);
	sqe.off = static_cast<uint64_t>(-1); // the file's own position (a pipe has none)
	sqe.buf_index = 0;
	int32_t res = 0;
	err = ring.Run(sqe, &res);
	if (err)
		ThrowErrno(env, err, "io_uring_enter");
	const char *op =
		fixed ? (out ? "io_uring(IORING_OP_WRITE_FIXED)" : "io_uring(IORING_OP_READ_FIXED)")
		      : (out ? "io_uring(IORING_OP_WRITE)" : "io_uring(IORING_OP_READ)");
	if (res < 0)
		ThrowErrno(env, -res, op);
	return Napi::Number::New(env, res);
}

// uffdRegister(buffer, mode) -> undefined: a userfaultfd, UFFDIO_API, then
// UFFDIO_REGISTER of the whole mapping in `mode` (1 missing, 2 wp, 4
// minor), then UFFDIO_UNREGISTER. The API call asks for the feature the
// mode needs beyond anonymous memory (minor: UFFD_FEATURE_MINOR_SHMEM); a
// refusal is thrown with its errno and call.
Napi::Value UffdRegister(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 2);
	Mapping *m = LiveMapping(info, "userfaultfd");
	uint32_t mode = ArgUint32(info, 1, "mode");
	if (mode != UFFDIO_REGISTER_MODE_MISSING && mode != UFFDIO_REGISTER_MODE_WP &&
	    mode != UFFDIO_REGISTER_MODE_MINOR)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "mode", "1 (missing), 2 (wp) or 4 (minor)");

	int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
	if (fd < 0)
		ThrowErrno(env, errno, "userfaultfd");
	struct uffdio_api api;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	if (mode == UFFDIO_REGISTER_MODE_MINOR)
		api.features = UFFD_FEATURE_MINOR_SHMEM;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int err = errno;
		close(fd);
		ThrowErrno(env, err, "ioctl(UFFDIO_API)");
	}
	struct uffdio_register reg;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = reinterpret_cast<uintptr_t>(m->addr);
	reg.range.len = m->len;
	reg.mode = mode;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		int err = errno;
		close(fd);
		ThrowErrno(env, err, "ioctl(UFFDIO_REGISTER)");
	}
	struct uffdio_range range = reg.range;
	int err = ioctl(fd, UFFDIO_UNREGISTER, &range) < 0 ? errno : 0;
	close(fd);
	if (err)
		ThrowErrno(env, err, "ioctl(UFFDIO_UNREGISTER)");
	return env.Undefined();
}

// coreDumpChild(filter) -> { exitCode, signal, coreDumped, pid }: fork; the
// child writes `filter` to /proc/self/coredump_filter (unless it is
// negative), lifts RLIMIT_CORE, makes itself dumpable and dies of SIGQUIT,
// whose default action dumps core where kernel.core_pattern says. The
// child holds every mapping of this process (those not MADV_DONTFORK).
Napi::Value CoreDumpChild(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	CheckArgCount(info, 1);
	int32_t filter = ArgInt32(info, 0, "filter");
	char text[16];
	int n = filter < 0 ? 0
			   : snprintf(text, sizeof(text), "0x%x\n", static_cast<unsigned>(filter));

	pid_t pid = ForkOrThrow(env);
	if (pid == 0) {
		if (n > 0) {
			int fd = open("/proc/self/coredump_filter", O_WRONLY);
			if (fd < 0 || write(fd, text, static_cast<size_t>(n)) != n)
				_exit(3);
			close(fd);
		}
		struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
		if (setrlimit(RLIMIT_CORE, &unlimited) < 0)
			_exit(4);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGQUIT, &dfl, nullptr);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGQUIT);
		sigprocmask(SIG_UNBLOCK, &set, nullptr);
		kill(getpid(), SIGQUIT);
		_exit(5);
	}
	int status = WaitOrThrow(env, pid);
	Napi::Object r = ExitOf(env, status, Napi::Object::New(env));
	r.Set("pid", Napi::Number::New(env, pid));
	r.Set("coreDumped", Napi::Boolean::New(env, WIFSIGNALED(status) && WCOREDUMP(status)));
	return r;
}

} // namespace mmaplab
