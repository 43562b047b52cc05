// SPDX-License-Identifier: GPL-2.0-only
//
// The module's rules for CONFIGURE, kmod/mmaplab_support.h, as the addon
// exports them (constants.cc). That header writes its tables with array
// designators, which C has and C++ does not, so native/support.c compiles
// it and hands the tables over through these plain declarations.
#ifndef MMAPLAB_NATIVE_SUPPORT_H
#define MMAPLAB_NATIVE_SUPPORT_H

#ifdef __cplusplus
extern "C" {
#endif

// A constant of the header under its name without the MMAPLAB_ prefix.
struct mmaplab_support_name {
	const char *name;
	unsigned int value;
};

// MMAPLAB_UNSUPPORTED, _SUPPORTED and _HAZARD; ended by a NULL name.
extern const struct mmaplab_support_name mmaplab_support_values[];
// The MMAPLAB_MARK_* bits, named without MARK_; ended by a NULL name.
extern const struct mmaplab_support_name mmaplab_alloc_mark_bits[];

// mmaplab_support[method][alloc], for method < MMAPLAB_METHOD_COUNT and
// alloc < MMAPLAB_ALLOC_COUNT.
unsigned int mmaplab_support_of(unsigned int method, unsigned int alloc);
// mmaplab_alloc_marks[alloc], for alloc < MMAPLAB_ALLOC_COUNT.
unsigned int mmaplab_alloc_marks_of(unsigned int alloc);

#ifdef __cplusplus
}
#endif

#endif
