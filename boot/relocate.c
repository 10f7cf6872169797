// SPDX-License-Identifier: MIT
/*
 * Making pksvisor resident.  The firmware loaded this image as
 * EfiLoaderCode/Data, which the OS reclaims after ExitBootServices, so the
 * VM-exit handlers must run from a copy in EfiReservedMemoryType memory.
 * gnu-efi images are position-independent ELF objects whose absolute
 * pointers are R_X86_64_RELATIVE relocations (crt0 applies them once at
 * load); the copy gets them applied again for its own base.
 */
#include <efi.h>
#include <elf.h>
#include <pksvisor/format.h>
#include "boot.h"

extern char ImageBase[];
extern Elf64_Dyn _DYNAMIC[];

u64 relocate_image_copy(u64 src, u64 size, u64 dst)
{
	u64 delta = dst - src;
	Elf64_Dyn *dyn = (Elf64_Dyn *)((u64)_DYNAMIC + delta);
	Elf64_Rela *rela = NULL;
	u64 relasz = 0, relaent = sizeof(Elf64_Rela);

	pksv_memcpy((void *)dst, (void *)src, size);
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_RELA)
			rela = (Elf64_Rela *)(dst + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_RELASZ)
			relasz = dyn->d_un.d_val;
		else if (dyn->d_tag == DT_RELAENT)
			relaent = dyn->d_un.d_val;
	}
	for (u64 off = 0; rela && off < relasz; off += relaent) {
		Elf64_Rela *r = (Elf64_Rela *)((u64)rela + off);

		/* The image is linked at 0: offset and addend are image-relative. */
		if (ELF64_R_TYPE(r->r_info) == R_X86_64_RELATIVE)
			*(u64 *)(dst + r->r_offset) = dst + r->r_addend;
	}
	return delta;
}
