// SPDX-License-Identifier: MIT
/*
 * PKSV_HC_GET_STATS (ABI 1.1): the calling vCPU's whole counter block for
 * the guest's /sys/kernel/debug/pksvisor/vcpuN/stats (docs/statistics.md).
 *
 * The block is handed over as the machine line pksvisor prints on serial,
 * without its "pksvisor: stats " prefix, formatted by vmm/stats.c: one
 * formatter for the serial line and the guest's file, so that a counter
 * added to pksvisor appears in both and the guest needs no table of
 * names.  One call is one consistent snapshot: nothing else runs on this
 * vCPU while it formats, and its counters are only written by itself.
 * The guest buffer is validated by pks_guest_buffer_write() (a hypervisor
 * write bypasses EPT views and PKS, so keyed pages are refused).
 */
#include <pksvisor/stats.h>
#include "exit.h"
#include "../pks/pks_vmm.h"
#include "hypercall.h"

struct stats_fill {
	struct vcpu *vcpu;
	const char *backend;
	u64 written;
};

/*
 * The length was measured just before; pksvisor's NMI handler may bump
 * nmi_root in between and lengthen the line by a digit, so RBX reports
 * what this write stored (NUL excluded), never more.
 */
static void fill_line(void *dst, u64 len, void *p)
{
	struct stats_fill *f = p;
	u64 n = (u64)stats_format_body(dst, len, f->vcpu->id, f->backend,
				       &f->vcpu->stats);

	f->written = n < len ? n : (len ? len - 1 : 0);
}

s64 hc_get_stats(struct vcpu *vcpu, struct hc_args *a)
{
	struct stats_fill f = { vcpu, pks_backend_str(vcpu->hv), 0 };
	u64 need;
	s64 ret;

	/*
	 * The hypercall counter of this call was bumped before the handler
	 * ran, like PRINT_STATS' own: the line counts the call that read it.
	 */
	vcpu->stats.unprotected_pages = vcpu->hv->pks.unprotect.count;
	need = (u64)stats_format_body(NULL, 0, vcpu->id, f.backend, &vcpu->stats) + 1;
	ret = pks_guest_buffer_write(vcpu->hv, a->in[0], a->in[1], need, fill_line, &f);
	if (ret)
		return ret;
	a->out[0] = f.written;
	return 0;
}
