#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0 OR MIT)
#
# test-man.sh: the man pages in man/ render without a single groff or
# man warning (`man --warnings=w`: every groff warning; the default and
# "all" leave out undefined macros), and say what the code does:
# pksvisor.cfg(5) documents every option boot/config.c accepts, every
# accepted word, and each default as pksvisor-cfgcheck (pksvisor's own
# parser) reports it; pksvisor-install(8) and pksvisor-stat(1) document
# every option of their --help.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$(realpath -m "${BUILD:-$ROOT/build}")"
. "$HERE/check-lib.sh"
. "$ROOT/tests/harness/lib.sh"
need_pkg groff-base man-db
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/host/pksvisor-cfgcheck" >&2 || exit 1
MAN="${PKSV_MAN_DIR:-$ROOT/man}"
T="$BUILD/test-man"; mkdir -p "$T"

render() { MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings=w -l "$1" 2>"$T/warn" | col -b; }
for page in pksvisor.8 pksvisor.cfg.5 pksvisor-install.8 pksvisor-stat.1; do
	f="$MAN/$page"
	if [ ! -f "$f" ]; then notok "$page exists"; continue; fi
	render "$f" >"$T/$page.txt"
	same "$page: man --warnings=w is silent" "$(cat "$T/warn")" ""
	for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
		same "$page: has $s" "$(grep -c "^$s\$" "$T/$page.txt")" 1
	done
done

# pksvisor.cfg(5) against boot/config.c and the parser's defaults.
check "pksvisor.cfg(5) matches boot/config.c" 0 python3 - "$ROOT/boot/config.c" \
	"$T/pksvisor.cfg.5.txt" "$BUILD/host/pksvisor-cfgcheck" <<'PY'
import re, subprocess, sys
src, page, cfgcheck = sys.argv[1:]
c = open(src).read()
text = open(page).read()
bad = []
accepted = re.search(r'#define ACCEPTED_OPTIONS\s*\\\s*"([^"]*)"', c).group(1).split()
keys = [k.rstrip('=') for k in accepted]
# Option paragraphs: from "       key=" at the option indent to the next one.
paras = {}
opts = re.split(r'\n(?=       [a-z0-9_]+=)', text.split('\nERRORS')[0])
for p in opts:
    m = re.match(r'\s+([a-z0-9_]+)=', p)
    if m:
        paras[m.group(1)] = ' '.join(p.split())
for k in keys:
    if k not in paras:
        bad.append(f'option {k}= not documented')
# Every word of the enumerated values, e.g. "auto|hw|soft|off".
for k, acc in re.findall(r'\[OPT_\w+\] = \{ "(\w+)",\s*"([^"]*)"', c):
    if '|' in acc:
        for w in acc.split('|'):
            if not re.search(rf'\b{w}\b', paras.get(k, '')):
                bad.append(f'{k}: accepted value {w} not documented')
defaults = subprocess.run([cfgcheck, '--options', ''], capture_output=True,
                          text=True, check=True).stdout.split('\n')
for line in filter(None, defaults):
    k, v = line.split('=', 1)
    v = v.strip('"')
    want = f'Default: {v}.' if v else None
    p = paras.get(k, '')
    if want and want not in p:
        bad.append(f'{k}: "{want}" missing (parser default is {v!r})')
    if not want and 'Default: none' not in p and 'Default: empty' not in p:
        bad.append(f'{k}: empty default not documented')
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
[ "$(cat "$OUT")" = "" ] || cat "$OUT"

# Tools: every long option of --help is in the page.
for tool in pksvisor-install:pksvisor-install.8 pksvisor-stat:pksvisor-stat.1; do
	t=${tool%%:*} page=${tool#*:}
	missing=""
	for o in $("$ROOT/tools/$t" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		grep -qF -- "$o" "$T/$page.txt" 2>/dev/null || missing="$missing $o"
	done
	same "$page documents every option of $t --help" "$missing" ""
done
finish test-man
