// SPDX-License-Identifier: MIT
/*
 * VMCS setup (SDM Vol. 3C chapter 25 "Organization of VMCS", chapter 26
 * "VM Entries": the guest-state checks decide most of what is below).
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include "host.h"
#include <pksvisor/page_pool.h>
#include "vmcs.h"
#ifdef PKSV_TEST_HOOKS
#include "exit.h"
#endif
#include "guest_refuse.h"
#include "vmx.h"
#include "../pks/pks_vmm.h"

#define HOST_STACK_PAGES	8

extern char vmx_exit_stub[];

int vcpu_alloc(struct hv *hv, struct vcpu *vcpu, unsigned int id)
{
	u64 stack;

	pksv_memset(vcpu, 0, sizeof(*vcpu));
	vcpu->self = vcpu;
	vcpu->id = id;
	vcpu->hv = hv;
	vcpu->vmxon_pa = pool_alloc_page(&hv->pool);
	vcpu->vmcs_pa = pool_alloc_page(&hv->pool);
	vcpu->msr_bitmap_pa = pool_alloc_page(&hv->pool);
	vcpu->io_bitmap_a_pa = pool_alloc_page(&hv->pool);
	vcpu->io_bitmap_b_pa = pool_alloc_page(&hv->pool);
	stack = pool_alloc_pages(&hv->pool, HOST_STACK_PAGES);
	if (!vcpu->vmxon_pa || !vcpu->vmcs_pa || !vcpu->msr_bitmap_pa ||
	    !vcpu->io_bitmap_a_pa || !vcpu->io_bitmap_b_pa || !stack)
		return -1;
	/* The exit stub finds the vcpu at the host RSP it starts with. */
	vcpu->stack_top = stack + HOST_STACK_PAGES * PAGE_SIZE - 16;
	*(struct vcpu **)(uintptr_t)vcpu->stack_top = vcpu;
	return pks_vcpu_init(vcpu);
}

/*
 * SDM Vol. 3C 25.6.9: read-low at 0, read-high at 1024, write-low at 2048,
 * write-high at 3072; MSRs outside both ranges always exit.  Returns the
 * read-half byte and sets *bit, or NULL for such an MSR.
 */
static u8 *msr_bitmap_byte(struct vcpu *vcpu, u32 msr, u8 *bit)
{
	u8 *bm = (u8 *)(uintptr_t)vcpu->msr_bitmap_pa;
	u32 off, idx;

	if (msr <= 0x1fff) {
		off = 0;
		idx = msr;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		off = 1024;
		idx = msr - 0xc0000000;
	} else {
		return NULL;
	}
	*bit = 1u << (idx % 8);
	return &bm[off + idx / 8];
}

void msr_bitmap_intercept(struct vcpu *vcpu, u32 msr, bool read, bool write)
{
	u8 bit, *byte = msr_bitmap_byte(vcpu, msr, &bit);

	if (!byte)
		return;
	if (read)
		byte[0] |= bit;
	if (write)
		byte[2048] |= bit;
}

void msr_bitmap_set(struct vcpu *vcpu, u32 msr, bool read, bool write)
{
	u8 bit, *byte = msr_bitmap_byte(vcpu, msr, &bit);

	if (!byte)
		return;
	byte[0] = read ? byte[0] | bit : byte[0] & ~bit;
	byte[2048] = write ? byte[2048] | bit : byte[2048] & ~bit;
}

void io_bitmap_intercept(struct vcpu *vcpu, u16 port)
{
	u64 pa = port < 0x8000 ? vcpu->io_bitmap_a_pa : vcpu->io_bitmap_b_pa;
	u8 *bm = (u8 *)(uintptr_t)pa;
	u16 idx = port & 0x7fff;

	bm[idx / 8] |= 1u << (idx % 8);
}

int vmx_enable(struct vcpu *vcpu, char *err, size_t errlen)
{
	struct hv *hv = vcpu->hv;
	u64 cr0 = read_cr0(), cr4 = read_cr4();
	u8 ok;

	if (!(hv->msrs.feature_control & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL, hv->msrs.feature_control |
		      FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX);

	/* SDM 24.8: CR0/CR4 must honour the VMX fixed bits in VMX operation. */
	cr0 = (cr0 | hv->msrs.cr0_fixed0) & hv->msrs.cr0_fixed1;
	cr4 = (cr4 | hv->msrs.cr4_fixed0 | CR4_VMXE) & hv->msrs.cr4_fixed1;
	write_cr0(cr0);
	write_cr4(cr4);

	*(u32 *)(uintptr_t)vcpu->vmxon_pa = hv->vmx.vmcs_revision;
#ifdef PKSV_TEST_HOOKS
	test_hook_vmxon_region(vcpu);
#endif
	*(u32 *)(uintptr_t)vcpu->vmcs_pa = hv->vmx.vmcs_revision;
	asm volatile("vmxon %1; setna %0" : "=q"(ok) : "m"(vcpu->vmxon_pa) : "cc", "memory");
	if (ok) {
		pksv_snprintf(err, errlen, "VMXON failed (CR0 0x%llx CR4 0x%llx)", cr0, cr4);
		return VMX_ENABLE_NO_VMXON;
	}
	asm volatile("vmclear %1; setna %0" : "=q"(ok) : "m"(vcpu->vmcs_pa) : "cc", "memory");
	if (!ok)
		asm volatile("vmptrld %1; setna %0" : "=q"(ok) : "m"(vcpu->vmcs_pa) : "cc", "memory");
	if (ok) {
		u64 error = 0, field = VMCS_VM_INSTR_ERROR;

		/* VMfailValid leaves the reason in field 0x4400 (SDM 31.2). */
		asm volatile("vmread %1, %0" : "=rm"(error) : "r"(field) : "cc");
		pksv_snprintf(err, errlen, "VMCLEAR/VMPTRLD of 0x%llx failed: %s",
			      vcpu->vmcs_pa, vmx_insn_error_str(error));
		return VMX_ENABLE_IN_ROOT;
	}
	return 0;
}

struct dtr {
	u16 limit;
	u64 base;
} __attribute__((packed));

/* Guest segment from the live GDT (SDM 25.4.1: selector, base, limit, AR). */
static void guest_segment(u64 gdt_base, u16 sel, u64 f_sel, u64 f_base,
			  u64 f_limit, u64 f_ar, bool system)
{
	u64 desc, base, limit;
	u32 ar;

	vmwrite(f_sel, sel);
	if ((sel & ~3u) == 0) {
		vmwrite(f_base, 0);
		vmwrite(f_limit, 0);
		vmwrite(f_ar, BIT(16));		/* unusable */
		return;
	}
	desc = *(u64 *)(uintptr_t)(gdt_base + (sel & ~7u));
	base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24);
	if (system)
		base |= *(u64 *)(uintptr_t)(gdt_base + (sel & ~7u) + 8) << 32;
	limit = (desc & 0xffff) | ((desc >> 32) & 0xf0000);
	if (desc & BIT(55))
		limit = (limit << 12) | 0xfff;
	ar = (desc >> 40) & 0xf0ff;
	vmwrite(f_base, base);
	vmwrite(f_limit, limit);
	vmwrite(f_ar, ar);
}

static void setup_guest_state(struct vcpu *vcpu)
{
	struct dtr gdtr, idtr;
	u16 cs, ss, ds, es, fs, gs, tr, ldtr;

	asm volatile("sgdt %0" : "=m"(gdtr));
	asm volatile("sidt %0" : "=m"(idtr));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	asm volatile("mov %%ss, %0" : "=r"(ss));
	asm volatile("mov %%ds, %0" : "=r"(ds));
	asm volatile("mov %%es, %0" : "=r"(es));
	asm volatile("mov %%fs, %0" : "=r"(fs));
	asm volatile("mov %%gs, %0" : "=r"(gs));
	asm volatile("str %0" : "=r"(tr));
	asm volatile("sldt %0" : "=r"(ldtr));

	guest_segment(gdtr.base, cs, VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE,
		      VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR, false);
	guest_segment(gdtr.base, ss, VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE,
		      VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR, false);
	guest_segment(gdtr.base, ds, VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE,
		      VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR, false);
	guest_segment(gdtr.base, es, VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE,
		      VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR, false);
	guest_segment(gdtr.base, fs, VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE,
		      VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR, false);
	guest_segment(gdtr.base, gs, VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE,
		      VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR, false);
	guest_segment(gdtr.base, ldtr, VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE,
		      VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR, true);
	if (tr) {
		guest_segment(gdtr.base, tr, VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE,
			      VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR, true);
	} else {
		/*
		 * Firmware often runs without a TSS, but VM entry requires a
		 * usable busy 64-bit TSS (SDM 26.3.1.2): give it an empty one.
		 */
		vmwrite(VMCS_GUEST_TR_SEL, 0);
		vmwrite(VMCS_GUEST_TR_BASE, 0);
		vmwrite(VMCS_GUEST_TR_LIMIT, 0x67);
		vmwrite(VMCS_GUEST_TR_AR, 0x8b);
	}
	/* In 64-bit mode FS/GS bases come from the MSRs, not the GDT. */
	vmwrite(VMCS_GUEST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(VMCS_GUEST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(VMCS_GUEST_GDTR_BASE, gdtr.base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, gdtr.limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, idtr.limit);

	vmwrite(VMCS_GUEST_CR0, read_cr0());
	vmwrite(VMCS_GUEST_CR3, read_cr3());
	vmwrite(VMCS_GUEST_CR4, read_cr4());
	vcpu->cr0_shadow = read_cr0();
	vcpu->cr4_shadow = read_cr4() & ~CR4_VMXE;
	vmwrite(VMCS_CR0_SHADOW, vcpu->cr0_shadow);
	vmwrite(VMCS_CR4_SHADOW, vcpu->cr4_shadow);
	vmwrite(VMCS_GUEST_DR7, read_dr7());
	vmwrite(VMCS_GUEST_RFLAGS, read_rflags());
	vmwrite(VMCS_GUEST_DEBUGCTL, rdmsr(MSR_IA32_DEBUGCTL));
	vmwrite(VMCS_GUEST_PAT, rdmsr(MSR_IA32_PAT));
	vcpu->efer = rdmsr(MSR_EFER);
	vmwrite(VMCS_GUEST_EFER, vcpu->efer);
	vmwrite(VMCS_GUEST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	vmwrite(VMCS_GUEST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmwrite(VMCS_GUEST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_ACTIVE);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	vmwrite(VMCS_LINK_POINTER, ~0ull);
}

static void setup_host_state(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	u64 cr4 = read_cr4();
	u32 a, b, c, d;

	/* Host XSETBV on behalf of the guest needs CR4.OSXSAVE in root. */
	cpuid_count(1, 0, &a, &b, &c, &d);
	if (c & CPUID1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE;
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, hv->host_cr3);
	vmwrite(VMCS_HOST_CR4, cr4);
	vmwrite(VMCS_HOST_CS_SEL, HOST_CS_SEL);
	vmwrite(VMCS_HOST_SS_SEL, HOST_DS_SEL);
	vmwrite(VMCS_HOST_DS_SEL, HOST_DS_SEL);
	vmwrite(VMCS_HOST_ES_SEL, HOST_DS_SEL);
	vmwrite(VMCS_HOST_FS_SEL, 0);
	vmwrite(VMCS_HOST_GS_SEL, 0);
	vmwrite(VMCS_HOST_TR_SEL, HOST_TR_SEL);
	vmwrite(VMCS_HOST_FS_BASE, 0);
	vmwrite(VMCS_HOST_GS_BASE, (u64)(uintptr_t)vcpu);
	vmwrite(VMCS_HOST_TR_BASE, vcpu->host_tss);
	vmwrite(VMCS_HOST_GDTR_BASE, vcpu->host_gdt);
	vmwrite(VMCS_HOST_IDTR_BASE, hv->host_idt);
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmwrite(VMCS_HOST_RSP, vcpu->stack_top);
	vmwrite(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);
	if (hv->vmx.exit & EXIT_LOAD_PKRS)
		vmwrite(VMCS_HOST_PKRS, 0);	/* pksvisor itself runs unrestricted */
}

static void setup_intercepts(struct vcpu *vcpu)
{
	/* MSRs pksvisor must see (docs/vm-exits.md lists why). */
	msr_bitmap_intercept(vcpu, MSR_IA32_FEATURE_CONTROL, true, true);
	msr_bitmap_intercept(vcpu, MSR_IA32_BIOS_SIGN_ID, false, true);
	msr_bitmap_intercept(vcpu, MSR_EFER, false, true);
	msr_bitmap_intercept(vcpu, MSR_IA32_PKRS, true, true);
	for (u32 msr = MSR_IA32_VMX_FIRST; msr <= MSR_IA32_VMX_LAST; msr++)
		msr_bitmap_intercept(vcpu, msr, true, true);
	/* Intel PT is hidden, APIC relocation checked (vmm/guest_refuse.h). */
	for (u32 msr = MSR_IA32_RTIT_FIRST; msr <= MSR_IA32_RTIT_LAST; msr++)
		msr_bitmap_intercept(vcpu, msr, true, true);
	msr_bitmap_intercept(vcpu, MSR_IA32_APIC_BASE, false, true);

	/* Ports that power off or reset the machine: statistics first. */
	io_bitmap_intercept(vcpu, 0x8900);	/* Bochs/QEMU shutdown port */
	io_bitmap_intercept(vcpu, 0xcf9);	/* reset control register */
	/*
	 * ACPI PM1 control (power-off statistics, S3 refused) and status
	 * (WAK_STS after a refused S3): docs/power.md.  Both bytes of each
	 * 16-bit register, so a byte access cannot slip past.
	 */
	const u16 acpi_ports[] = {
		vcpu->hv->acpi.pm1a_cnt, vcpu->hv->acpi.pm1b_cnt,
		vcpu->hv->acpi.pm1a_sts, vcpu->hv->acpi.pm1b_sts,
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(acpi_ports); i++) {
		if (!acpi_ports[i])
			continue;
		io_bitmap_intercept(vcpu, acpi_ports[i]);
		io_bitmap_intercept(vcpu, acpi_ports[i] + 1);
	}
}

int vmcs_setup(struct vcpu *vcpu)
{
	struct hv *hv = vcpu->hv;
	struct vmx_setup *s = &hv->vmx;

	vmx_check_hv = hv;
	vmwrite(VMCS_PIN_CONTROLS, s->pin);
	/*
	 * MTF on for the launch: the first exit says whether the CPU delivers
	 * MTF exits (vmm/single_step.c).
	 */
	vmwrite(VMCS_PROC_CONTROLS, s->proc | (s->has_mtf ? PROC_MTF : 0));
	vcpu->mtf_state = s->has_mtf ? MTF_PROBING : MTF_BROKEN;
	vmwrite(VMCS_PROC_CONTROLS2, s->proc2);
	vmwrite(VMCS_EXIT_CONTROLS, s->exit);
	vmwrite(VMCS_ENTRY_CONTROLS, s->entry | ENTRY_IA32E_GUEST);
	vmwrite(VMCS_EXCEPTION_BITMAP, 0);
	vmwrite(VMCS_PF_ERROR_MASK, 0);
	vmwrite(VMCS_PF_ERROR_MATCH, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_CR0_MASK, s->cr0_mask);
	vmwrite(VMCS_CR4_MASK, s->cr4_mask);
	vmwrite(VMCS_MSR_BITMAP, vcpu->msr_bitmap_pa);
	vmwrite(VMCS_IO_BITMAP_A, vcpu->io_bitmap_a_pa);
	vmwrite(VMCS_IO_BITMAP_B, vcpu->io_bitmap_b_pa);
	vcpu_set_eptp(vcpu, hv->eptp);
	if (s->has_vpid)
		vmwrite(VMCS_VPID, vcpu_vpid(vcpu));
	if (s->has_preemption_timer)
		vmwrite(VMCS_PREEMPTION_TIMER, 0xffffffff);

	setup_intercepts(vcpu);
	setup_host_state(vcpu);
	setup_guest_state(vcpu);
	pks_vmcs_setup(vcpu);
	vcpu->vmcs_ready = true;
	return 0;
}
