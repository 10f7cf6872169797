/* SPDX-License-Identifier: MIT */
/*
 * VMX capability discovery and VMCS control computation.  The computation
 * is pure (recorded MSR values in, controls out) so that host unit tests can
 * feed it the capability MSRs of real CPUs (tests/unit/test_vmx_caps.c).
 */
#ifndef PKSVISOR_VMX_CAPS_H
#define PKSVISOR_VMX_CAPS_H

#include <pksvisor/types.h>

/* The checked VMX instructions of vmm/vmx.h, for the error path. */
enum vmx_insn { VMX_INSN_VMREAD, VMX_INSN_VMWRITE, VMX_INSN_INVEPT, VMX_INSN_INVVPID };

/* Everything read from the CPU that decides how pksvisor runs. */
struct vmx_msrs {
	bool cpuid_vmx;			/* CPUID.1:ECX[5] */
	bool cpuid_pks;			/* CPUID.(7,0):ECX[31] */
	bool cpuid_rdtscp;		/* CPUID.80000001h:EDX[27] */
	bool cpuid_invpcid;		/* CPUID.(7,0):EBX[10] */
	bool cpuid_xsaves;		/* CPUID.(0Dh,1):EAX[3] */
	bool cpuid_waitpkg;		/* CPUID.(7,0):ECX[5] */
	u64 feature_control;
	u64 basic;
	u64 pinbased, procbased, exit, entry;	/* non-true variants */
	u64 true_pinbased, true_procbased, true_exit, true_entry;
	u64 procbased2;
	u64 ept_vpid_cap;
	u64 misc;
	u64 vmfunc;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* What pksvisor asks for beyond the minimum. */
struct vmx_wants {
	bool preemption_timer;		/* periodic statistics */
	bool pks_hw;			/* load/save IA32_PKRS controls */
	bool vmfunc_eptp;		/* EPTP switching for PKS views */
};

/* The result: controls to write and the features they imply. */
struct vmx_setup {
	u32 pin, proc, proc2, exit, entry;
	bool has_vpid;
	bool has_unrestricted;
	bool has_ept_1g;
	bool has_ept_ad;
	bool has_invept_single;
	bool has_invvpid_single;
	bool has_preemption_timer;
	bool has_pks_controls;		/* entry bit 22 and exit bit 29 */
	bool has_vmfunc_eptp;
	bool has_wait_sipi;
	bool has_mtf;			/* monitor trap flag may be set */
	bool has_virtual_nmis;		/* NMI exiting + virtual NMIs + NMI window */
	bool has_intr_window;		/* interrupt-window exiting may be set */
	u32 vmcs_revision;
	u32 vmcs_size;
	u64 cr0_mask;			/* guest/host mask: bits the guest may not own */
	u64 cr4_mask;
};

/*
 * Adjust the desired bits of one control to what the capability MSR allows
 * (SDM Vol. 3D A.3-A.5: bits 31:0 = allowed 0-settings, i.e. must be 1;
 * bits 63:32 = allowed 1-settings).  Returns the control value; bits of
 * 'required' that cannot be set are reported in *missing.
 */
u32 vmx_adjust_control(u64 cap, u32 desired, u32 required, u32 *missing);

/*
 * Check that VMX is usable and compute the controls.  Returns 0, or -1 with
 * a one-line reason in err (CPU lacks VMX, disabled and locked by firmware,
 * no EPT, ...).  Unrestricted guest is optional: without it CR0.PE/PG stay
 * in the guest/host mask and INIT/SIPI cannot be emulated (has_unrestricted).  feature_control_lock_needed is set
 * when IA32_FEATURE_CONTROL is unlocked and pksvisor must enable and lock it.
 */
int vmx_compute_setup(const struct vmx_msrs *msrs, const struct vmx_wants *wants,
		      struct vmx_setup *out, bool *feature_control_lock_needed,
		      char *err, size_t errlen);

/*
 * Why this setup cannot run several CPUs (NULL: it can).  boot/efi_main.c
 * then virtualizes none (every CPU or none, boot/mp.c).
 */
const char *vmx_smp_missing(const struct vmx_setup *s);

/* vmx_invept_type(): inline in vmx.h (every EPT flush asks). */
/*
 * INVVPID type that flushes one VPID: single-context-retaining-globals when
 * keep_globals and offered, else single-context, else all-context; ~0u if
 * none is offered (VPID must then stay off).
 */
u32 vmx_invvpid_type(u64 ept_vpid_cap, bool keep_globals);
/* Text of a VM-instruction error number (SDM Vol. 3C 31.4, Table 31-1). */
const char *vmx_insn_error_str(u64 error);
/* "32-bit guest-state field 0x4824": width and type from the encoding. */
int vmx_field_desc(char *buf, size_t size, u64 field);

/*
 * The one line the VMX error path prints (vmm/vmx_check.c): instruction,
 * field or operand, call site, VM-instruction error or VMfailInvalid.
 */
int vmx_insn_failure_msg(char *buf, size_t size, enum vmx_insn insn, u64 operand,
			 u64 value, bool fail_invalid, u64 error, const char *file, int line);

/* Read the MSRs and CPUID bits of the running CPU (VMX root not needed). */
void vmx_read_msrs(struct vmx_msrs *msrs);

#endif
