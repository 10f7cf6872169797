# pksvisor top-level build.
#   make            build/pksvisor.efi and the EFI test programs
#   make unit       host unit tests (cmocka, ASan + UBSan)
#   make test       every test (installs Debian packages when missing)
#   make demo       build everything, boot pksvisor + Linux in Bochs
BUILD		?= build
EFI_INC		:= /usr/include/efi
EFI_LIB		:= /usr/lib
EFI_CRT0	:= $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LDS		:= $(EFI_LIB)/elf_x86_64_efi.lds

CC		:= gcc
NASM		:= nasm
OBJCOPY		:= objcopy

# Freestanding hypervisor code: no red zone (exits and interrupts share
# the stack), no SSE/MMX (guest FPU state is never saved), PIC for the
# gnu-efi PE relocation scheme.
EFI_CFLAGS	:= -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector \
		   -fno-strict-aliasing -fpic -fshort-wchar -mno-red-zone \
		   -mgeneral-regs-only -maccumulate-outgoing-args \
		   -fno-asynchronous-unwind-tables -fno-builtin \
		   -Wall -Wextra -Werror -Wno-unused-parameter \
		   -I include -I $(EFI_INC) -I $(EFI_INC)/x86_64 \
		   -DEFI_FUNCTION_WRAPPER -DGNU_EFI_USE_MS_ABI=0 $(PKSV_CFLAGS)
# PKSV_CFLAGS=-DPKSV_TEST_HOOKS builds the test build of
# tests/harness/run-features.sh (vmm/test_hooks.c); never the release.
EFI_LDFLAGS	:= -nostdlib -znocombreloc --no-undefined -T $(EFI_LDS) -shared -Bsymbolic \
		   -L $(EFI_LIB) $(EFI_CRT0)
EFI_LIBS	:= -lefi -lgnuefi $(shell $(CC) -print-libgcc-file-name)
EFI_SECTIONS	:= -j .text -j .sdata -j .data -j .dynamic -j .dynsym \
		   -j .rel -j .rela -j .rel.* -j .rela.* -j .reloc

HV_SRCS		:= $(wildcard boot/*.c vmm/*.c ept/*.c pks/*.c lib/*.c)
HV_ASMS		:= $(wildcard vmm/*.asm)
HV_OBJS		:= $(HV_SRCS:%.c=$(BUILD)/hv/%.o) $(HV_ASMS:%.asm=$(BUILD)/hv/%.asm.o)

.PHONY: all unit test demo clean guest-efi

all: $(BUILD)/pksvisor.efi guest-efi

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(EFI_CFLAGS) -MMD -c $< -o $@

$(BUILD)/hv/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g $< -o $@

$(BUILD)/pksvisor.so: $(HV_OBJS)
	ld $(EFI_LDFLAGS) $(HV_OBJS) -o $@ $(EFI_LIBS)

$(BUILD)/pksvisor.efi: $(BUILD)/pksvisor.so
	$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

guest-efi:
	$(MAKE) -C tests/guest-efi BUILD=$(abspath $(BUILD))/guest-efi

unit:
	$(MAKE) -C tests/unit BUILD=$(abspath $(BUILD))/unit

test:
	tests/run-all.sh

demo:
	tests/demo.sh

clean:
	rm -rf $(BUILD)

-include $(HV_OBJS:.o=.d)
