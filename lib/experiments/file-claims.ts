/**
 * The statements of the network-framebuffer conversation (how changes made
 * through a shared mapping reach the backing store), each answered per
 * kernel from the trigger measurements of lib/experiments/file-triggers.
 * Nothing here is assumed: a claim with no measurement is 'untested'.
 */
import type { FileMethod, Trigger, TriggerResult } from './file-triggers';

/** The answers travel in report.json: ./files-schema defines them. */
export type { FileClaim, FileClaimAnswer, FileClaimVerdict } from './files-schema';
import type { FileClaim, FileClaimAnswer, FileClaimVerdict } from './files-schema';

export const FILE_CLAIMS: readonly FileClaim[] = [
  {
    id: 'msync-writes',
    claim: 'changes reach the backing store at msync()',
    test: 'msync(MS_SYNC) and msync(MS_ASYNC) after writing every page: did all pages arrive?',
  },
  {
    id: 'munmap-writes',
    claim: 'changes reach the backing store after munmap()',
    test: 'munmap with the file still open: did the pages arrive within the bound?',
  },
  {
    id: 'pressure-writes',
    claim: 'under memory pressure the pages are written out by pageout',
    test: 'the writer alone in a memory-limited cgroup allocates: did pages arrive by writeback or reclaim before it ended?',
  },
  {
    id: 'writeback-later',
    claim: 'otherwise the kernel writes them back later by itself (writeback)',
    test: 'page cache with dirty_expire lowered for the cell: did the flusher deliver them?',
  },
  {
    id: 'no-read-write',
    claim: "changes made through a mapping never pass through the driver's read()/write()",
    test: 'read()/write() calls on the device over every measurement',
  },
  {
    id: 'kernel-initiated',
    claim: 'a driver can start the sync itself from the kernel every so often',
    test: "page cache with the module's periodic sync: did every page arrive by that path?",
  },
  {
    id: 'deferred-io',
    claim: "deferred I/O (fbdev's answer) delivers a screen's writes without msync",
    test: 'deferred I/O with a short delay: did every page arrive by the deferred flush?',
  },
  {
    id: 'close-writes',
    claim: 'closing the device delivers what is still dirty',
    test: 'munmap + close: did the pages arrive (by the release path)?',
  },
  {
    id: 'data-intact',
    claim: 'what arrives is exactly what was written through the mapping',
    test: 'the store compared with the written pattern, page by page, for every arrival',
  },
];

function find(results: readonly TriggerResult[], method: FileMethod, trigger: Trigger): TriggerResult | undefined {
  return results.find((r) => r.method === method && r.trigger === trigger && r.error === null);
}

function phrase(r: TriggerResult): string {
  const paths = Object.keys(r.paths).join('+') || 'no path';
  const when = r.lastMs === null ? '' : ` in ${r.lastMs.toFixed(0)} ms`;
  return `${r.method} ${r.trigger}: ${r.arrived}/${r.pages} (${paths}${when})`;
}

/** Every measured result: all arrived (true), none or some arrived (false). */
function judgeAll(rs: readonly (TriggerResult | undefined)[]): { verdict: FileClaimVerdict; evidence: string[] } {
  const got = rs.filter((r): r is TriggerResult => r !== undefined);
  if (got.length === 0) return { verdict: 'untested', evidence: [] };
  const full = got.filter((r) => r.arrived === r.pages).length;
  const verdict: FileClaimVerdict = full === got.length ? 'supports' : full === 0 ? 'contradicts' : 'mixed';
  return { verdict, evidence: got.map(phrase) };
}

/** The answers for one kernel's measurements. */
export function answerFileClaims(kernel: string, results: readonly TriggerResult[]): FileClaimAnswer[] {
  const methods: FileMethod[] = ['page_cache', 'deferred_io'];
  const per = (trigger: Trigger) => methods.map((t) => find(results, t, trigger));
  return FILE_CLAIMS.map((claim) => {
    let j: { verdict: FileClaimVerdict; evidence: string[] };
    switch (claim.id) {
      case 'msync-writes':
        j = judgeAll([...per('msync-sync'), ...per('msync-async')]);
        break;
      case 'munmap-writes':
        j = judgeAll(per('munmap'));
        break;
      case 'pressure-writes': {
        const r = find(results, 'page_cache', 'pressure');
        if (r === undefined) {
          j = { verdict: 'untested', evidence: [] };
        } else {
          const byPressure = ['writeback', 'background', 'reclaim', 'expiry'].reduce(
            (n, p) => n + (r.paths[p as keyof typeof r.paths] ?? 0),
            0,
          );
          j = {
            verdict: byPressure === r.pages ? 'supports' : byPressure === 0 ? 'contradicts' : 'mixed',
            evidence: [`${phrase(r)}${r.note ? `; ${r.note}` : ''}`],
          };
        }
        break;
      }
      case 'writeback-later':
        j = judgeAll([find(results, 'page_cache', 'expiry')]);
        break;
      case 'kernel-initiated':
        j = judgeAll([find(results, 'page_cache', 'periodic')]);
        break;
      case 'deferred-io':
        j = judgeAll([find(results, 'deferred_io', 'deferred')]);
        break;
      case 'close-writes':
        j = judgeAll(per('close'));
        break;
      case 'no-read-write': {
        const got = results.filter((r) => r.error === null);
        const calls = got.reduce((n, r) => n + r.readWriteCalls, 0);
        j =
          got.length === 0
            ? { verdict: 'untested', evidence: [] }
            : {
                verdict: calls === 0 ? 'supports' : 'contradicts',
                evidence: [`${calls} read()/write() call(s) over ${got.length} measurements`],
              };
        break;
      }
      case 'data-intact': {
        const arrived = results.filter((r) => r.error === null && r.arrived > 0);
        const bad = arrived.filter((r) => !r.intact);
        j =
          arrived.length === 0
            ? { verdict: 'untested', evidence: [] }
            : {
                verdict: bad.length === 0 ? 'supports' : 'contradicts',
                evidence:
                  bad.length === 0
                    ? [`${arrived.length} measurements with arrivals, every page as written`]
                    : bad.map((r) => `${r.method} ${r.trigger}: bytes differ from what was written`),
              };
        break;
      }
      default:
        j = { verdict: 'untested', evidence: [] };
    }
    return { claim, kernel, ...j };
  });
}

/** claim | kernel | verdict | evidence, as text lines. */
export function renderFileClaims(answers: readonly FileClaimAnswer[]): string {
  const lines: string[] = [];
  for (const claim of FILE_CLAIMS) {
    lines.push(`"${claim.claim}"`);
    for (const a of answers.filter((x) => x.claim.id === claim.id)) {
      lines.push(`  ${a.kernel}: ${a.verdict}${a.evidence.length ? ` (${a.evidence.join('; ')})` : ''}`);
    }
  }
  return lines.join('\n');
}
