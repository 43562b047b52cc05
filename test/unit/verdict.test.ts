/**
 * lib/experiments/verdict judge() on hand-built evidence: the worst thing the
 * kernel did wins, then what the probe process suffered, then data, then a
 * clean refusal, then ok.
 */
import { strict as assert } from 'node:assert';
import { TROUBLE_TAINTS, judge } from '../../lib/experiments/verdict';
import type { CellEvidence, EvidenceFinding, ProbeObservation } from '../../lib/experiments/types';

function observation(over: Partial<ProbeObservation> = {}): ProbeObservation {
  return {
    steps: ['open', 'configure', 'fill', 'mmap', 'read', 'write', 'verify', 'munmap', 'drain', 'close'],
    refused: null,
    kernelToUser: null,
    userToKernel: null,
    signal: null,
    signalStep: null,
    signalPage: null,
    view: null,
    error: null,
    drainedCpu: 0,
    stats: null,
    afterFree: null,
    pfnsConsecutive: null,
    ...over,
  };
}

function evidence(over: Partial<CellEvidence> = {}): CellEvidence {
  return { kmsg: [], findings: [], taintGained: [], observation: observation(), ...over };
}

const PANIC: EvidenceFinding = { kind: 'panic', severity: 'panic', line: 'Kernel panic - not syncing: Fatal exception' };
const OOPS: EvidenceFinding = {
  kind: 'page-fault-oops',
  severity: 'oops',
  line: 'BUG: unable to handle page fault for address: ffffea0004000008',
};
const BAD_PAGE: EvidenceFinding = {
  kind: 'bad-page-state',
  severity: 'complaint',
  line: 'BUG: Bad page state in process rmmod  pfn:10a3b1',
  reason: 'nonzero _refcount',
};
const WARNING: EvidenceFinding = {
  kind: 'warning',
  severity: 'complaint',
  line: 'WARNING: CPU: 0 PID: 231 at mm/page_alloc.c:1234 free_pcp_prepare+0x1c1/0x250',
};

/** Every lesser problem at once: a signal, both mismatches, a refusal, an error. */
const EVERYTHING_ELSE = observation({
  signal: 'SIGBUS',
  kernelToUser: { offset: 4096, expected: 0x12345678, found: 0 },
  userToKernel: { offset: 8, expected: 1, found: 2 },
  refused: { step: 'mmap', code: 'EINVAL', message: 'Invalid argument' },
  error: 'probe crashed',
});

describe('verdict', () => {
  it('a panic outranks an oops, complaints, taint and every probe result', () => {
    const j = judge(evidence({ findings: [BAD_PAGE, OOPS, PANIC], taintGained: ['B', 'D', 'W'], observation: EVERYTHING_ELSE }));
    assert.deepEqual(j, { verdict: 'panic', detail: 'panic', headline: 'Kernel panic - not syncing: Fatal exception' });
  });

  it('a panic with no observation is still a panic, not a hang', () => {
    assert.equal(judge(evidence({ findings: [PANIC], observation: null })).verdict, 'panic');
  });

  it('an oops outranks complaints and taint; its line is the headline', () => {
    const j = judge(evidence({ findings: [BAD_PAGE, OOPS], taintGained: ['B', 'D'], observation: EVERYTHING_ELSE }));
    assert.deepEqual(j, { verdict: 'oops', detail: 'page-fault-oops', headline: OOPS.line });
  });

  it('taint D without an oops message is an oops', () => {
    const j = judge(evidence({ findings: [BAD_PAGE], taintGained: ['D'], observation: null }));
    assert.deepEqual(j, { verdict: 'oops', detail: 'taint-D', headline: 'kernel gained taint D (died in an oops)' });
  });

  it('a complaint outranks trouble taint and probe results; its reason joins the headline', () => {
    const j = judge(evidence({ findings: [BAD_PAGE, WARNING], taintGained: ['B', 'W'], observation: EVERYTHING_ELSE }));
    assert.deepEqual(j, {
      verdict: 'kernel-complaint',
      detail: 'bad-page-state',
      headline: 'BUG: Bad page state in process rmmod  pfn:10a3b1 (nonzero _refcount)',
    });
  });

  it('a complaint without a reason has its line alone as the headline', () => {
    const j = judge(evidence({ findings: [WARNING] }));
    assert.deepEqual(j, { verdict: 'kernel-complaint', detail: 'warning', headline: WARNING.line });
  });

  it('trouble taint without a recognised message is a complaint named after the letters', () => {
    const j = judge(evidence({ taintGained: ['B', 'W'], observation: EVERYTHING_ELSE }));
    assert.deepEqual(j, {
      verdict: 'kernel-complaint',
      detail: 'taint-BW',
      headline: 'kernel gained taint BW without a recognised message',
    });
    for (const t of TROUBLE_TAINTS.filter((x) => x !== 'D')) {
      assert.equal(judge(evidence({ taintGained: [t] })).detail, `taint-${t}`);
    }
  });

  it('other taint letters are not trouble', () => {
    assert.equal(judge(evidence({ taintGained: ['O', 'E', 'G', 'S'] })).verdict, 'ok');
  });

  it('kernel evidence outranks a probe that never reported', () => {
    assert.equal(judge(evidence({ findings: [OOPS], observation: null })).verdict, 'oops');
    assert.equal(judge(evidence({ findings: [WARNING], observation: null })).verdict, 'kernel-complaint');
    assert.equal(judge(evidence({ taintGained: ['L'], observation: null })).verdict, 'kernel-complaint');
  });

  it('no observation and a quiet kernel is a hang', () => {
    assert.deepEqual(judge(evidence({ observation: null })), {
      verdict: 'hang',
      detail: 'no-observation',
      headline: 'the probe never reported',
    });
  });

  it('a hang says where the probe was stuck when it was killed: in the kernel at which function, in which step', () => {
    const stuck = {
      tasks: [
        {
          tid: 154,
          comm: 'node',
          state: 'D',
          wchan: 'folio_wait_bit_common',
          syscall: '11 0x7f 0x4000',
          stack: ['folio_wait_bit_common+0x13a/0x310'],
        },
      ],
      where: 'stuck in the kernel at folio_wait_bit_common (state D, main thread)',
      step: 'munmap' as const,
      page: null,
    };
    assert.equal(
      judge(evidence({ observation: null, stuck })).headline,
      'the probe never reported: stuck in the kernel at folio_wait_bit_common (state D, main thread) during munmap',
    );
    assert.equal(
      judge(evidence({ observation: null, stuck: { ...stuck, step: 'read', page: 3 } })).headline.endsWith('during read at page 3'),
      true,
    );
  });

  it('a window that lost kernel log records cannot be judged ok (or any quiet verdict): an error says what was lost', () => {
    const j = judge(evidence({ kmsgLost: 12 }));
    assert.equal(j.verdict, 'error');
    assert.equal(j.detail, 'kmsg-lost');
    assert.match(j.headline, /^12 kernel log record\(s\) of this cell's window were overwritten/);
    assert.equal(judge(evidence({ kmsgLost: 12, observation: EVERYTHING_ELSE })).verdict, 'error', 'nor a signal');
    assert.equal(judge(evidence({ kmsgLost: 12, findings: [WARNING] })).verdict, 'kernel-complaint', 'what did arrive still counts');
    assert.equal(judge(evidence({ kmsgLost: 12, observation: null })).verdict, 'hang');
  });

  it('a signal outranks wrong data, refusal and probe errors', () => {
    assert.deepEqual(judge(evidence({ observation: EVERYTHING_ELSE })), {
      verdict: 'user-signal',
      detail: 'SIGBUS',
      headline: 'probe killed by SIGBUS',
    });
  });

  it('wrong data kernel->user shows the offset and both words in hex', () => {
    const j = judge(evidence({ observation: observation({ kernelToUser: { offset: 4096, expected: 0xdeadbeef, found: 0x1f } }) }));
    assert.deepEqual(j, {
      verdict: 'wrong-data',
      detail: 'kernel->user',
      headline: 'kernel->user mismatch at offset 4096: expected 0xdeadbeef, found 0x0000001f',
    });
  });

  it('wrong data user->kernel shows the offset and both words in hex', () => {
    const j = judge(evidence({ observation: observation({ userToKernel: { offset: 12, expected: 0, found: 0xffffffff } }) }));
    assert.deepEqual(j, {
      verdict: 'wrong-data',
      detail: 'user->kernel',
      headline: 'user->kernel mismatch at offset 12: expected 0x00000000, found 0xffffffff',
    });
  });

  it('when both directions mismatch, kernel->user is reported', () => {
    const j = judge(evidence({ observation: { ...EVERYTHING_ELSE, signal: null } }));
    assert.equal(j.verdict, 'wrong-data');
    assert.equal(j.detail, 'kernel->user');
    assert.match(j.headline, /^kernel->user mismatch at offset 4096: expected 0x12345678, found 0x00000000$/);
  });

  it('a negative word is shown as its unsigned 32-bit hex', () => {
    const j = judge(evidence({ observation: observation({ userToKernel: { offset: 0, expected: -1, found: -2 } }) }));
    assert.match(j.headline, /expected 0xffffffff, found 0xfffffffe$/);
  });

  it('a refusal outranks a probe error and names the step and errno', () => {
    const j = judge(
      evidence({
        observation: observation({
          steps: ['open', 'configure', 'fill'],
          refused: { step: 'mmap', code: 'EINVAL', message: 'Invalid argument' },
          error: 'probe crashed',
        }),
      }),
    );
    assert.deepEqual(j, { verdict: 'refused', detail: 'EINVAL', headline: 'mmap refused: Invalid argument' });
  });

  it('a probe error alone is "error" (mmaplab failed, not the kernel)', () => {
    const j = judge(evidence({ observation: observation({ error: 'TypeError: x is not a function' }) }));
    assert.deepEqual(j, { verdict: 'error', detail: 'probe-error', headline: 'TypeError: x is not a function' });
  });

  it('clean evidence is ok', () => {
    assert.deepEqual(judge(evidence()), {
      verdict: 'ok',
      detail: '',
      headline: 'data correct both ways, no kernel complaint, no new taint',
    });
  });

  it('kmsg lines without findings do not change the verdict', () => {
    assert.equal(judge(evidence({ kmsg: ['mmaplab: session 5: vmalloc_user 65536 bytes'] })).verdict, 'ok');
  });

  it('judge is pure: the same evidence gives the same judgement and is not modified', () => {
    const ev = evidence({ findings: [BAD_PAGE], taintGained: ['B'], observation: EVERYTHING_ELSE });
    const before = JSON.stringify(ev);
    assert.deepEqual(judge(ev), judge(JSON.parse(before) as CellEvidence));
    assert.equal(JSON.stringify(ev), before);
  });

  it('a mapping that no longer shows the pattern after the driver freed the buffer is wrong-data (after-free)', function () {
    const j = judge(evidence({ observation: observation({ afterFree: { offset: 0, expected: 0x688990c0, found: 0 } }) }));
    assert.equal(j.verdict, 'wrong-data');
    assert.equal(j.detail, 'after-free');
    assert.match(j.headline, /^after-free mismatch at offset 0: expected 0x688990c0, found 0x00000000$/);
  });

  it('a signal names the step and page it struck in when the probe recorded them', function () {
    const j = judge(evidence({ observation: observation({ signal: 'SIGBUS', signalStep: 'advise', signalPage: 3 }) }));
    assert.deepEqual([j.verdict, j.detail, j.headline], ['user-signal', 'SIGBUS', 'probe killed by SIGBUS during advise at page 3']);
  });

  it("a scenario's own data check is wrong-data named after what it checked", function () {
    const j = judge(
      evidence({ observation: observation({ view: { what: 'private-leak', mismatch: { offset: 8, expected: 1, found: 2 } } }) }),
    );
    assert.deepEqual([j.verdict, j.detail], ['wrong-data', 'private-leak']);
    assert.match(j.headline, /^private-leak mismatch at offset 8/);
  });

  it("a refusal's headline carries the module's own reason text", function () {
    const j = judge(
      evidence({
        observation: observation({
          refused: {
            step: 'mmap',
            code: 'EINVAL',
            message: 'EINVAL: invalid argument, mmap',
            reason: 'kernel',
            text: 'remap_vmalloc_range: -22',
          },
        }),
      }),
    );
    assert.equal(j.headline, 'mmap refused: EINVAL: invalid argument, mmap (remap_vmalloc_range: -22)');
  });
});
