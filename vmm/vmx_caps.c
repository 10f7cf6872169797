// SPDX-License-Identifier: MIT
/*
 * VMX capability checks and control computation (SDM Vol. 3C 24.7,
 * Vol. 3D Appendix A).  Pure apart from vmx_read_msrs(), which lives in
 * vmx_read.c so this file also builds for host unit tests.
 */
#include <pksvisor/format.h>
#include "vmx.h"
#include "vmx_caps.h"

u32 vmx_adjust_control(u64 cap, u32 desired, u32 required, u32 *missing)
{
	u32 must_be_one = (u32)cap;
	u32 may_be_one = (u32)(cap >> 32);
	u32 value = (desired | required | must_be_one) & may_be_one;

	if (missing)
		*missing = required & ~may_be_one;
	return value;
}

static int fail(char *err, size_t errlen, const char *why)
{
	pksv_snprintf(err, errlen, "%s", why);
	return -1;
}

int vmx_compute_setup(const struct vmx_msrs *m, const struct vmx_wants *w,
		      struct vmx_setup *s, bool *fc_lock_needed,
		      char *err, size_t errlen)
{
	bool true_ctls = m->basic & VMX_BASIC_TRUE_CTLS;
	u64 pin_cap = true_ctls ? m->true_pinbased : m->pinbased;
	u64 proc_cap = true_ctls ? m->true_procbased : m->procbased;
	u64 exit_cap = true_ctls ? m->true_exit : m->exit;
	u64 entry_cap = true_ctls ? m->true_entry : m->entry;
	u32 missing, want;

	pksv_memset(s, 0, sizeof(*s));
	*fc_lock_needed = false;

	if (!m->cpuid_vmx)
		return fail(err, errlen, "CPU does not support VMX (CPUID.1:ECX[5] clear)");

	/* SDM 24.7: VMXON outside SMX needs IA32_FEATURE_CONTROL bit 2 with the lock set. */
	if (m->feature_control & FEATURE_CONTROL_LOCK) {
		if (!(m->feature_control & FEATURE_CONTROL_VMX))
			return fail(err, errlen,
				    "VMX disabled by firmware (IA32_FEATURE_CONTROL locked with bit 2 clear)");
	} else {
		*fc_lock_needed = true;
	}

	s->vmcs_revision = (u32)m->basic & 0x7fffffff;
	s->vmcs_size = (u32)(m->basic >> 32) & 0x1fff;
	if (s->vmcs_size == 0 || s->vmcs_size > PAGE_SIZE)
		return fail(err, errlen, "unsupported VMCS size in IA32_VMX_BASIC");
	/* Bits 53:50 memory type for VMCS accesses: pksvisor needs WB (6). */
	if (((m->basic >> 50) & 0xf) != 6)
		return fail(err, errlen, "VMCS memory type is not write-back");

	/* Primary: MSR and I/O bitmaps, secondary controls. */
	want = PROC_USE_MSR_BITMAPS | PROC_USE_IO_BITMAPS | PROC_SECONDARY;
	s->proc = vmx_adjust_control(proc_cap, 0, want, &missing);
	if (missing)
		return fail(err, errlen, "VMX lacks MSR/I/O bitmaps or secondary controls");
	/* CR3 exiting must be clearable: with EPT pksvisor does not need it. */
	if (s->proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING))
		return fail(err, errlen, "VMX cannot disable CR3-load exiting (no true controls)");

	s->has_mtf = (proc_cap >> 32) & PROC_MTF;

	/* Secondary: EPT is mandatory, the rest where the CPU offers it. */
	want = PROC2_VPID | PROC2_UNRESTRICTED;
	if (m->cpuid_rdtscp)
		want |= PROC2_RDTSCP;
	if (m->cpuid_invpcid)
		want |= PROC2_INVPCID;
	if (m->cpuid_xsaves)
		want |= PROC2_XSAVES;
	if (m->cpuid_waitpkg)
		want |= PROC2_USER_WAIT_PAUSE;
	if (w->vmfunc_eptp)
		want |= PROC2_VMFUNC;
	s->proc2 = vmx_adjust_control(m->procbased2, want, PROC2_EPT, &missing);
	if (missing)
		return fail(err, errlen, "VMX lacks EPT (secondary control bit 1)");
	/*
	 * A guest that uses RDTSCP/INVPCID/XSAVES would get #UD if the CPU
	 * reports the instruction but VMX cannot enable it for the guest.
	 */
	if ((want & ~s->proc2) & (PROC2_RDTSCP | PROC2_INVPCID | PROC2_XSAVES))
		return fail(err, errlen,
			    "VMX cannot enable RDTSCP/INVPCID/XSAVES that the CPU reports");
	if (!(m->ept_vpid_cap & EPT_CAP_WALK4) || !(m->ept_vpid_cap & EPT_CAP_WB))
		return fail(err, errlen, "EPT lacks 4-level walks or write-back paging structures");
	if (!(m->ept_vpid_cap & EPT_CAP_INVEPT) ||
	    !(m->ept_vpid_cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
		return fail(err, errlen, "EPT lacks INVEPT");

	s->has_unrestricted = s->proc2 & PROC2_UNRESTRICTED;
	s->has_vpid = (s->proc2 & PROC2_VPID) &&
		      (m->ept_vpid_cap & VPID_CAP_INVVPID) &&
		      (m->ept_vpid_cap & (VPID_CAP_SINGLE | VPID_CAP_ALL));
	if (!s->has_vpid)
		s->proc2 &= ~PROC2_VPID;
	s->has_invvpid_single = m->ept_vpid_cap & VPID_CAP_SINGLE;
	s->has_invept_single = m->ept_vpid_cap & EPT_CAP_INVEPT_SINGLE;
	s->has_ept_1g = m->ept_vpid_cap & EPT_CAP_1G;
	s->has_ept_ad = m->ept_vpid_cap & EPT_CAP_AD;
	/* VMFUNC leaf 0 (EPTP switching) is bit 0 of IA32_VMX_VMFUNC. */
	s->has_vmfunc_eptp = (s->proc2 & PROC2_VMFUNC) && (m->vmfunc & 1);
	if (!s->has_vmfunc_eptp)
		s->proc2 &= ~PROC2_VMFUNC;
	s->has_wait_sipi = m->misc & VMX_MISC_ACT_WAIT_SIPI;

	/*
	 * Pin-based: NMI exiting with virtual NMIs (every NMI exits; pksvisor
	 * reflects it into the guest, tracks the guest's NMI blocking in the
	 * VMCS and injects at the NMI window: docs/vm-exits.md "The life of
	 * an NMI"); the preemption timer when asked.
	 */
	want = PIN_NMI_EXITING | PIN_VIRTUAL_NMIS;
	if (w->preemption_timer)
		want |= PIN_PREEMPTION_TIMER;
	s->pin = vmx_adjust_control(pin_cap, want, 0, NULL);
	if (s->pin & PIN_EXT_INTR_EXITING)
		return fail(err, errlen, "VMX cannot run without interrupt exiting");
	/*
	 * NMI-window exiting needs virtual NMIs, virtual NMIs need NMI
	 * exiting (SDM 26.2.1.1).  Without all three the documented fallback
	 * is neither: NMIs go straight to the guest, an NMI that hits VMX root
	 * is injected at a later entry that the guest's blocking allows.
	 */
	s->has_virtual_nmis = (s->pin & PIN_NMI_EXITING) && (s->pin & PIN_VIRTUAL_NMIS) &&
			      ((proc_cap >> 32) & PROC_NMI_WINDOW_EXITING);
	if (!s->has_virtual_nmis) {
		if ((u32)pin_cap & PIN_NMI_EXITING)
			return fail(err, errlen,
				    "VMX forces NMI exiting but offers no virtual NMIs");
		s->pin &= ~(PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
	}
	s->has_intr_window = (proc_cap >> 32) & PROC_INTR_WINDOW_EXITING;

	want = EXIT_SAVE_DEBUG | EXIT_SAVE_PAT | EXIT_LOAD_PAT;
	if (w->preemption_timer)
		want |= EXIT_SAVE_PREEMPT;
	if (w->pks_hw)
		want |= EXIT_LOAD_PKRS;
	s->exit = vmx_adjust_control(exit_cap, want,
				     EXIT_HOST_ADDR_SPACE | EXIT_SAVE_EFER | EXIT_LOAD_EFER,
				     &missing);
	if (missing)
		return fail(err, errlen, "VMX cannot save/load EFER or return to 64-bit host");
	/* Interrupts stay pending in the guest's APIC; never acknowledge on exit. */
	s->exit &= ~EXIT_ACK_INTR;

	want = ENTRY_LOAD_DEBUG | ENTRY_LOAD_PAT;
	if (w->pks_hw)
		want |= ENTRY_LOAD_PKRS;
	/* The firmware context pksvisor launches is a 64-bit one. */
	s->entry = vmx_adjust_control(entry_cap, want, ENTRY_LOAD_EFER | ENTRY_IA32E_GUEST,
				      &missing);
	if (missing)
		return fail(err, errlen, "VMX cannot enter a 64-bit guest loading its EFER");

	s->has_preemption_timer = (s->pin & PIN_PREEMPTION_TIMER) &&
				  (s->exit & EXIT_SAVE_PREEMPT);
	if (!s->has_preemption_timer) {
		s->pin &= ~PIN_PREEMPTION_TIMER;
		s->exit &= ~EXIT_SAVE_PREEMPT;
	}
	/* SDM 25.7.1 / 25.8.1: PKRS load controls come as a pair. */
	s->has_pks_controls = m->cpuid_pks && (s->exit & EXIT_LOAD_PKRS) &&
			      (s->entry & ENTRY_LOAD_PKRS);
	if (!s->has_pks_controls) {
		s->exit &= ~EXIT_LOAD_PKRS;
		s->entry &= ~ENTRY_LOAD_PKRS;
	}

	/*
	 * Guest/host masks: every CR bit VMX fixes (SDM A.7, A.8) plus
	 * CR4.VMXE and CR4.SMXE (hidden from the guest: with SMXE set GETSEC
	 * would exit unconditionally, SDM 26.1.2) and CR4.PKS (virtualized).  With
	 * unrestricted guest, CR0.PE and CR0.PG are the guest's own
	 * (SDM 26.3.1.1).
	 */
	s->cr0_mask = (m->cr0_fixed0 | ~m->cr0_fixed1) & 0xffffffffull;
	if (s->has_unrestricted)
		s->cr0_mask &= ~(CR0_PE | CR0_PG);
	s->cr4_mask = ((m->cr4_fixed0 | ~m->cr4_fixed1) & 0xffffffffull) |
		      CR4_VMXE | CR4_SMXE | CR4_PKS;
	return 0;
}

/*
 * APs are started with INIT-SIPI, which pksvisor emulates (vmm/exit_misc.c):
 * unrestricted guest (the AP starts in real mode) and the wait-for-SIPI
 * activity state.  And the shootdown (vmm/shootdown.c) makes a vCPU exit
 * with an NMI it must tell from the guest's: without virtual NMIs NMI
 * exiting is off (vmx_compute_setup()), so the NMI would go straight
 * through the guest's IDT as an unexplained NMI, never claimed, and a
 * sender would wait for the target's next exit of another kind, for as
 * long as a CPL3 loop on it takes none (review2 finding 5).
 */
const char *vmx_smp_missing(const struct vmx_setup *s)
{
	if (!s->has_unrestricted || !s->has_wait_sipi)
		return "no unrestricted guest or no wait-for-SIPI activity state (IA32_VMX_MISC[8]): INIT-SIPI cannot be emulated";
	if (!s->has_virtual_nmis)
		return "no virtual NMIs (NMI exiting, virtual NMIs, NMI-window exiting): a shootdown NMI could not be told from the guest's";
	return NULL;
}

u32 vmx_invvpid_type(u64 ept_vpid_cap, bool keep_globals)
{
	/*
	 * SDM Vol. 3D A.10: bit 32 INVVPID, 40 individual-address, 41
	 * single-context, 42 all-context, 43 single-context-retaining-globals.
	 * Returns ~0u when no type can flush a whole VPID.
	 */
	if (!(ept_vpid_cap & VPID_CAP_INVVPID))
		return ~0u;
	if (keep_globals && (ept_vpid_cap & VPID_CAP_SINGLE_KEEP_GLOBALS))
		return INVVPID_SINGLE_KEEP_GLOBALS;
	if (ept_vpid_cap & VPID_CAP_SINGLE)
		return INVVPID_SINGLE_CONTEXT;
	if (ept_vpid_cap & VPID_CAP_ALL)
		return INVVPID_ALL_CONTEXT;
	return ~0u;
}

/* SDM Vol. 3C 31.4, Table 31-1 "VM-Instruction Error Numbers". */
static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "Invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_str(u64 error)
{
	if (error < ARRAY_SIZE(insn_errors) && insn_errors[error])
		return insn_errors[error];
	return "unknown VM-instruction error";
}

int vmx_field_desc(char *buf, size_t size, u64 field)
{
	/* SDM Vol. 3D B: bits 14:13 width, 11:10 type, bit 0 high half. */
	static const char *const width[] = { "16-bit", "64-bit", "32-bit", "natural-width" };
	static const char *const type[] = { "control", "read-only data", "guest-state", "host-state" };

	if (field >> 32 || (field & BIT(12)) || (field & BIT(15)))
		return pksv_snprintf(buf, size, "invalid field encoding 0x%llx",
				     (unsigned long long)field);
	return pksv_snprintf(buf, size, "%s %s field 0x%04llx%s",
			     width[(field >> 13) & 3], type[(field >> 10) & 3],
			     (unsigned long long)field,
			     ((field >> 13) & 3) == 1 && (field & 1) ? " (high 32 bits)" : "");
}

int vmx_insn_failure_msg(char *buf, size_t size, enum vmx_insn insn, u64 operand,
			 u64 value, bool fail_invalid, u64 error, const char *file, int line)
{
	static const char *const names[] = { "VMREAD", "VMWRITE", "INVEPT", "INVVPID" };
	char what[128], why[96];

	switch (insn) {
	case VMX_INSN_VMREAD:
		vmx_field_desc(what, sizeof(what), operand);
		break;
	case VMX_INSN_VMWRITE:
		vmx_field_desc(why, sizeof(why), operand);
		pksv_snprintf(what, sizeof(what), "%s value 0x%llx", why,
			      (unsigned long long)value);
		break;
	case VMX_INSN_INVEPT:
		pksv_snprintf(what, sizeof(what), "type %llu eptp 0x%llx",
			      (unsigned long long)operand, (unsigned long long)value);
		break;
	default:
		pksv_snprintf(what, sizeof(what), "type %llu vpid %llu",
			      (unsigned long long)operand, (unsigned long long)value);
		break;
	}
	if (fail_invalid)
		pksv_snprintf(why, sizeof(why), "VMfailInvalid (no current VMCS)");
	else
		pksv_snprintf(why, sizeof(why), "VM-instruction error %llu (%s)",
			      (unsigned long long)error, vmx_insn_error_str(error));
	return pksv_snprintf(buf, size, "%s of %s failed at %s:%d: %s",
			     names[insn <= VMX_INSN_INVVPID ? insn : VMX_INSN_INVVPID],
			     what, file, line, why);
}
