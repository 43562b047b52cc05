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
#
# An argument names what the packages are for: `matrix` (also bench) leaves
# out what only the tests need; `test` or none installs everything.
set -eu

PACKAGES="qemu-system-x86 busybox-static xz-utils zstd kmod build-essential python3
linux-image-amd64 linux-headers-amd64 linux-image-6.12-amd64 linux-headers-6.12-amd64"
case "${1:-test}" in
matrix) ;;
test) PACKAGES="$PACKAGES chromium" ;;
*) echo "mmaplab: setup-host.sh takes matrix or test, not '$1'" >&2; exit 2 ;;
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
