// SPDX-License-Identifier: GPL-2.0-only
//
// setAffinity: sched_setaffinity(2) of one process to one CPU. The cell
// runner pins its probe to the CPU whose per-CPU page lists it drains, once
// per cell (taking that CPU offline breaks the affinity); a system call here
// instead of a `taskset` process saves a fork and an exec every cell.
#include "addon.h"

#include <cerrno>
#include <sched.h>
#include <sys/types.h>

namespace mmaplab {

// setAffinity(pid: number, cpu: number): pins `pid` (0: the caller) to `cpu`.
Napi::Value SetAffinity(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 2);
	int32_t pid = ArgInt32(info, 0, "pid");
	uint32_t cpu = ArgUint32(info, 1, "cpu");

	if (pid < 0)
		ThrowArg(info.Env(), "ERR_INVALID_ARG_VALUE", "pid", "a process id, or 0 for the caller");
	if (cpu >= CPU_SETSIZE)
		ThrowRange(info.Env(), "cpu", "< " + std::to_string(CPU_SETSIZE));
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(static_cast<pid_t>(pid), sizeof(set), &set) < 0)
		ThrowErrno(info.Env(), errno, "sched_setaffinity");
	return info.Env().Undefined();
}

} // namespace mmaplab
