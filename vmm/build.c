// SPDX-License-Identifier: MIT
/*
 * The build entry of vmm/build.h.  hv_prepare() runs in the resident copy
 * of pksvisor (boot/relocate.c): everything that must survive the
 * firmware is allocated here, from the reserved pool.
 */
#include <pksvisor/format.h>
#include <pksvisor/log.h>
#include <pksvisor/page_pool.h>
#include "build.h"
#include "exit.h"
#include "host.h"
#include "shootdown.h"
#include "vmcs.h"
#include "vmx.h"
#include "../pks/pks_vmm.h"

/*
 * What pksvisor asks of VMX for this configuration.  The preemption timer:
 * periodic statistics, and the shootdown's backstop on several CPUs
 * (vmm/vmx_timer.h).  nr_cpus is 1 for the early probe (vmm_probe(),
 * before the APs are counted), whose timer bit nothing else depends on.
 */
static void build_wants(const struct pksv_config *cfg, unsigned int nr_cpus,
			struct vmx_wants *wants)
{
	wants->preemption_timer = cfg->stats_interval_s != 0 || nr_cpus > 1;
	wants->pks_hw = cfg->pks == PKS_REQ_AUTO || cfg->pks == PKS_REQ_HW;
	wants->vmfunc_eptp = cfg->pks != PKS_REQ_OFF;
}

int vmm_probe(const struct pksv_config *cfg, struct vmm_probe *probe,
	      char *err, size_t errlen)
{
	struct vmx_wants wants = { 0 };

	vmx_read_msrs(&probe->msrs);
	build_wants(cfg, 1, &wants);
	return vmx_compute_setup(&probe->msrs, &wants, &probe->setup,
				 &probe->lock_needed, err, errlen);
}

static int build_guest_ept(struct hv *hv)
{
	if (ept_init(&hv->ept, pool_alloc_ept, &hv->pool, hv->vmx.has_ept_1g))
		return -1;
	if (ept_map_identity(&hv->ept, 0, hv->phys_limit, &hv->mtrr))
		return -1;
	/*
	 * Hide the whole reservation, including pages not handed out yet:
	 * EPT pages allocated while hiding come from it too.
	 */
	for (u64 pa = hv->pool.base; pa < hv->pool.base + hv->pool.size; pa += PAGE_SIZE)
		if (ept_protect_4k(&hv->ept, pa, 0))
			return -1;
	hv->scratch_hpa = pool_alloc_page(&hv->pool);
	if (!hv->scratch_hpa)
		return -1;
	pksv_memset((void *)(uintptr_t)hv->scratch_hpa, 0xff, PAGE_SIZE);
	hv->eptp = ept_eptp(&hv->ept, false);
	return 0;
}

int hv_prepare(struct boot_info *bi)
{
	u64 first = bi->pool_base + bi->image_size;
	struct hv *hv = (struct hv *)(uintptr_t)first;
	struct vcpu *vcpu;
	bool lock;
	struct vmx_wants wants = { 0 };
	u64 hv_pages = ALIGN_UP(sizeof(*hv), PAGE_SIZE) / PAGE_SIZE;

	pksv_memset(hv, 0, hv_pages * PAGE_SIZE);
	pool_init(&hv->pool, bi->pool_base, bi->pool_size);
	hv->pool.next = first + hv_pages * PAGE_SIZE;
	hv->cfg = bi->cfg;
	hv->phys_limit = bi->phys_limit;
	hv->acpi = bi->acpi;
	hv->tsc_per_sec = bi->tsc_per_sec;
	for (unsigned int i = 0; i < bi->nr_ram && i < MAX_RAM_RANGES; i++) {
		hv->ram[i].start = bi->ram[i].start;
		hv->ram[i].end = bi->ram[i].end;
		hv->nr_ram++;
	}
	vmx_read_msrs(&hv->msrs);
	build_wants(&bi->cfg, bi->nr_cpus, &wants);
	if (vmx_compute_setup(&hv->msrs, &wants, &hv->vmx, &lock, bi->err, sizeof(bi->err)))
		return -1;
	mtrr_read(&hv->mtrr);
	if (build_guest_ept(hv)) {
		pksv_snprintf(bi->err, sizeof(bi->err), "out of memory building EPT");
		return -1;
	}
	/* Known before pks_init(): the override reserve is per vCPU (views_init). */
	hv->nr_vcpus = bi->nr_cpus;
	if (pks_init(hv, bi->err, sizeof(bi->err)))
		return -1;
	pksv_log("PKS: backend %s (requested pks=%s), fault mode %s",
		 pks_backend_str(hv), config_pks_name(hv->cfg.pks),
		 config_mode_name(hv->pks.mode));
	/* Said once, at start, so no log reader mistakes pksvisor for DMA-safe. */
	pksv_log("DMA: no IOMMU is programmed: device DMA can reach pksvisor memory (docs/threat-model.md)");
	if (host_env_init(hv)) {
		pksv_snprintf(bi->err, sizeof(bi->err), "out of memory building host tables");
		return -1;
	}
	/* Every CPU's vCPU now: the APs allocate nothing (boot/mp.c). */
	for (unsigned int i = 0; i < bi->nr_cpus; i++) {
		vcpu = (struct vcpu *)(uintptr_t)pool_alloc_pages(&hv->pool,
			ALIGN_UP(sizeof(*vcpu), PAGE_SIZE) / PAGE_SIZE);
		if (!vcpu || vcpu_alloc(hv, vcpu, i) || host_cpu_init(hv, vcpu)) {
			pksv_snprintf(bi->err, sizeof(bi->err), "out of memory for vCPU %u", i);
			return -1;
		}
		vcpu->apic_id = bi->apic_id[i];
		/* The first exit takes shootdown_slow(): it makes it a target. */
		vcpu->prot_generation = SHOOT_STALE;
		vcpu->shoot_req = 1;
		vcpu->shoot_self = true;
		hv->vcpus[i] = vcpu;
	}
	bi->hv = hv;
	vcpu = hv->vcpus[0];
	switch (vmx_enable(vcpu, bi->err, sizeof(bi->err))) {
	case 0:
		break;
	case VMX_ENABLE_NO_VMXON:
		return -1;
	default:
		/* The caller boots natively (fallback=): not from VMX root. */
		asm volatile("vmxoff" ::: "cc", "memory");
		write_cr4(read_cr4() & ~CR4_VMXE);
		return -1;
	}
	vmcs_setup(vcpu);
	vcpu->last_stats_tsc = rdtsc();
	vcpu_arm_timer(vcpu);
	pksv_log("EPT built: %llu paging-structure pages, pool used %llu KiB of %llu KiB",
		 hv->ept.pages_used, (hv->pool.next - hv->pool.base) >> 10,
		 hv->pool.size >> 10);
	return 0;
}

/* Natively on an AP, before anything is virtualized (boot/mp.c ap_check). */
int vmm_check_ap(const struct vmx_msrs *bsp, char *err, size_t errlen)
{
	struct vmx_msrs m;

	vmx_read_msrs(&m);
	if (!m.cpuid_vmx) {
		pksv_snprintf(err, errlen, "no VMX (CPUID.1:ECX[5] clear)");
		return -1;
	}
	if ((m.feature_control & FEATURE_CONTROL_LOCK) &&
	    !(m.feature_control & FEATURE_CONTROL_VMX)) {
		pksv_snprintf(err, errlen, "VMX disabled and locked in IA32_FEATURE_CONTROL");
		return -1;
	}
	/* The lock state may differ per CPU; vmx_enable locks it on each. */
	m.feature_control = bsp->feature_control;
	if (pksv_memcmp(&m, bsp, sizeof(m))) {
		pksv_snprintf(err, errlen, "VMX capabilities differ from the boot CPU's");
		return -1;
	}
	return 0;
}

/*
 * On AP id, natively, interrupts off (boot/mp.c ap_launch): VMXON with this
 * AP's region and a VMCS whose guest state is the AP's firmware context.
 * Prints nothing (another CPU may be printing): errors go to bi->ap[id].
 * Returns -1 only while the AP is still outside VMX root (VMXON failed);
 * a failure after VMXON parks the AP in VMX root (vmm/park.c) for good.
 */
int hv_prepare_ap(struct boot_info *bi, unsigned int id)
{
	struct hv *hv = bi->hv;
	struct vcpu *vcpu = hv->vcpus[id];
	int r = vmx_enable(vcpu, bi->ap[id].err, sizeof(bi->ap[id].err));

	if (r == VMX_ENABLE_NO_VMXON)
		return -1;
	if (r)
		hv_park_ap(bi, id);
	vmcs_setup(vcpu);
#ifdef PKSV_TEST_HOOKS
	test_hook_ap_vmcs(vcpu);
#endif
	vcpu->last_stats_tsc = rdtsc();
	vcpu_arm_timer(vcpu);
	return 0;
}

/*
 * VMLAUNCH failed on AP id (VMfailValid: SDM Vol. 3C 31.2).  The AP is
 * still in VMX root, where INIT is blocked: it stays there, parked, so that
 * no INIT-SIPI of the guest can ever run it natively.
 */
void hv_ap_launch_failed(struct boot_info *bi, unsigned int id)
{
	pksv_snprintf(bi->ap[id].err, sizeof(bi->ap[id].err),
		      "VMLAUNCH failed: VM-instruction error %llu",
		      vmread(VMCS_VM_INSTR_ERROR));
	hv_park_ap(bi, id);
}

int vmm_launch(u64 guest_rflags)
{
	vmwrite(VMCS_GUEST_RFLAGS, guest_rflags);
	return vmx_launch();
}

void hv_launch_failed(void)
{
	pksv_log("VMLAUNCH failed: VM-instruction error %llu",
		 vmread(VMCS_VM_INSTR_ERROR));
	asm volatile("vmxoff" ::: "cc", "memory");
	write_cr4(read_cr4() & ~CR4_VMXE);
}
