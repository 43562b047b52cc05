/**
 * Choosing the accelerator. /dev/kvm existing proves nothing (on some hosts
 * a guest just hangs on it), so KVM is used only after a short probe boot
 * under KVM reached the guest agent.
 */
import * as fs from 'node:fs';
import { MmaplabError } from '../util/errors';
import type { Kernel } from './kernels';
import type { Accel } from './qemu';
import { DEFAULT_VM, runJob } from './session';

export const KVM_PROBE_TIMEOUT_MS = 20_000;

const probed = new Map<string, boolean>();

export async function kvmWorks(kernel: Kernel): Promise<boolean> {
  const known = probed.get(kernel.release);
  if (known !== undefined) return known;
  let ok = false;
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    const run = await runJob(
      kernel,
      { kind: 'idle', kernel: kernel.release },
      { ...DEFAULT_VM, accel: 'kvm', timeoutMs: KVM_PROBE_TIMEOUT_MS },
      'kvm-probe',
    );
    ok = run.agentStatus === 0;
  } catch {
    ok = false;
  }
  probed.set(kernel.release, ok);
  return ok;
}

export async function resolveAccel(choice: 'auto' | Accel, kernel: Kernel): Promise<Accel> {
  if (choice === 'tcg') return 'tcg';
  const works = await kvmWorks(kernel);
  if (choice === 'kvm' && !works) {
    throw new MmaplabError(
      'ENOKVM',
      'KVM was requested but a probe boot under KVM did not reach the guest agent ' +
        `within ${KVM_PROBE_TIMEOUT_MS / 1000} s; use --accel tcg`,
    );
  }
  return works ? 'kvm' : 'tcg';
}
