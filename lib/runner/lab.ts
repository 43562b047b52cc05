/**
 * A lab machine: the kernel it runs, found through
 * /lib/modules/$(uname -r)/build whatever /boot holds (Fedora keeps its
 * images elsewhere, a custom kernel may have none there), what to install
 * for its headers on its distribution, and what an insmod refusal under
 * Secure Boot means.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MmaplabError } from '../util/errors';
import { seriesOf, type Kernel } from '../vm/kernels';

/** ID and ID_LIKE of /etc/os-release, lower case ("ubuntu", "debian"). */
export function osIds(osRelease: string): string[] {
  const ids: string[] = [];
  for (const line of osRelease.split('\n')) {
    const [, value] = /^(?:ID|ID_LIKE)=(.*)$/.exec(line.trim()) ?? [];
    if (value !== undefined)
      ids.push(
        ...value
          .replace(/^["']|["']$/g, '')
          .toLowerCase()
          .split(/\s+/),
      );
  }
  return ids.filter((s) => s !== '');
}

/** The command that installs the headers of `release` on this distribution. */
export function headersInstallHint(release: string, ids: readonly string[]): string {
  const is = (...names: string[]): boolean => names.some((n) => ids.includes(n));
  if (is('debian', 'ubuntu')) return `apt-get install linux-headers-${release}`;
  if (is('fedora', 'rhel', 'centos')) return `dnf install kernel-devel-${release}`;
  if (is('suse', 'opensuse')) return 'zypper install kernel-default-devel (the one matching the running kernel)';
  if (is('arch')) return 'pacman -S linux-headers (for the running kernel)';
  return `install the kbuild tree (headers) of ${release} so that /lib/modules/${release}/build exists`;
}

function readOsRelease(): string {
  for (const f of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      // try the next
    }
  }
  return '';
}

/**
 * The running kernel as a Kernel to build modules for: its kbuild tree under
 * /lib/modules/RELEASE/build (no image needed), or ENOHEADERS saying what to
 * install here.
 */
export function runningKernel(modulesRoot = '/lib/modules', release = os.release(), osRelease = readOsRelease()): Kernel {
  const modulesDir = path.join(modulesRoot, release);
  const buildDir = path.join(modulesDir, 'build');
  if (!fs.existsSync(path.join(buildDir, 'Makefile'))) {
    throw new MmaplabError(
      'ENOHEADERS',
      `no headers for the running kernel ${release} (${buildDir} has no Makefile): ${headersInstallHint(release, osIds(osRelease))}`,
      { release },
    );
  }
  return { release, image: '', buildDir, modulesDir, series: seriesOf(release), origin: 'installed' };
}

/**
 * What to do when insmod is refused, where the refusal has a known cause:
 * a kernel that enforces module signatures (Secure Boot's lockdown) says
 * "Key was rejected by service" (EKEYREJECTED) for an unsigned module.
 */
export function insmodAdvice(message: string, ko: string): string | null {
  if (/Key was rejected by service|Required key not available/i.test(message)) {
    return (
      'this kernel only loads signed modules (Secure Boot). Sign the module with a key the firmware trusts:\n' +
      '  1. make a key once: openssl req -new -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=mmaplab/" ' +
      '-keyout MOK.priv -outform DER -out MOK.der\n' +
      '  2. enrol it: mokutil --import MOK.der, reboot, and confirm it in the MOK manager\n' +
      `  3. sign: /lib/modules/$(uname -r)/build/scripts/sign-file sha256 MOK.priv MOK.der ${ko}\n` +
      'DKMS (scripts/lab-install.sh) signs with its own key on Debian and Ubuntu: enrol it with mokutil --import ' +
      '/var/lib/dkms/mok.pub. Or turn Secure Boot off in the firmware of a machine kept for tests.'
    );
  }
  if (/Operation not permitted/i.test(message) && !/Key/i.test(message)) {
    return 'insmod needs root (CAP_SYS_MODULE), and a kernel in lockdown refuses unsigned modules even to root';
  }
  return null;
}
