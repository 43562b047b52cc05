/** Shared by the guest suites: where the agent put the module built for this kernel. */
export function koPath(): string {
  const ko = process.env['MMAPLAB_KO'];
  if (!ko) throw new Error('MMAPLAB_KO is not set: this suite runs inside an mmaplab VM');
  return ko;
}
