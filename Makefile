# pksvisor top-level build.
#   make            build/pksvisor.efi and the EFI test programs
#   make unit       host unit tests (cmocka, ASan + UBSan)
#   make test       every test (installs Debian packages when missing)
#   make demo       build everything, boot pksvisor + Linux in Bochs
#   make install    install pksvisor.efi, tools and man pages under
#                   DESTDIR/PREFIX; with ESP=DIR also run pksvisor-install
#                   on that ESP (INSTALL_ARGS= passes it more options)
#   make sign KEY=key.pem CERT=cert.pem
#                   Secure Boot: build/pksvisor.signed.efi (sbsigntool)
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

.PHONY: all unit test demo clean guest-efi host-tools install sign bench

all: $(BUILD)/pksvisor.efi guest-efi host-tools

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	@$(CC) $(EFI_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/hv/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g $< -o $@

$(BUILD)/pksvisor.so: $(HV_OBJS)
	ld $(EFI_LDFLAGS) $(HV_OBJS) -o $@ $(EFI_LIBS)

$(BUILD)/pksvisor.efi: $(BUILD)/pksvisor.so
	$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

guest-efi:
	$(MAKE) -C tests/guest-efi BUILD=$(abspath $(BUILD))/guest-efi

# pksvisor's option parser built for the host: tools/pksvisor-install
# validates configurations with the code pksvisor itself runs.
HOST_CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Werror -I include
CFGCHECK_SRCS	:= tools/pksvisor-cfgcheck.c boot/config.c lib/format.c

host-tools: $(BUILD)/host/pksvisor-cfgcheck

$(BUILD)/host/pksvisor-cfgcheck: $(CFGCHECK_SRCS) $(wildcard include/pksvisor/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(CFGCHECK_SRCS) -o $@

# Installation (docs/install.md).  Files go to DESTDIR/PREFIX; the ESP is
# only touched when ESP= is given.
PREFIX		?= /usr/local
DESTDIR		?=
LIBDIR		:= $(DESTDIR)$(PREFIX)/lib/pksvisor
SBINDIR		:= $(DESTDIR)$(PREFIX)/sbin
BINDIR		:= $(DESTDIR)$(PREFIX)/bin
MANDIR		:= $(DESTDIR)$(PREFIX)/share/man
ESP		?=
INSTALL_ARGS	?=

install: $(BUILD)/pksvisor.efi $(BUILD)/host/pksvisor-cfgcheck
	install -d $(LIBDIR) $(SBINDIR) $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man8
	install -m 0644 $(BUILD)/pksvisor.efi $(LIBDIR)/pksvisor.efi
	install -m 0755 $(BUILD)/host/pksvisor-cfgcheck $(LIBDIR)/pksvisor-cfgcheck
	install -m 0755 tools/pksvisor-install $(SBINDIR)/pksvisor-install
	install -m 0755 tools/pksvisor-stat $(BINDIR)/pksvisor-stat
	install -m 0644 man/pksvisor.8 $(MANDIR)/man8/pksvisor.8
	install -m 0644 man/pksvisor-install.8 $(MANDIR)/man8/pksvisor-install.8
	install -m 0644 man/pksvisor-stat.1 $(MANDIR)/man1/pksvisor-stat.1
	install -m 0644 man/pksvisor.cfg.5 $(MANDIR)/man5/pksvisor.cfg.5
ifneq ($(ESP),)
	PKSVISOR_CFGCHECK=$(LIBDIR)/pksvisor-cfgcheck \
		$(SBINDIR)/pksvisor-install --esp $(ESP) \
		--image $(LIBDIR)/pksvisor.efi $(INSTALL_ARGS)
endif

# Secure Boot signing (docs/secure-boot.md).  The unsigned image stays as
# it is; the signed copy is what goes on a Secure Boot machine's ESP.
KEY		?=
CERT		?=

sign: $(BUILD)/pksvisor.efi
	@test -n "$(KEY)" -a -n "$(CERT)" || \
		{ echo "make sign: give KEY=private-key.pem CERT=certificate.pem"; exit 2; }
	sbsign --key $(KEY) --cert $(CERT) --output $(BUILD)/pksvisor.signed.efi $(BUILD)/pksvisor.efi
	sbverify --cert $(CERT) $(BUILD)/pksvisor.signed.efi

unit:
	$(MAKE) -C tests/unit BUILD=$(abspath $(BUILD))/unit

test:
	tests/run-all.sh

demo:
	tests/demo.sh

# VM exits per PKS operation, pks=soft (Bochs 2.7) and pks=hw (upstream
# Bochs) side by side: table, $(BUILD)/bench/bench.csv, bench.png
# (docs/benchmarks.md); fails when a bound breaks.
bench: all
	BUILD=$(abspath $(BUILD)) tests/harness/make-bench.sh

clean:
	rm -rf $(BUILD)

-include $(HV_OBJS:.o=.d)
