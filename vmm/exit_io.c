// SPDX-License-Identifier: MIT
/*
 * I/O exits (reason 30): only ports through which the guest powers off or
 * resets the machine are intercepted, so that the statistics reach the
 * serial console before the machine goes away.  The access itself is then
 * performed unchanged.
 */
#include <pksvisor/log.h>
#include "exit.h"
#include "vmx.h"

#define PORT_EMU_SHUTDOWN	0x8900	/* Bochs/QEMU: "Shutdown" ends the emulator */
#define PORT_RESET_CONTROL	0xcf9
#define CF9_RESET		BIT(2)
#define PM1_SLP_EN		BIT(13)

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
	u16 pm1a = vcpu->hv->pm1a_cnt_port;

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
	/* ACPI PM1a_CNT: SLP_EN starts the sleep state, S5 being power-off. */
	if (pm1a && port == pm1a && size >= 2 && (value & PM1_SLP_EN))
		return "ACPI sleep/power-off (PM1a_CNT)";
	if (pm1a && port == pm1a + 1 && size == 1 && (value & (PM1_SLP_EN >> 8)))
		return "ACPI sleep/power-off (PM1a_CNT)";
	return NULL;
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
	u64 q = vcpu->exit_qual;
	u16 port = IOQ_PORT(q);
	unsigned int size = IOQ_SIZE(q);
	struct guest_regs *r = vcpu->regs;
	u32 mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	const char *event;

	if (q & IOQ_STRING) {
		io_string_step(vcpu, port, size);
		return;
	}
	if (q & IOQ_IN) {
		u32 v = io_in(port, size);

		/* A 32-bit IN zero-extends into RAX; 8/16-bit merge. */
		if (size == 4)
			r->rax = v;
		else
			r->rax = (r->rax & ~(u64)mask) | (v & mask);
	} else {
		event = power_event(vcpu, port, size, (u32)r->rax & mask);
		if (event) {
			vcpu_print_stats(vcpu, event);
			/* The machine may be gone right after this write. */
			serial_drain();
		}
		io_out(port, size, (u32)r->rax & mask);
	}
	vcpu_skip_instruction(vcpu);
}
