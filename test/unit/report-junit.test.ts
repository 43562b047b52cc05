/**
 * lib/report/junit: parsed back by a real XML parser (python3's expat, a
 * host package of mmaplab), one suite per kernel, one case per cell,
 * failures and errors as the issue defines them, nothing skipped, and
 * hostile kmsg text surviving escaping.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { renderJunit } from '../../lib/report/junit';
import type { MatrixReport } from '../../lib/report/schema';
import {
  expectedResults,
  HOSTILE_KMSG_XML_SAFE,
  K510,
  futureMethodCell,
  K61,
  K612,
  KERNELS,
  report,
  run,
  spec,
  surpriseReport,
} from './report-fixture';

interface Problem {
  type: string;
  message: string;
  text: string;
}
interface Case {
  name: string;
  classname: string;
  failure: Problem | null;
  error: Problem | null;
  skipped: boolean;
  out: string;
}
interface Suite {
  name: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  cases: Case[];
}

const PARSE = `
import json, sys, xml.dom.minidom as m
doc = m.parseString(sys.stdin.buffer.read())
def text(n): return ''.join(c.data for c in n.childNodes if c.nodeType in (c.TEXT_NODE, c.CDATA_SECTION_NODE))
def prob(tc, tag):
    e = tc.getElementsByTagName(tag)
    return {'type': e[0].getAttribute('type'), 'message': e[0].getAttribute('message'), 'text': text(e[0])} if e else None
out = []
for s in doc.getElementsByTagName('testsuite'):
    cases = []
    for tc in s.getElementsByTagName('testcase'):
        so = tc.getElementsByTagName('system-out')
        cases.append({'name': tc.getAttribute('name'), 'classname': tc.getAttribute('classname'),
            'failure': prob(tc, 'failure'), 'error': prob(tc, 'error'),
            'skipped': len(tc.getElementsByTagName('skipped')) > 0, 'out': text(so[0]) if so else ''})
    out.append({'name': s.getAttribute('name'), 'tests': int(s.getAttribute('tests')), 'failures': int(s.getAttribute('failures')),
        'errors': int(s.getAttribute('errors')), 'skipped': int(s.getAttribute('skipped')), 'cases': cases})
print(json.dumps(out))
`;

function parse(xml: string): Suite[] {
  let out: string;
  try {
    out = execFileSync('python3', ['-c', PARSE], { input: xml, encoding: 'utf8', maxBuffer: 256 << 20 });
  } catch (err) {
    throw new Error(
      `junit.xml did not parse with python3's XML parser (python3 is a host package: sudo sh scripts/setup-host.sh): ${(err as Error).message}`,
    );
  }
  return JSON.parse(out) as Suite[];
}

function find(suites: Suite[], kernel: string, id: string): Case {
  const c = suites.find((s) => s.name === kernel)?.cases.find((x) => x.name === id);
  assert.ok(c, `${kernel} ${id} in junit.xml`);
  return c;
}

describe('junit.xml (lib/report/junit.ts)', function () {
  let surprise: MatrixReport;
  let suites: Suite[];
  before(function () {
    surprise = surpriseReport();
    suites = parse(renderJunit(surprise));
  });

  it('has one testsuite per kernel and one testcase per cell, classname = kernel, counts that add up', function () {
    assert.deepEqual(
      suites.map((s) => s.name),
      [...KERNELS.map((k) => k.release), K510],
    );
    for (const s of suites) {
      const cells = surprise.cells.filter((rc) => rc.kernel === s.name);
      assert.deepEqual(
        s.cases.map((c) => c.name),
        cells.map((rc) => rc.cell.id),
      );
      assert.ok(s.cases.every((c) => c.classname === s.name));
      assert.equal(s.tests, s.cases.length);
      assert.equal(s.failures, s.cases.filter((c) => c.failure).length);
      assert.equal(s.errors, s.cases.filter((c) => c.error).length);
      assert.equal(s.skipped, 0);
      assert.ok(
        s.cases.every((c) => !c.skipped),
        'nothing is ever reported skipped',
      );
    }
  });

  it('a cell that agrees passes; differs is a failure with the expectation reason and the observed headline', function () {
    const ok = find(suites, K61, 'vmalloc/remap_pfn_range/16K/basic');
    assert.equal(ok.failure, null);
    assert.equal(ok.error, null);
    const differs = find(suites, K61, 'vmalloc_user/remap_vmalloc_range/16K/basic');
    assert.equal(differs.failure?.type, 'differs');
    assert.match(differs.failure?.message ?? '', /^predicted ok, observed wrong-data \(kernel->user\): /);
    assert.match(differs.failure?.text ?? '', /reason: a supported allocator\/method pair/);
    assert.ok(differs.failure?.text.includes(`headline: ${HOSTILE_KMSG_XML_SAFE}`));
  });

  it('flaky is a failure with the distribution; no expectation is a visible failure, not a skip', function () {
    const flaky = find(suites, K612, 'pages_nocomp/fault_page/16K/basic');
    assert.equal(flaky.failure?.type, 'flaky');
    assert.equal(flaky.failure?.message, 'runs disagree: 2x kernel-complaint bad-page-state, 1x ok');
    const none = find(suites, K510, futureMethodCell().id);
    assert.equal(none.failure?.type, 'no-expectation');
    assert.match(none.failure?.message ?? '', /^no expectation for this cell on kernel series 5\.10; observed ok$/);
  });

  it('a cell that only matches its observation record passes, its system-out saying so with the prediction and the record', function () {
    const recorded = find(suites, K612, 'kmalloc/fault_page/4K/basic');
    assert.equal(recorded.failure, null);
    assert.equal(recorded.error, null);
    assert.match(
      recorded.out,
      /^contradicts its prediction, as recorded \(observation record\)\npredicted: kernel-complaint, or also: oops, panic, hang/,
    );
    assert.match(recorded.out, /\nobservation record: ok on 6\.12: seen on 6\.12/);
    const unrecorded = find(suites, K510, 'kmalloc/fault_page/4K/basic');
    assert.equal(unrecorded.failure?.type, 'differs', 'no observation was recorded on 5.10');
  });

  it('a harness error, and a panic or hang nothing predicted, are <error>; a predicted panic is not', function () {
    assert.equal(find(suites, K612, 'pages_array/vm_insert_page/16K/basic').error?.type, 'error');
    const safe = spec('pages_comp/remap_pfn_range/16K/basic');
    const firstPfn = spec('pages_array/remap_pfn_range_first_pfn/16K/basic');
    const s = parse(renderJunit(report([run(K61, safe, 'hang'), run(K61, firstPfn, 'panic')])));
    const hang = find(s, K61, safe.id);
    assert.equal(hang.error?.type, 'hang');
    assert.equal(hang.failure, null);
    const predicted = find(s, K61, firstPfn.id);
    assert.equal(predicted.error, null, 'the first-pfn hazard lists panic among its outcomes');
    assert.equal(predicted.failure, null);
  });

  it("system-out holds every run's kmsg window, findings and taint; hostile text comes back intact (minus what XML cannot hold)", function () {
    const c = find(suites, K61, 'vmalloc_user/remap_vmalloc_range/16K/basic');
    assert.ok(c.out.includes(`  ${HOSTILE_KMSG_XML_SAFE}\n  second line`), c.out);
    // eslint-disable-next-line no-control-regex -- the test looks for control characters XML 1.0 cannot hold
    assert.ok(!/[\u0000\u0001\u001b\uFFFE]/.test(renderJunit(surprise)), 'invalid XML characters are stripped');
    const nocomp = find(suites, K61, 'pages_nocomp/fault_page/16K/basic');
    assert.match(nocomp.out, /^run 1: kernel-complaint \(bad-page-state\)/);
    assert.match(nocomp.out, /taint gained: B/);
    assert.match(nocomp.out, /finding complaint bad-page-state: BUG: Bad page state/);
  });

  it('an all-agreeing report has no failure and no error', function () {
    const s = parse(renderJunit(report(expectedResults())));
    for (const suite of s) assert.deepEqual([suite.failures, suite.errors, suite.tests > 100], [0, 0, true]);
  });
});
