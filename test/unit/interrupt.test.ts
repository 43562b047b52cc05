/**
 * lib/util/interrupt (what Ctrl-C and SIGTERM do, without sending a real
 * signal) and the partial report's "Stopped early" section. The real signal
 * on a real matrix run is test/vm/interrupt.test.ts.
 */
import { strict as assert } from 'node:assert';
import { renderHtml } from '../../lib/report/html';
import { renderMarkdown } from '../../lib/report/markdown';
import {
  interrupt,
  interruptedBy,
  interruptExitStatus,
  onInterrupt,
  resetInterruptForTests,
  throwIfInterrupted,
} from '../../lib/util/interrupt';
import { boot } from '../../lib/vm/qemu';
import { caught } from './caught';
import { K61, report, run, spec } from './report-fixture';

describe('interrupting a run (lib/util/interrupt.ts)', function () {
  afterEach(() => resetInterruptForTests());

  it('the first signal calls every registered stopper once, and says how many VMs went', function () {
    const stopped: string[] = [];
    const lines: string[] = [];
    onInterrupt(() => stopped.push('a'));
    const off = onInterrupt(() => stopped.push('b'));
    const offC = onInterrupt(() => stopped.push('c'));
    offC();
    interrupt('SIGTERM', (l) => lines.push(l));
    off();
    assert.deepEqual(stopped, ['a', 'b']);
    assert.deepEqual(lines, ['mmaplab: SIGTERM: stopping (2 VM(s) killed)']);
    assert.equal(interruptedBy(), 'SIGTERM');
  });

  it('after it nothing new starts: EINTERRUPTED, from boot() too before any QEMU runs', function () {
    assert.doesNotThrow(() => throwIfInterrupted());
    interrupt('SIGINT', () => undefined);
    assert.equal(caught(() => throwIfInterrupted()).code, 'EINTERRUPTED');
    const e = caught(() => void boot({ runDir: '/nonexistent/never-made' } as Parameters<typeof boot>[0]));
    assert.equal(e.code, 'EINTERRUPTED');
    assert.equal(e.message, 'stopped by SIGINT');
  });

  it('exits as a shell reports the signal: 130 for SIGINT, 143 for SIGTERM', function () {
    assert.equal(interruptExitStatus('SIGINT'), 130);
    assert.equal(interruptExitStatus('SIGTERM'), 143);
  });
});

describe('a partial report says why it stopped and what did not run', function () {
  const partial = {
    ...report([run(K61, spec('kmalloc/remap_pfn_range/4K/basic'), 'ok')]),
    stopped: { reason: 'stopped by SIGINT', notRun: [`${K61}: did not run: kmalloc/remap_pfn_range/64K/basic`] },
  };

  it('in report.md, first after the header', function () {
    const text = renderMarkdown(partial);
    const at = text.indexOf('\n## Stopped early\n');
    assert.ok(at > 0 && at < text.indexOf('\n## ', at + 1));
    assert.ok(text.includes('The run stopped before every selected cell ran: stopped by SIGINT.'));
    assert.ok(text.includes(`- ${K61}: did not run: kmalloc/remap\\_pfn\\_range/64K/basic\n`));
    assert.ok(!renderMarkdown(report([])).includes('Stopped early'));
  });

  it('in report.html', function () {
    const page = renderHtml(partial);
    assert.match(
      page,
      /<section class="stopped"><h2>Stopped early<\/h2><p>The run stopped before every selected cell ran: stopped by SIGINT\./,
    );
    assert.ok(page.includes(`<li>${K61}: did not run: kmalloc/remap_pfn_range/64K/basic</li>`));
    assert.ok(!renderHtml(report([])).includes('Stopped early'));
  });
});
