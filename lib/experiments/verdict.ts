/**
 * From evidence to a verdict. Pure: the same evidence always gives the same
 * verdict, and nothing is looked up from what the experiment "should" do.
 * Order of precedence: the worst thing the kernel did wins, then what the
 * user process suffered, then data, then a clean refusal, then ok. A window
 * that lost kernel log records can show the kernel broke, never that it
 * stayed quiet: then the verdict is an error saying what was lost.
 */
import type { CellEvidence, ProbeObservation, Verdict } from './types';

/** Taint bits that mean the kernel complained: B, D, W, L. */
export const TROUBLE_TAINTS = ['B', 'D', 'W', 'L'] as const;

export interface Judgement {
  verdict: Verdict;
  detail: string;
  headline: string;
}

/** What the kernel did, worst first: a panic, an oops (or taint D), a complaint, trouble taint; null when it stayed quiet. */
function kernelJudgement(ev: CellEvidence): Judgement | null {
  const panic = ev.findings.find((f) => f.severity === 'panic');
  if (panic) return { verdict: 'panic', detail: panic.kind, headline: panic.line };
  const oops = ev.findings.find((f) => f.severity === 'oops');
  if (oops || ev.taintGained.includes('D')) {
    return {
      verdict: 'oops',
      detail: oops?.kind ?? 'taint-D',
      headline: oops?.line ?? 'kernel gained taint D (died in an oops)',
    };
  }
  const complaint = ev.findings.find((f) => f.severity === 'complaint');
  if (complaint) {
    const reason = complaint.reason ? ` (${complaint.reason})` : '';
    return { verdict: 'kernel-complaint', detail: complaint.kind, headline: complaint.line + reason };
  }
  const trouble = ev.taintGained.filter((t) => (TROUBLE_TAINTS as readonly string[]).includes(t));
  if (trouble.length > 0) {
    return {
      verdict: 'kernel-complaint',
      detail: `taint-${trouble.join('')}`,
      headline: `kernel gained taint ${trouble.join('')} without a recognised message`,
    };
  }
  return null;
}

/** A probe that never reported, and where it was stuck when known. */
function hangJudgement(stuck: CellEvidence['stuck']): Judgement {
  const step = stuck?.step ? ` during ${stuck.step}${stuck.page !== null && stuck.page !== undefined ? ` at page ${stuck.page}` : ''}` : '';
  return {
    verdict: 'hang',
    detail: 'no-observation',
    headline: `the probe never reported${stuck ? `: ${stuck.where}${step}` : ''}`,
  };
}

/** Data the probe found wrong (kernel->user first, then user->kernel, after-free, a scenario's own view); null when none. */
function wrongDataJudgement(obs: ProbeObservation): Judgement | null {
  const mismatch = obs.kernelToUser ?? obs.userToKernel ?? obs.afterFree ?? obs.view?.mismatch ?? null;
  if (mismatch === null) return null;
  const dir =
    obs.kernelToUser !== null
      ? 'kernel->user'
      : obs.userToKernel !== null
        ? 'user->kernel'
        : obs.afterFree !== null
          ? 'after-free'
          : (obs.view?.what ?? 'view');
  return {
    verdict: 'wrong-data',
    detail: dir,
    headline: `${dir} mismatch at offset ${mismatch.offset}: expected 0x${hex(mismatch.expected)}, ` + `found 0x${hex(mismatch.found)}`,
  };
}

/** What the probe saw, worst first: a signal, wrong data, a refusal, its own error, else ok. */
function probeJudgement(obs: ProbeObservation): Judgement {
  if (obs.signal !== null) {
    const where =
      (obs.signalStep !== null ? ` during ${obs.signalStep}` : '') + (obs.signalPage !== null ? ` at page ${obs.signalPage}` : '');
    return { verdict: 'user-signal', detail: obs.signal, headline: `probe killed by ${obs.signal}${where}` };
  }
  const wrong = wrongDataJudgement(obs);
  if (wrong !== null) return wrong;
  if (obs.refused !== null) {
    const why = obs.refused.text ? ` (${obs.refused.text})` : '';
    return {
      verdict: 'refused',
      detail: obs.refused.code,
      headline: `${obs.refused.step} refused: ${obs.refused.message}${why}`,
    };
  }
  if (obs.error !== null) {
    return { verdict: 'error', detail: 'probe-error', headline: obs.error };
  }
  const found = obs.use?.outcome ?? '';
  if (found !== '') {
    return { verdict: 'ok', detail: found, headline: `${found}: data correct, no kernel complaint, no new taint` };
  }
  return { verdict: 'ok', detail: '', headline: 'data correct both ways, no kernel complaint, no new taint' };
}

export function judge(ev: CellEvidence): Judgement {
  const kernel = kernelJudgement(ev);
  if (kernel !== null) return kernel;
  const obs = ev.observation;
  if (obs === null) return hangJudgement(ev.stuck);
  if ((ev.kmsgLost ?? 0) > 0) {
    return {
      verdict: 'error',
      detail: 'kmsg-lost',
      headline:
        `${ev.kmsgLost} kernel log record(s) of this cell's window were overwritten before they were read ` +
        '(the ring buffer overran): a complaint may be among them, so the cell cannot be judged',
    };
  }
  return probeJudgement(obs);
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
