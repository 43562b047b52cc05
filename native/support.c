// SPDX-License-Identifier: GPL-2.0-only
//
// kmod/mmaplab_support.h compiled as C, the module's own tables: see
// support.h. Nothing here restates them.
#include "support.h"

#include "../kmod/mmaplab_support.h"

#include <stddef.h>

const struct mmaplab_support_name mmaplab_support_values[] = {
	{ "UNSUPPORTED", MMAPLAB_UNSUPPORTED },
	{ "SUPPORTED", MMAPLAB_SUPPORTED },
	{ "HAZARD", MMAPLAB_HAZARD },
	{ NULL, 0 },
};

const struct mmaplab_support_name mmaplab_alloc_mark_bits[] = {
	{ "OWN_PAGES", MMAPLAB_MARK_OWN_PAGES },
	{ "COMPOUND", MMAPLAB_MARK_COMPOUND },
	{ "HAZARD", MMAPLAB_MARK_HAZARD },
	{ NULL, 0 },
};

unsigned int mmaplab_support_of(unsigned int method, unsigned int alloc)
{
	return mmaplab_support[method][alloc];
}

unsigned int mmaplab_alloc_marks_of(unsigned int alloc)
{
	return mmaplab_alloc_marks[alloc];
}
