/** lib/cli/evidence: `mmaplab run` prints everything a verdict was made from. */
import { strict as assert } from 'node:assert';
import { cellById } from '../../lib/cli/run';
import { renderEvidence } from '../../lib/cli/evidence';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { emptyObservation, type CellResult } from '../../lib/experiments/types';
import { MmaplabError } from '../../lib/util/errors';

function badPageState(): CellResult {
  const obs = emptyObservation();
  obs.steps = ['open', 'configure', 'fill', 'mmap', 'read', 'write', 'verify', 'munmap', 'drain', 'close'];
  obs.stats = { faults: 4, mapPagesCalls: 0, pagesMapped: 4, vmaOpens: 1, vmaCloses: 1 };
  obs.drainedCpu = 1;
  obs.pfnsConsecutive = true;
  return {
    kernel: '6.12.117+deb12-amd64',
    cell: cellById('pages_nocomp/fault_page/16K/basic'),
    verdict: 'kernel-complaint',
    detail: 'bad-page-state',
    headline: 'BUG: Bad page state in process node  pfn:097ad (nonzero _refcount)',
    evidence: {
      kmsg: ['BUG: Bad page state in process node  pfn:097ad', 'page dumped because: nonzero _refcount'],
      findings: [
        {
          kind: 'bad-page-state',
          severity: 'complaint',
          line: 'BUG: Bad page state in process node  pfn:097ad',
          reason: 'nonzero _refcount',
        },
      ],
      taintGained: ['B'],
      observation: obs,
    },
    durationMs: 6300,
  };
}

describe('mmaplab run: the evidence of one cell', () => {
  it('finds a cell by its exact id', () => {
    assert.equal(cellById('pages_nocomp/fault_page/16K/basic').alloc, 'pages_nocomp');
    for (const c of CATALOGUE.slice(0, 20)) assert.equal(cellById(c.id), c);
  });

  it('an unknown id is a usage error that lists cells containing it', () => {
    assert.throws(
      () => cellById('pages_nocomp/fault_page'),
      (err: unknown) =>
        err instanceof MmaplabError &&
        err.code === 'EUSAGE' &&
        err.message.startsWith(
          'no cell has the id "pages_nocomp/fault_page"; cells whose id contains it: pages_nocomp/fault_page/16K/basic',
        ),
    );
    assert.throws(() => cellById('nothing-like-it'), /cell ids look like pages_nocomp\/fault_page\/16K\/basic/);
  });

  it('shows verdict, headline, expectation with its reason and agreement, probe, findings, taint and the kmsg window', () => {
    const text = renderEvidence(badPageState());
    const lines = text.split('\n');
    assert.equal(lines[0], 'pages_nocomp/fault_page/16K/basic on 6.12.117+deb12-amd64');
    assert.match(text, /\nverdict: +kernel-complaint \(bad-page-state\)\n/);
    assert.match(text, /\nheadline: +BUG: Bad page state in process node {2}pfn:097ad \(nonzero _refcount\)\n/);
    assert.match(text, /\npredicted: +kernel-complaint \(bad-page-state\) \(rule [a-z0-9-.]+, series \*\)\n/);
    assert.match(text, /\n {2}reason: +\S.*\n/);
    assert.match(text, /\nagreement: +agrees\n/);
    assert.match(text, /\n {2}steps: +open > configure > fill > mmap > read > write > verify > munmap > drain > close\n/);
    assert.match(text, /\n {2}kernel->user: ok\n {2}user->kernel: ok\n/);
    assert.match(text, /\n {2}stats: +faults 4, map_pages calls 0, pages mapped 4, vma opens 1, closes 1\n/);
    assert.match(text, /\n {2}drained cpu: +1\n/);
    assert.match(
      text,
      /\nfindings \(1\):\n {2}complaint bad-page-state: BUG: Bad page state in process node {2}pfn:097ad\n {4}because: nonzero _refcount\n/,
    );
    assert.match(text, /\ntaint gained: B\n/);
    assert.ok(
      text.endsWith('kmsg window (2 line(s)):\n  BUG: Bad page state in process node  pfn:097ad\n  page dumped because: nonzero _refcount'),
    );
    assert.ok(!text.includes('console tail'));
  });

  it('a refusal shows the step, the errno and what the module said', () => {
    const r = badPageState();
    r.verdict = 'refused';
    r.detail = 'EINVAL';
    const obs = r.evidence.observation!;
    obs.steps = ['open', 'configure'];
    obs.refused = { step: 'configure', code: 'EINVAL', message: 'invalid argument', reason: 'unsupported', text: 'no such pair' };
    const text = renderEvidence(r);
    assert.match(text, /\n {2}refused: +configure: EINVAL: invalid argument\n {16}module says: unsupported: no such pair\n/);
    assert.match(text, /\nagreement: +differs\n/);
    assert.ok(!text.includes('kernel->user'), 'no data check line for a step that never ran');
  });

  it('a VM that died in the cell shows the console tail; a cell without probe says so', () => {
    const r = badPageState();
    r.verdict = 'oops';
    r.detail = 'page-fault-oops';
    r.evidence.observation = null;
    r.evidence.console = ['[    4.164743] BUG: unable to handle page fault for address: 00000000000371c8'];
    const text = renderEvidence(r);
    assert.match(text, /\nprobe: no observation \(the probe never reported\)\n/);
    assert.ok(
      text.endsWith(
        'console tail (1 line(s), the VM died in this cell):\n  [    4.164743] BUG: unable to handle page fault for address: 00000000000371c8',
      ),
    );
  });

  it('observation fields it has no line for are still shown', () => {
    const r = badPageState();
    (r.evidence.observation as unknown as Record<string, unknown>)['somethingNew'] = { what: 'x' };
    assert.match(renderEvidence(r), /\n {2}somethingNew: \{"what":"x"\}\n/);
  });
});
