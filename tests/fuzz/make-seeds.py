#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerate the hand-made seed inputs in tests/fuzz/corpus/<target>/.

The byte format is the one fuzz_hypercall.c reads: an opcode byte (taken
modulo the number of operations) followed by its argument bytes.  Each
seed is a short scenario; libFuzzer mutates and splices them.
"""
import os

OP_VMCALL, OP_KM_ADD, OP_KM_REMOVE, OP_KM_CLEAR, OP_KM_LOOKUP, OP_U_GET, \
    OP_U_PUT, OP_U_LOOKUP, OP_U_BULK_GET, OP_U_BULK_PUT, OP_U_SATURATE, \
    OP_CHECK, OP_KM_FILL = range(13)

PV, DISC = 0x00, 0x01           # arg_source bytes
R, W, RW = 1, 2, 3              # arg_access bytes (0, 4, 7 are invalid too)
HC_REG, HC_UNREG, HC_UNPROT, HC_PROT = 0x10, 0x11, 0x12, 0x13
HC_PV_RANGES, HC_GET_STATS = 0x1a, 0x1b


def page(n):                    # arg_addr: page n (n < 128)
    return [n]


def pages(n):                   # arg_len: n pages (n < 32)
    return [n]


def coll(i):                    # arg_gfn: colliding gfn #i (home 4094..1)
    return [i]


def small(g):                   # arg_gfn: gfn g (g < 64)
    return [0x40 | g]


def u16le(v):
    return [v & 0xff, v >> 8]


def vmcall(nr, cpl, *args):
    return [OP_VMCALL, nr, cpl] + [b for a in args for b in a]


def stats(gpa, length, need, unaligned=False):
    # GET_STATS on the fake machine: RAM pages 0..95, pool 96..111
    return vmcall(HC_GET_STATS, 0, gpa, u16le(length),
                  [0xff if unaligned else 0], u16le(need - 1))


seeds = {
    # ABI 1.1: PV_RANGES decodes; GET_STATS into a keyed page, a kmap()ed
    # page, the pool, MMIO, bad lengths, too small, and a good page
    "get-stats": (
        vmcall(HC_PV_RANGES, 0) +
        vmcall(HC_REG, 0, page(4), pages(2), [3]) +
        stats(page(5), 4096, 900) +                         # EPERM: keyed
        vmcall(HC_UNPROT, 0, small(9), [RW]) +
        stats(page(9), 4096, 900) +                         # EPERM: table
        stats(page(100), 4096, 900) +                       # EFAULT: pool
        stats(page(120), 4096, 900) +                       # EFAULT: MMIO
        stats(page(10), 0, 900) +                           # EINVAL
        stats(page(10), 4097, 900) +                        # EINVAL
        stats(page(10), 4096, 900, unaligned=True) +        # EALIGN
        stats(page(10), 512, 900) +                         # ENOSPC
        stats(page(10), 4096, 900) +                        # ok
        stats(page(95), 4096, 4096) +                       # ok, last page
        vmcall(HC_PROT, 0, small(9)) +
        stats(page(9), 4096, 900) + [OP_CHECK]),
    # register, split by unregister, refused CPL 3 / wrong magic, lookups
    "vmcall-range": (
        vmcall(HC_REG, 0, page(4), pages(8), [3]) +
        vmcall(HC_UNREG, 0, page(6), pages(2), [0]) +
        vmcall(HC_REG, 3) +                                 # #UD: no args
        [OP_VMCALL, 0xf0] + [0x10, 0, 0, 0, 0x57, 0x53, 0x4b, 0x50] + [0] +
        [OP_VMCALL, 0xf0] + [0x10, 0, 0, 0, 0x56, 0x53, 0x4b, 0x50] + [0] +
        page(40) + pages(1) + [5] +                         # raw RAX, ok
        vmcall(HC_REG, 0, page(12), pages(1), [16]) +       # EKEY
        vmcall(HC_UNPROT, 0, coll(1), [RW]) +
        vmcall(HC_PROT, 0, coll(1)) +
        vmcall(HC_PROT, 0, coll(1)) +                       # ENOENT
        [OP_KM_LOOKUP] + page(5) + u16le(0x123) +
        [OP_KM_LOOKUP] + page(7) + u16le(0)),
    # refcounts and access union on colliding gfns, bad accesses, ERANGE
    "unprotect-refs": (
        [OP_U_GET] + coll(0) + [R] + [OP_U_GET] + coll(16) + [R] +
        [OP_U_GET] + coll(1) + [R] + [OP_U_GET] + coll(0) + [RW] +
        [OP_U_GET] + coll(2) + [W] + [OP_U_GET] + coll(2) + [0] +
        [OP_U_GET] + coll(2) + [4] + [OP_U_GET] + coll(2) + [7] +
        [OP_U_PUT] + coll(0) + [OP_U_PUT] + coll(16) +
        [OP_U_PUT] + coll(16) + [OP_U_LOOKUP] + coll(1) +
        [OP_U_SATURATE] + coll(0) + [1] +
        [OP_U_GET] + coll(0) + [R] + [OP_U_GET] + coll(0) + [RW] +
        [OP_U_PUT] + coll(0) + [OP_CHECK]),
    # fill the unprotect table to UNPROTECT_MAX, ENOSPC, drain half
    "unprotect-full": (
        [OP_U_BULK_GET] + small(0) + u16le(3071) + [0] +
        [OP_U_GET] + coll(3) + [R] +                        # ENOSPC
        [OP_U_GET] + small(5) + [RW] +
        [OP_U_BULK_PUT] + small(0) + u16le(1535) + [0] +
        [OP_U_BULK_GET] + coll(0) + u16le(15) + [1] + [OP_CHECK]),
    # KEYMAP_MAX ranges and beyond, refused split, clear
    "keymap-full": (
        [OP_KM_FILL] + page(0) + [0xff, 2, 0] +             # 320 x key 1
        [OP_KM_ADD] + page(0) + pages(3) + [1, PV] +        # grow, no slot
        [OP_KM_REMOVE] + page(1) + pages(1) + [PV] +        # split: ENOSPC
        [OP_KM_REMOVE] + page(0) + pages(1) + [PV] +        # trim
        [OP_KM_REMOVE] + [0x80] + u16le(0x40) + pages(1) + [PV] +
        [OP_KM_CLEAR, PV, OP_CHECK]),
    # both sources, merges, conflicts, trims, wrap at 2^64, clear
    "keymap-mixed": (
        [OP_KM_ADD] + page(10) + pages(4) + [2, PV] +
        [OP_KM_ADD] + page(14) + pages(2) + [2, DISC] +
        [OP_KM_ADD] + page(16) + pages(2) + [2, PV] +
        [OP_KM_ADD] + page(12) + pages(6) + [2, PV] +       # conflict
        [OP_KM_ADD] + page(8) + pages(3) + [2, PV] +        # merge
        [OP_KM_ADD] + page(30) + pages(0) + [2, PV] +       # len 0
        [OP_KM_ADD] + [0xc0, 0] + pages(1) + [2, PV] +      # ends at 2^64
        [OP_KM_ADD] + [0xc0, 1] + pages(1) + [2, PV] +
        [OP_KM_REMOVE] + page(9) + pages(6) + [PV] +
        [OP_KM_REMOVE] + page(9) + pages(6) + [0xf0, 7] +   # bad source
        [OP_KM_CLEAR, DISC] +
        [OP_KM_LOOKUP] + page(16) + u16le(0)),
}

d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus",
                 "fuzz_hypercall")
os.makedirs(d, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))
