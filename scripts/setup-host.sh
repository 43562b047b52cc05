#!/bin/sh
# Install the Debian 12 packages mmaplab needs on the host. Does nothing (and
# needs no root) when everything is already installed; safe to run any time.
#
#   qemu-system-x86   boots the kernels under test
#   busybox-static    the guest's /init and tools (must be static: initramfs)
#   xz-utils, zstd    Debian's 6.1 images are xz, 6.12 images are zstd; .ko.xz
#   kmod              insmod/rmmod/modinfo
#   build-essential   compiler for mmaplab.ko and the addon
#   linux-image-amd64 + linux-headers-amd64             the 6.1 series
#   linux-image-6.12-amd64 + linux-headers-6.12-amd64   the 6.12 series
#   chromium          headless, renders report.html in the test suite
#                     (test/vm/html-render.test.ts): only for `test` (below)
#   dkms              builds the module as a lab machine installs it
#                     (test/vm/kmod-build.test.ts): only for `test`
#   linux-source-6.12 the kernel's checkpatch.pl, which the unit tests run
#                     over kmod/ (test/c-style.ts takes it out of the source
#                     tarball once): only for `test`
#   perl              runs checkpatch.pl (its Term::ANSIColor and Encode are
#                     not in perl-base): only for `test`
#   clang-format      checks the addon's layout against native/.clang-format
#                     in the unit tests: only for `test`
#
# An argument names what the packages are for: `matrix` (also bench) leaves
# out what only the tests need; `test` or none installs everything. Two
# more sets come on top of those, only when asked for:
#
#   flavours      Debian's -rt (PREEMPT_RT) and -cloud kernels of both series,
#                 with headers (--kernel 6.1-rt, --kernel 6.12-cloud)
#   kernel-build  Debian's kernel sources (linux-source-6.1, -6.12) and their
#                 configurations (linux-config-*, only recommended by the
#                 sources), and what building them needs (openssl makes the
#                 module signing key), for `mmaplab kernel build`
set -eu

PACKAGES="qemu-system-x86 busybox-static xz-utils zstd kmod build-essential python3
linux-image-amd64 linux-headers-amd64 linux-image-6.12-amd64 linux-headers-6.12-amd64"
case "${1:-test}" in
matrix) ;;
test) PACKAGES="$PACKAGES chromium dkms linux-source-6.12 perl clang-format" ;;
flavours) PACKAGES="linux-image-rt-amd64 linux-headers-rt-amd64 linux-image-cloud-amd64 linux-headers-cloud-amd64
linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64 linux-image-6.12-cloud-amd64 linux-headers-6.12-cloud-amd64" ;;
kernel-build) PACKAGES="linux-source-6.1 linux-config-6.1 linux-source-6.12 linux-config-6.12 build-essential bc bison flex
libelf-dev libssl-dev openssl xz-utils" ;;
*) echo "mmaplab: setup-host.sh takes matrix, test, flavours or kernel-build, not '$1'" >&2; exit 2 ;;
esac

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "mmaplab: missing Debian packages:$missing" >&2
	echo "mmaplab: installing them needs root: run 'sudo sh scripts/setup-host.sh' once" >&2
	exit 1
fi

echo "mmaplab: installing:$missing"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
