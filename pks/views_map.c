// SPDX-License-Identifier: MIT
/*
 * Guest-physical space mapped after boot (vmm/exit_ept.c maps MMIO above
 * the boot-time EPT limit on first access): every soft-backend view is a
 * clone of the base EPT, so the same identity range goes into each valid
 * view too; views built later clone it from the base.
 */
#include "pks_internal.h"

int pks_views_map(struct hv *hv, u64 gpa)
{
	struct pks_global *pks = &hv->pks;
	u64 start, end;
	int ret = 0;

	if (pks->backend != PKS_BACKEND_SOFT)
		return 0;
	spin_lock(&pks->lock);
	for (unsigned int i = 1; i < PKS_MAX_VIEWS && !ret; i++)
		if (pks->views[i].valid)
			ret = ept_map_mmio_region(&pks->views[i].ept, gpa, &start, &end);
	spin_unlock(&pks->lock);
	return ret;
}
