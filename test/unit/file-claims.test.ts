/** lib/experiments/file-claims: each statement judged from trigger measurements only. */
import { strict as assert } from 'node:assert';
import { answerFileClaims, FILE_CLAIMS, renderFileClaims } from '../../lib/experiments/file-claims';
import type { FileMethod, Trigger, TriggerResult } from '../../lib/experiments/file-triggers';

function result(method: FileMethod, trigger: Trigger, arrived: number, over: Partial<TriggerResult> = {}): TriggerResult {
  return {
    method,
    trigger,
    pages: 16,
    arrived,
    firstMs: arrived ? 1 : null,
    lastMs: arrived ? 2 : null,
    paths: arrived ? { fsync: arrived } : {},
    intact: true,
    readWriteCalls: 0,
    batches: arrived ? 1 : 0,
    mkwriteFaults: 16,
    pagesWritten: arrived,
    note: null,
    error: null,
    ...over,
  };
}

const verdictOf = (answers: ReturnType<typeof answerFileClaims>, id: string) => answers.find((a) => a.claim.id === id)?.verdict;

describe('file claims', () => {
  it('every claim is untested without measurements', () => {
    const answers = answerFileClaims('k', []);
    assert.equal(answers.length, FILE_CLAIMS.length);
    assert.ok(answers.every((a) => a.verdict === 'untested' && a.evidence.length === 0));
  });

  it('msync: MS_SYNC delivering and MS_ASYNC not is mixed; both delivering supports', () => {
    const mixed = answerFileClaims('k', [result('page_cache', 'msync-sync', 16), result('page_cache', 'msync-async', 0)]);
    assert.equal(verdictOf(mixed, 'msync-writes'), 'mixed');
    const all = answerFileClaims('k', [result('page_cache', 'msync-sync', 16), result('deferred_io', 'msync-sync', 16)]);
    assert.equal(verdictOf(all, 'msync-writes'), 'supports');
  });

  it('munmap delivering nothing on either method contradicts the claim; a failed measurement is not evidence', () => {
    const answers = answerFileClaims('k', [
      result('page_cache', 'munmap', 0),
      result('deferred_io', 'munmap', 0),
      result('page_cache', 'expiry', 16, { error: 'EACCES: no sysctl' }),
    ]);
    assert.equal(verdictOf(answers, 'munmap-writes'), 'contradicts');
    assert.equal(verdictOf(answers, 'writeback-later'), 'untested');
  });

  it('read()/write() calls and corrupted arrivals contradict their claims', () => {
    const answers = answerFileClaims('k', [
      result('page_cache', 'flush', 16, { readWriteCalls: 1 }),
      result('deferred_io', 'deferred', 16, { intact: false }),
    ]);
    assert.equal(verdictOf(answers, 'no-read-write'), 'contradicts');
    assert.equal(verdictOf(answers, 'data-intact'), 'contradicts');
    assert.equal(verdictOf(answers, 'deferred-io'), 'supports');
  });

  it('renders each claim with one line per kernel', () => {
    const text = renderFileClaims([
      ...answerFileClaims('6.1', [result('page_cache', 'periodic', 16)]),
      ...answerFileClaims('6.12', [result('page_cache', 'periodic', 8)]),
    ]);
    assert.match(
      text,
      /"a driver can start the sync itself from the kernel every so often"\n {2}6\.1: supports \(page_cache periodic: 16\/16 \(fsync in 2 ms\)\)\n {2}6\.12: contradicts/,
    );
  });
});
