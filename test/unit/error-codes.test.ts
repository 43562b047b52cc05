/**
 * The one list of error codes (lib/util/errors.ts): every code in it is
 * raised somewhere in lib/, none is spelled like an errno (a failed system
 * call keeps its errno; an mmaplab code must not pass for one), and every
 * entry says what it means.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { ERROR_CODES, MmaplabError } from '../../lib/util/errors';
import { filesUnder } from './repo-files';

describe('error codes (lib/util/errors.ts)', function () {
  const codes = Object.keys(ERROR_CODES);
  const text = filesUnder('lib', /\.ts$/)
    .filter((f) => f !== 'lib/util/errors.ts')
    .map((f) => fs.readFileSync(path.join(REPO_ROOT, f), 'utf8'))
    .join('\n');

  it('every code in the list is raised somewhere in lib/', function () {
    // Raised: the first argument of MmaplabError or deviceError, a value of a table of codes (KMSG_ERRORS),
    // or a later argument of a call on one line: the code handed to what raises it (a schema check, a reader).
    const raised = (c: string): boolean =>
      new RegExp(`(MmaplabError|deviceError)\\(\\s*'${c}'`).test(text) ||
      new RegExp(`^\\s+\\w+: '${c}',$`, 'm').test(text) ||
      new RegExp(`\\w\\([^;\\n]*,\\s*'${c}'\\s*[,)]`).test(text);
    const unused = codes.filter((c) => !raised(c));
    assert.deepEqual(unused, [], 'codes nothing raises: drop them from the list');
  });

  it('no code is an errno name, and each says what it means', function () {
    const errnos = new Set(Object.keys(os.constants.errno));
    assert.deepEqual(
      codes.filter((c) => errnos.has(c)),
      [],
    );
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^(E[A-Z]+|ERR_[A-Z_]+)$/, code);
      assert.ok(meaning.length >= 20, `${code} has a meaning`);
    }
  });

  it('the error carries its code and details', function () {
    const e = new MmaplabError('ENOTROOT', 'run it as root', { uid: 1000 });
    assert.deepEqual([e.code, e.name, e.message, e.details], ['ENOTROOT', 'MmaplabError', 'run it as root', { uid: 1000 }]);
  });
});

describe("the README's table of error codes", function () {
  it('lists every code of the list with its meaning, and no other', function () {
    const all = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const start = all.indexOf('**Error codes.**');
    assert.ok(start >= 0, 'the README has the error-code table');
    const readme = all.slice(start, all.indexOf('\n\n', all.indexOf('| code | meaning |', start)));
    const rows = [...readme.matchAll(/^\| `((?:E|ERR_)[A-Z_]+)` \| (.*) \|$/gm)].map(([, code, meaning]) => [
      code,
      meaning?.replace(/\\\|/g, '|'),
    ]);
    assert.deepEqual(rows, Object.entries(ERROR_CODES));
  });
});
