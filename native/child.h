// SPDX-License-Identifier: GPL-2.0-only
//
// What every export that forks needs: a shared page or area the child
// reports through, fork(2) and waitpid(2) with their failures thrown, and
// the child's end as { exitCode, signal }. A forked child of a threaded
// process may only make system calls and do arithmetic before _exit(), so
// the child's side stays in each export.
#ifndef MMAPLAB_NATIVE_CHILD_H
#define MMAPLAB_NATIVE_CHILD_H

#include "addon.h"

#include <cstddef>
#include <sys/types.h>

namespace mmaplab {

// Anonymous MAP_SHARED memory, zeroed, that a forked child writes and this
// process reads after the wait; unmapped however the export ends, a thrown
// error included.
class SharedArea {
public:
	SharedArea(Napi::Env env, size_t len);
	~SharedArea();
	SharedArea(const SharedArea &) = delete;
	SharedArea &operator=(const SharedArea &) = delete;

	char *Data() const
	{
		return static_cast<char *>(addr_);
	}

private:
	void *addr_;
	size_t len_;
};

// fork(2); its failure thrown.
pid_t ForkOrThrow(Napi::Env env);
// waitpid(2) for `pid`, EINTR retried, its status in *status; returns 0,
// or waitpid's errno.
int WaitChild(pid_t pid, int *status);
// The same, returning the status and throwing the failure.
int WaitOrThrow(Napi::Env env, pid_t pid);
// Sets exitCode and signal (each a number or null) of the wait status on `r`.
Napi::Object ExitOf(Napi::Env env, int status, Napi::Object r);

} // namespace mmaplab

#endif // MMAPLAB_NATIVE_CHILD_H
