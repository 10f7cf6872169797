// SPDX-License-Identifier: MIT
/*
 * Per-vCPU statistics formatting.
 *
 * Two renderings of the same counters (docs/statistics.md documents
 * every key): a single machine-readable line that test scripts grep from
 * the serial log, and a table for people.  Both are pure functions of a
 * struct vcpu_stats so they are unit tested on the host.
 */
#include <pksvisor/types.h>
#include <pksvisor/stats.h>
#include <pksvisor/format.h>
#include <pksvisor/hypercall.h>

struct reason_desc {
	const char *name;	/* as in the SDM, upper case */
	const char *key;	/* machine line key */
};

/*
 * Basic exit reasons, SDM Vol. 3D Appendix C "VMX Basic Exit Reasons".
 * Numbers missing here are reserved and have no name.
 */
static const struct reason_desc reasons[EXIT_REASON_MAX] = {
	[0]  = { "EXCEPTION_NMI", "exception_nmi" },
	[1]  = { "EXTERNAL_INTERRUPT", "external_interrupt" },
	[2]  = { "TRIPLE_FAULT", "triple_fault" },
	[3]  = { "INIT", "init" },
	[4]  = { "SIPI", "sipi" },
	[5]  = { "IO_SMI", "io_smi" },
	[6]  = { "OTHER_SMI", "other_smi" },
	[7]  = { "INTERRUPT_WINDOW", "interrupt_window" },
	[8]  = { "NMI_WINDOW", "nmi_window" },
	[9]  = { "TASK_SWITCH", "task_switch" },
	[10] = { "CPUID", "cpuid" },
	[11] = { "GETSEC", "getsec" },
	[12] = { "HLT", "hlt" },
	[13] = { "INVD", "invd" },
	[14] = { "INVLPG", "invlpg" },
	[15] = { "RDPMC", "rdpmc" },
	[16] = { "RDTSC", "rdtsc" },
	[17] = { "RSM", "rsm" },
	[18] = { "VMCALL", "vmcall" },
	[19] = { "VMCLEAR", "vmclear" },
	[20] = { "VMLAUNCH", "vmlaunch" },
	[21] = { "VMPTRLD", "vmptrld" },
	[22] = { "VMPTRST", "vmptrst" },
	[23] = { "VMREAD", "vmread" },
	[24] = { "VMRESUME", "vmresume" },
	[25] = { "VMWRITE", "vmwrite" },
	[26] = { "VMXOFF", "vmxoff" },
	[27] = { "VMXON", "vmxon" },
	[28] = { "CR_ACCESS", "cr_access" },
	[29] = { "DR_ACCESS", "dr_access" },
	[30] = { "IO_INSTRUCTION", "io_instruction" },
	[31] = { "RDMSR", "rdmsr" },
	[32] = { "WRMSR", "wrmsr" },
	[33] = { "ENTRY_FAIL_GUEST_STATE", "entry_fail_guest_state" },
	[34] = { "ENTRY_FAIL_MSR_LOAD", "entry_fail_msr_load" },
	[36] = { "MWAIT", "mwait" },
	[37] = { "MTF", "mtf" },
	[39] = { "MONITOR", "monitor" },
	[40] = { "PAUSE", "pause" },
	[41] = { "ENTRY_FAIL_MCE", "entry_fail_mce" },
	[43] = { "TPR_BELOW_THRESHOLD", "tpr_below_threshold" },
	[44] = { "APIC_ACCESS", "apic_access" },
	[45] = { "VIRTUALIZED_EOI", "virtualized_eoi" },
	[46] = { "GDTR_IDTR", "gdtr_idtr" },
	[47] = { "LDTR_TR", "ldtr_tr" },
	[48] = { "EPT_VIOLATION", "ept_violation" },
	[49] = { "EPT_MISCONFIG", "ept_misconfig" },
	[50] = { "INVEPT", "invept" },
	[51] = { "RDTSCP", "rdtscp" },
	[52] = { "PREEMPTION_TIMER", "preemption_timer" },
	[53] = { "INVVPID", "invvpid" },
	[54] = { "WBINVD", "wbinvd" },
	[55] = { "XSETBV", "xsetbv" },
	[56] = { "APIC_WRITE", "apic_write" },
	[57] = { "RDRAND", "rdrand" },
	[58] = { "INVPCID", "invpcid" },
	[59] = { "VMFUNC", "vmfunc" },
	[60] = { "ENCLS", "encls" },
	[61] = { "RDSEED", "rdseed" },
	[62] = { "PML_FULL", "pml_full" },
	[63] = { "XSAVES", "xsaves" },
	[64] = { "XRSTORS", "xrstors" },
	[66] = { "SPP", "spp" },
	[67] = { "UMWAIT", "umwait" },
	[68] = { "TPAUSE", "tpause" },
	[69] = { "LOADIWKEY", "loadiwkey" },
	[70] = { "ENCLV", "enclv" },
	[72] = { "ENQCMD_PASID_FAIL", "enqcmd_pasid_fail" },
	[73] = { "ENQCMDS_PASID_FAIL", "enqcmds_pasid_fail" },
	[74] = { "BUS_LOCK", "bus_lock" },
	[75] = { "NOTIFY", "notify" },
	[76] = { "SEAMCALL", "seamcall" },
	[77] = { "TDCALL", "tdcall" },
	[78] = { "RDMSRLIST", "rdmsrlist" },
	[79] = { "WRMSRLIST", "wrmsrlist" },
};

/* Hypercall names (docs/hypercalls.md); unnamed numbers print as hex. */
static const char *const hc_names[PKSV_HC_MAX] = {
	[PKSV_HC_VERSION] = "version",
	[PKSV_HC_PRINT_STATS] = "print_stats",
	[PKSV_HC_GET_COUNTER] = "get_counter",
	[PKSV_HC_NOP] = "nop",
	[PKSV_HC_SELFTEST_INFO] = "selftest_info",
	[PKSV_HC_RANGE_REGISTER] = "range_register",
	[PKSV_HC_RANGE_UNREGISTER] = "range_unregister",
	[PKSV_HC_UNPROTECT_PAGE] = "unprotect_page",
	[PKSV_HC_PROTECT_PAGE] = "protect_page",
	[PKSV_HC_GRANT] = "grant",
	[PKSV_HC_REVOKE] = "revoke",
	[PKSV_HC_SET_MODE] = "set_mode",
	[PKSV_HC_GET_MODE] = "get_mode",
	[PKSV_HC_LOCK_KEY] = "lock_key",
	[PKSV_HC_VIEW_INDEX] = "view_index",
	[PKSV_HC_PV_RANGES] = "pv_ranges",
	[PKSV_HC_GET_STATS] = "get_stats",
};

const char *exit_reason_name(unsigned int reason)
{
	return reason < EXIT_REASON_MAX ? reasons[reason].name : NULL;
}

const char *exit_reason_key(unsigned int reason)
{
	return reason < EXIT_REASON_MAX ? reasons[reason].key : NULL;
}

/*
 * The fixed counters, in the order of the machine line.  Keeping the
 * order in one table makes the line, the human totals and the docs agree.
 */
struct fixed_counter {
	const char *key;
	size_t offset;
};

#define FIXED(k) { #k, offsetof(struct vcpu_stats, k) }

static const struct fixed_counter fixed_counters[] = {
	FIXED(exits),
	FIXED(injected),
	FIXED(ept_violations),
	FIXED(hidden_access),
	{ "hypercalls", (size_t)-1 },	/* sum of the per-call counters */
	FIXED(hypercall_errors),
	FIXED(pkrs_writes),
	FIXED(view_switch_exit),
	FIXED(view_switch_vmfunc),
	FIXED(views_built),
	FIXED(pk_fault_injected),
	FIXED(pk_fault_unprotected),
	FIXED(pk_fault_table),
	FIXED(s3_refused),
	FIXED(unprotected_pages),
	FIXED(nmi_reflected),
	FIXED(nmi_root),
	FIXED(nmi_injected),
	FIXED(nmi_requeued),
	FIXED(nmi_window),
	FIXED(events_requeued),
	FIXED(events_merged),
	FIXED(vmfunc_refused),
	FIXED(msr_refused),
	FIXED(cr_write_refused),
	FIXED(db_after_emulation),
	FIXED(step_merged),
	FIXED(step_overflow),
	FIXED(walk_refused),
	FIXED(view_degraded),
	FIXED(mmio_mapped),
	FIXED(pku_reinjected),
	FIXED(ept_stale),
	FIXED(shootdowns_sent),
	FIXED(shootdowns_taken),
};

static u64 fixed_value(const struct vcpu_stats *st,
		       const struct fixed_counter *fc)
{
	u64 sum = 0;
	unsigned int i;

	if (fc->offset != (size_t)-1)
		return *(const u64 *)((const char *)st + fc->offset);
	for (i = 0; i < PKSV_HC_MAX; i++)
		sum += st->hypercalls[i];
	return sum;
}

/* snprintf that appends at *pos and keeps counting past the end. */
struct sbuf {
	char *buf;
	size_t size;
	size_t pos;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	size_t off = sb->pos < sb->size ? sb->pos : sb->size;
	va_list ap;
	int n;

	va_start(ap, fmt);
	/* Never form buf + off when there is no buffer at all. */
	n = pksv_vsnprintf(sb->size ? sb->buf + off : NULL, sb->size - off,
			   fmt, ap);
	va_end(ap);
	sb->pos += n;
}

/*
 * The machine line with or without its "pksvisor: stats " prefix: the
 * serial line and the guest's copy (PKSV_HC_GET_STATS) come from this one
 * formatter, so the two can never disagree.
 */
static int format_line(char *buf, size_t size, const char *prefix,
		       unsigned int vcpu_id, const char *backend,
		       const struct vcpu_stats *st)
{
	struct sbuf sb = { .buf = buf, .size = size, .pos = 0 };
	unsigned int i;

	if (size)
		buf[0] = '\0';
	sb_printf(&sb, "%svcpu=%u backend=%s", prefix, vcpu_id,
		  backend ? backend : "off");
	for (i = 0; i < ARRAY_SIZE(fixed_counters); i++)
		sb_printf(&sb, " %s=%llu", fixed_counters[i].key,
			  (unsigned long long)fixed_value(st,
							   &fixed_counters[i]));
	for (i = 0; i < EXIT_REASON_MAX; i++) {
		if (!st->exit_reason[i])
			continue;
		/* Reserved numbers should not occur; still show them. */
		if (reasons[i].key)
			sb_printf(&sb, " exit.%s=%llu", reasons[i].key,
				  (unsigned long long)st->exit_reason[i]);
		else
			sb_printf(&sb, " exit.%u=%llu", i,
				  (unsigned long long)st->exit_reason[i]);
	}
	for (i = 0; i < PKSV_HC_MAX; i++) {
		if (!st->hypercalls[i])
			continue;
		if (hc_names[i])
			sb_printf(&sb, " hc.%s=%llu", hc_names[i],
				  (unsigned long long)st->hypercalls[i]);
		else
			sb_printf(&sb, " hc.0x%02x=%llu", i,
				  (unsigned long long)st->hypercalls[i]);
	}
	return (int)sb.pos;
}

int stats_format_line(char *buf, size_t size, unsigned int vcpu_id,
		      const char *backend, const struct vcpu_stats *st)
{
	return format_line(buf, size, "pksvisor: stats ", vcpu_id, backend, st);
}

int stats_format_body(char *buf, size_t size, unsigned int vcpu_id,
		      const char *backend, const struct vcpu_stats *st)
{
	return format_line(buf, size, "", vcpu_id, backend, st);
}

#define TABLE_LINE_MAX	128

void stats_format_table(unsigned int vcpu_id, const char *backend,
			const struct vcpu_stats *st,
			void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[TABLE_LINE_MAX], name[32];
	unsigned int i;

	pksv_snprintf(line, sizeof(line),
		      "pksvisor: statistics of vCPU %u (PKS backend %s)",
		      vcpu_id, backend ? backend : "off");
	emit(ctx, line);

	pksv_snprintf(line, sizeof(line), "pksvisor:   %-3s %-24s %20s",
		      "nr", "exit reason", "count");
	emit(ctx, line);
	for (i = 0; i < EXIT_REASON_MAX; i++) {
		if (!st->exit_reason[i])
			continue;
		pksv_snprintf(line, sizeof(line),
			      "pksvisor:   %3u %-24s %20llu", i,
			      reasons[i].name ? reasons[i].name : "(reserved)",
			      (unsigned long long)st->exit_reason[i]);
		emit(ctx, line);
	}

	pksv_snprintf(line, sizeof(line), "pksvisor:   %-4s %-23s %20s",
		      "nr", "hypercall", "count");
	emit(ctx, line);
	for (i = 0; i < PKSV_HC_MAX; i++) {
		if (!st->hypercalls[i])
			continue;
		if (hc_names[i])
			pksv_snprintf(name, sizeof(name), "%s", hc_names[i]);
		else
			pksv_snprintf(name, sizeof(name), "(unnamed)");
		pksv_snprintf(line, sizeof(line),
			      "pksvisor:   0x%02x %-23s %20llu", i, name,
			      (unsigned long long)st->hypercalls[i]);
		emit(ctx, line);
	}

	pksv_snprintf(line, sizeof(line), "pksvisor:   totals");
	emit(ctx, line);
	for (i = 0; i < ARRAY_SIZE(fixed_counters); i++) {
		pksv_snprintf(line, sizeof(line),
			      "pksvisor:     %-26s %20llu",
			      fixed_counters[i].key,
			      (unsigned long long)fixed_value(st,
							   &fixed_counters[i]));
		emit(ctx, line);
	}
}
