// SPDX-License-Identifier: MIT
/*
 * I/O exits (reason 30): only ports through which the guest powers off,
 * resets or suspends the machine are intercepted, so that the statistics
 * reach the serial console before the machine goes away.  The access
 * itself is then performed unchanged, except an ACPI S3 request: that is
 * refused (docs/power.md), because the firmware resumes from S3 through
 * the OS waking vector, past pksvisor, and the OS would run on natively.
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "vmx.h"

#define PORT_EMU_SHUTDOWN	0x8900	/* Bochs/QEMU: "Shutdown" ends the emulator */
#define PORT_RESET_CONTROL	0xcf9
#define CF9_RESET		BIT(2)

static const char shutdown_magic[] = "Shutdown";

static u32 io_in(u16 port, unsigned int size)
{
	if (size == 1)
		return inb(port);
	if (size == 2)
		return inw(port);
	return inl(port);
}

static void io_out(u16 port, unsigned int size, u32 value)
{
	if (size == 1)
		outb(port, value);
	else if (size == 2)
		outw(port, value);
	else
		outl(port, value);
}

/* Does this write power the machine off or reset it? */
static const char *power_event(struct vcpu *vcpu, u16 port, unsigned int size, u32 value)
{
	if (port == PORT_EMU_SHUTDOWN && size == 1) {
		if ((char)value == shutdown_magic[vcpu->shutdown_idx]) {
			vcpu->shutdown_idx++;
		} else {
			vcpu->shutdown_idx = (char)value == shutdown_magic[0];
			return NULL;
		}
		if (vcpu->shutdown_idx == sizeof(shutdown_magic) - 1) {
			vcpu->shutdown_idx = 0;
			return "power-off (emulator shutdown port)";
		}
		return NULL;
	}
	if (port == PORT_RESET_CONTROL && size == 1 && (value & CF9_RESET))
		return "reset (port 0xcf9)";
	/* ACPI PM1x_CNT: SLP_EN starts the sleep state, S5 being power-off. */
	if (acpi_pm_classify_write(&vcpu->hv->acpi, port, size, value) == ACPI_PM_SLEEP)
		return "ACPI sleep/power-off (PM1_CNT)";
	return NULL;
}

/*
 * An S3 request (SLP_EN with \_S3_'s SLP_TYP): not performed.  The guest
 * continues after its OUT; its sleep code then waits for WAK_STS, which
 * PM1 status reads show until the guest clears it (acpi_pm_fixup_read),
 * so it proceeds as after an immediate wake.  Linux: docs/power.md.
 */
static bool refuse_s3(struct vcpu *vcpu, u16 port, unsigned int size, u32 value)
{
	struct acpi_pm *pm = &vcpu->hv->acpi;

	if (acpi_pm_classify_write(pm, port, size, value) != ACPI_PM_REFUSE_S3)
		return false;
	if (!vcpu->stats.s3_refused)
		pksv_log("S3 refused: suspend-to-RAM would resume past pksvisor "
			 "(port 0x%x value 0x%x); the guest continues", port, value);
	vcpu->stats.s3_refused++;
	pm->wake_pending = true;
	return true;
}

/* Set or clear the interception of one port; returns whether it was set. */
static bool io_bitmap_set(struct vcpu *vcpu, u16 port, bool intercept)
{
	u8 *bm = (u8 *)(uintptr_t)(port < 0x8000 ? vcpu->io_bitmap_a_pa :
				   vcpu->io_bitmap_b_pa);
	u16 idx = port & 0x7fff;
	bool was = bm[idx / 8] & (1u << (idx % 8));

	if (intercept)
		bm[idx / 8] |= 1u << (idx % 8);
	else
		bm[idx / 8] &= ~(1u << (idx % 8));
	return was;
}

/*
 * String I/O (INS/OUTS, REP or not) on an intercepted port.  pksvisor has
 * no instruction emulator, and no guest value here can hurt it: the CPU
 * performs the instruction itself.  The ports it touches stop being
 * intercepted for one single step (vmm/single_step.c), then are
 * intercepted again.  A REP string instruction traps after each iteration
 * (SDM Vol. 3B 18.3.1.4; MTF likewise, Vol. 3C 26.5.2), so each iteration
 * exits again and goes the same way.  Such a write is not inspected: a
 * power-off sent with OUTS powers off without pksvisor's statistics.
 */
static void io_string_step(struct vcpu *vcpu, u16 port, unsigned int size)
{
	vcpu->io_step_port = port;
	vcpu->io_step_open = 0;
	for (unsigned int i = 0; i < size; i++)
		if (io_bitmap_set(vcpu, (u16)(port + i), false))
			vcpu->io_step_open |= 1u << i;
	vcpu_step_begin(vcpu, STEP_IO);
}

void io_step_done(struct vcpu *vcpu)
{
	for (unsigned int i = 0; i < 4; i++)
		if (vcpu->io_step_open & (1u << i))
			io_bitmap_set(vcpu, (u16)(vcpu->io_step_port + i), true);
	vcpu->io_step_open = 0;
}

void handle_io(struct vcpu *vcpu)
{
	u64 q = vcpu_exit_qual(vcpu);
	u16 port = IOQ_PORT(q);
	unsigned int size = IOQ_SIZE(q);
	struct guest_regs *r = vcpu->regs;
	u32 mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	const char *event;

	if (q & IOQ_STRING) {
		/*
		 * A string OUT to a PM1 control register could request S3
		 * unseen (it runs natively below): refused as a whole, the
		 * instruction skipped, counted with the S3 refusals.
		 */
		if (!(q & IOQ_IN) && acpi_pm_touches_cnt(&vcpu->hv->acpi, port, size)) {
			if (!vcpu->stats.s3_refused)
				pksv_log("string OUT to ACPI PM1 control port 0x%x refused", port);
			vcpu->stats.s3_refused++;
			vcpu_skip_instruction(vcpu);
			return;
		}
		io_string_step(vcpu, port, size);
		return;
	}
	if (q & IOQ_IN) {
		u32 v = acpi_pm_fixup_read(&vcpu->hv->acpi, port, size,
					   io_in(port, size));

		/* A 32-bit IN zero-extends into RAX; 8/16-bit merge. */
		if (size == 4)
			r->rax = v;
		else
			r->rax = (r->rax & ~(u64)mask) | (v & mask);
	} else if (refuse_s3(vcpu, port, size, (u32)r->rax & mask)) {
		/* Dropped: the sleep does not happen. */
	} else {
		if (acpi_pm_clears_wake(&vcpu->hv->acpi, port, size, (u32)r->rax & mask))
			vcpu->hv->acpi.wake_pending = false;
		event = power_event(vcpu, port, size, (u32)r->rax & mask);
		if (event) {
			vcpu_print_all_stats(vcpu, event);
			/* The machine may be gone right after this write. */
			serial_drain();
		}
		io_out(port, size, (u32)r->rax & mask);
	}
	vcpu_skip_instruction(vcpu);
}
