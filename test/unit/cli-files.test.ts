/** lib/cli/files: the table of measurements and the report section built from them (no VM). */
import { strict as assert } from 'node:assert';
import { filesSectionOf, renderFilesTable } from '../../lib/cli/files';
import { FILE_CLAIMS } from '../../lib/experiments/file-claims';
import { filesSection } from './report-fixture';
import { at } from '../../lib/util/at';

describe('mmaplab files output', () => {
  const section = filesSection();

  it('prints one aligned row per kernel x method x trigger, errors and missing times shown', () => {
    const kernels = section.kernels.map((k) =>
      k.kernel.startsWith('6.1.')
        ? {
            ...k,
            results: [
              ...k.results,
              { ...at(k.results, 0, 'the first 6.1 result'), trigger: 'sync' as const, error: 'ENOENT: no sync', arrived: 0 },
            ],
          }
        : k,
    );
    const lines = renderFilesTable(kernels).split('\n');
    assert.match(at(lines, 0, 'the header'), /^kernel +method +trigger +arrived +first ms +last ms +paths +intact$/);
    assert.equal(lines.length, 1 + kernels.reduce((n, k) => n + k.results.length, 0));
    assert.ok(lines.some((l) => /page_cache +msync-sync +16\/16 +1\.3 +2\.5 +fsync 16 +yes/.test(l)));
    assert.ok(lines.some((l) => /page_cache +munmap +0\/16 +- +- +- +yes/.test(l)));
    assert.ok(lines.some((l) => /page_cache +sync +error: ENOENT: no sync/.test(l)));
    const widths = new Set(lines.map((l) => (l.indexOf('method') >= 0 ? l.indexOf('method') : l.indexOf('page_cache'))));
    assert.equal(widths.size, 1, 'the method column starts at the same place on every line');
  });

  it('answers every statement once per kernel', () => {
    const built = filesSectionOf(section.kernels);
    assert.equal(built.claims.length, FILE_CLAIMS.length * section.kernels.length);
    assert.deepEqual(built, section);
  });
});
