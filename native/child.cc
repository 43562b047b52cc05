// SPDX-License-Identifier: GPL-2.0-only
//
// Fork, wait and report helpers shared by the exports that need a second
// process (see child.h).
#include "child.h"

#include <cerrno>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mmaplab {

SharedArea::SharedArea(Napi::Env env, size_t len) : addr_(nullptr), len_(len)
{
	void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ThrowErrno(env, errno, "mmap");
	addr_ = p;
}

SharedArea::~SharedArea()
{
	munmap(addr_, len_);
}

pid_t ForkOrThrow(Napi::Env env)
{
	pid_t pid = fork();
	if (pid < 0)
		ThrowErrno(env, errno, "fork");
	return pid;
}

int WaitChild(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

int WaitOrThrow(Napi::Env env, pid_t pid)
{
	int status;
	int err = WaitChild(pid, &status);
	if (err != 0)
		ThrowErrno(env, err, "waitpid");
	return status;
}

Napi::Object ExitOf(Napi::Env env, int status, Napi::Object r)
{
	r.Set("exitCode",
	      WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
	r.Set("signal",
	      WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
	return r;
}

} // namespace mmaplab
