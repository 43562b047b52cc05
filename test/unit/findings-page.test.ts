/**
 * The findings page and the README's findings at a glance are written by
 * `mmaplab findings` from a committed run (lib/report/findings.ts): the
 * committed text must be exactly what the command writes from the committed
 * report, or the page is stale. Then the page's content on a fixture report,
 * and the README block's replacement.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluateClaims } from '../../lib/experiments/claims';
import { FILE_CLAIMS } from '../../lib/experiments/file-claims';
import { readReport } from '../../lib/report/build';
import {
  currentGlance,
  findingsCommand,
  GLANCE_BEGIN,
  GLANCE_END,
  renderFindingsGlance,
  renderFindingsPage,
  replaceGlance,
} from '../../lib/report/findings';
import { REPO_ROOT } from '../../lib/paths';
import { caught } from './caught';
import { expectedResults, filesSection, K61, K612, report, surpriseReport } from './report-fixture';

const PAGE = 'docs/findings.md';

/** `s` as a regular expression matching it literally. */
const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function committedReportPath(page: string): string {
  const [, report] = /^<!-- written by `mmaplab findings (\S+) /m.exec(page) ?? [];
  assert.ok(report !== undefined, `${PAGE} names the report it was written from in its first comment`);
  return report;
}

function section(text: string, title: string): string {
  const start = text.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `section ${title}`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

describe('the committed findings are what `mmaplab findings` writes from the committed run', function () {
  const page = fs.readFileSync(path.join(REPO_ROOT, PAGE), 'utf8');
  const reportPath = committedReportPath(page);
  const stale = `stale: run \`${findingsCommand(reportPath)}\` (from a checkout: node dist/lib/cli.js in place of mmaplab) and commit what it writes`;

  it(`${PAGE} names a committed report (${reportPath})`, function () {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, reportPath)), `${reportPath} is missing`);
  });

  it(`${PAGE} equals the page written from that report`, function () {
    const written = renderFindingsPage(readReport(path.join(REPO_ROOT, reportPath)), reportPath);
    assert.ok(page === written, `${PAGE} is ${stale}`);
  });

  it("the README's findings block equals the one written from that report", function () {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const block = currentGlance(readme);
    assert.ok(block !== null, 'the README has a findings block');
    const written = renderFindingsGlance(readReport(path.join(REPO_ROOT, reportPath)), reportPath);
    assert.ok(block === written, `the README's findings block is ${stale}`);
  });
});

describe('the findings page (lib/report/findings.ts)', function () {
  it("has a row per claim with each kernel's status and counts, computed as the claims table of report.md", function () {
    const r = report(expectedResults());
    const claims = section(renderFindingsPage(r, 'docs/run/report.json.gz'), 'The claims');
    for (const c of evaluateClaims(r)) {
      const line = claims.split('\n').find((l) => l.includes(`\`${c.id}\``));
      assert.ok(line, `a row for ${c.id}`);
      for (const k of c.kernels) {
        const status = k.status === 'untested' ? 'untested' : `${k.status} (${k.counts.holds} hold, ${k.counts.fails} fail)`;
        assert.ok(line.includes(status), `${c.id} on ${k.kernel}: ${status}`);
      }
    }
  });

  it('lists every surprise with its prediction; none when every cell met it', function () {
    const quiet = renderFindingsPage(report(expectedResults()), 'x.json');
    assert.match(section(quiet, 'Where the kernel contradicted the prediction'), /None: every cell met its prediction/);
    const loud = section(renderFindingsPage(surpriseReport(), 'x.json'), 'Where the kernel contradicted the prediction');
    assert.match(
      loud,
      new RegExp(
        `\`${re(K61)}\` \`vmalloc_user/remap_vmalloc_range/16K/basic\`: \\*\\*wrong-data \\(kernel-&gt;user\\)\\*\\*, differs from its prediction`,
      ),
    );
    assert.match(loud, new RegExp(`\`${re(K612)}\` \`kmalloc/fault_page/4K/basic\`: \\*\\*ok\\*\\*`));
    assert.match(loud, /predicted: /);
  });

  it('answers the files statements when the run measured them, and says so when it did not', function () {
    const without = renderFindingsPage(report(expectedResults()), 'x.json');
    assert.match(section(without, 'How writes through a mapping reach the backing store'), /did not measure/);
    const r = report(expectedResults());
    r.files = filesSection();
    const withFiles = section(renderFindingsPage(r, 'x.json'), 'How writes through a mapping reach the backing store');
    const rows = withFiles.split('\n').filter((l) => l.startsWith('|'));
    assert.ok(rows[0]?.startsWith('| statement | measured by |'), withFiles);
    assert.equal(rows.length, 2 + FILE_CLAIMS.length, 'the head, its rule and a row per statement');
  });

  it('names the command and the report it was written from, as the staleness test reads them', function () {
    const text = renderFindingsPage(report(expectedResults()), 'docs/run/report.json.gz');
    assert.equal(committedReportPath(text), 'docs/run/report.json.gz');
  });
});

describe("the README's findings block", function () {
  const block = renderFindingsGlance(report(expectedResults()), 'docs/run/report.json.gz');

  it('is framed by its two marker lines', function () {
    assert.ok(block.startsWith(GLANCE_BEGIN) && block.endsWith(GLANCE_END));
  });

  it('replaces what stands between the markers and nothing else', function () {
    const text = `# t\n\nbefore\n${GLANCE_BEGIN}\nold\n${GLANCE_END}\nafter\n`;
    const out = replaceGlance(text, block, 'README.md');
    assert.equal(out, `# t\n\nbefore\n${block}\nafter\n`);
    assert.equal(currentGlance(out), block);
    assert.equal(replaceGlance(out, block, 'README.md'), out);
  });

  it('a file without the markers is EFINDINGS naming the lines to add, and is left alone', function () {
    const err = caught(() => replaceGlance('# no block\n', block, 'NOTES.md'));
    assert.equal(err.code, 'EFINDINGS');
    assert.match(err.message, /NOTES\.md has no findings block/);
    assert.ok(err.message.includes(GLANCE_BEGIN));
    assert.equal(currentGlance('# no block\n'), null);
  });
});
