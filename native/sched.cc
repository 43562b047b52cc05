// SPDX-License-Identifier: GPL-2.0-only
//
// setAffinity: sched_setaffinity(2) of one process to one CPU or a set. The
// cell runner pins its probe to the CPU whose per-CPU page lists it drains,
// once per cell (taking that CPU offline breaks the affinity); a system call
// here instead of a `taskset` process saves a fork and an exec every cell.
// getAffinity: sched_getaffinity(2), so a caller that moves itself from CPU
// to CPU can put its set back.
#include "addon.h"

#include <cerrno>
#include <cmath>
#include <sched.h>
#include <sys/types.h>

namespace mmaplab {

static void AddCpu(const Napi::Env &env, cpu_set_t *set, const Napi::Value &v)
{
	if (!v.IsNumber())
		ThrowArg(env, "ERR_INVALID_ARG_TYPE", "cpu", "a CPU number or an array of them");
	double d = v.As<Napi::Number>().DoubleValue();
	// Checked before any cast: NaN, negative and fractional values are not CPUs.
	if (std::isnan(d) || d < 0 || std::floor(d) != d)
		ThrowArg(env, "ERR_INVALID_ARG_VALUE", "cpu", "a non-negative integer");
	if (d >= CPU_SETSIZE)
		ThrowRange(env, "cpu", "< " + std::to_string(CPU_SETSIZE));
	CPU_SET(static_cast<unsigned>(d), set);
}

// Argument 0 as a pid: a process id, or 0 for the caller.
static pid_t ArgPid(const Napi::CallbackInfo &info)
{
	int32_t pid = ArgInt32(info, 0, "pid");

	if (pid < 0)
		ThrowArg(info.Env(), "ERR_INVALID_ARG_VALUE", "pid",
			 "a process id, or 0 for the caller");
	return static_cast<pid_t>(pid);
}

// setAffinity(pid: number, cpu: number | number[]): pins `pid` (0: the caller)
// to `cpu`, or to the CPUs of a non-empty array.
Napi::Value SetAffinity(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 2);
	pid_t pid = ArgPid(info);
	cpu_set_t set;
	CPU_ZERO(&set);
	if (info[1].IsArray()) {
		Napi::Array cpus = info[1].As<Napi::Array>();
		if (cpus.Length() == 0)
			ThrowArg(info.Env(), "ERR_INVALID_ARG_VALUE", "cpu", "at least one CPU");
		for (uint32_t i = 0; i < cpus.Length(); i++)
			AddCpu(info.Env(), &set, cpus.Get(i));
	} else {
		AddCpu(info.Env(), &set, info[1]);
	}
	if (sched_setaffinity(pid, sizeof(set), &set) < 0)
		ThrowErrno(info.Env(), errno, "sched_setaffinity");
	return info.Env().Undefined();
}

// getAffinity(pid: number): the CPUs `pid` (0: the caller) may run on, ascending.
Napi::Value GetAffinity(const Napi::CallbackInfo &info)
{
	CheckArgCount(info, 1);
	pid_t pid = ArgPid(info);
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(pid, sizeof(set), &set) < 0)
		ThrowErrno(info.Env(), errno, "sched_getaffinity");
	Napi::Array cpus = Napi::Array::New(info.Env());
	uint32_t n = 0;
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus.Set(n++, Napi::Number::New(info.Env(), cpu));
	return cpus;
}

} // namespace mmaplab
