/**
 * A run directory that cannot be written (full disk, quota, read-only file
 * system, permissions) is MmaplabError ERUNDIR naming the directory, the
 * errno and what to do; other errors pass through unchanged. Errors are
 * injected: no full disk needed.
 */
import { strict as assert } from 'node:assert';
import { MmaplabError } from '../../lib/util/errors';
import { RUNDIR_ERRNOS, runDirError } from '../../lib/vm/session';

function errno(code: string, file = '/runs/r1/job.json'): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: something, open '${file}'`);
  err.code = code;
  err.path = file;
  return err;
}

describe('run directory write failures', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM']) {
    it(`${code} becomes ERUNDIR naming the directory, the errno and the advice`, () => {
      const mapped = runDirError(errno(code), '/runs/r1');
      assert.ok(mapped instanceof MmaplabError);
      assert.equal(mapped.code, 'ERUNDIR');
      assert.equal(
        mapped.message,
        `cannot write the run directory /runs/r1: ${code} (${RUNDIR_ERRNOS[code]}); ` +
          'free space in /runs or point MMAPLAB_RUNS elsewhere',
      );
      assert.deepEqual(mapped.details, { runDir: '/runs/r1', errno: code, path: '/runs/r1/job.json' });
    });
  }

  it('other errors, errno or not, are returned as they are', () => {
    const enoent = errno('ENOENT');
    assert.equal(runDirError(enoent, '/runs/r1'), enoent);
    const plain = new Error('boom');
    assert.equal(runDirError(plain, '/runs/r1'), plain);
    const mm = new MmaplabError('ENOQEMU', 'no qemu');
    assert.equal(runDirError(mm, '/runs/r1'), mm);
    assert.equal(runDirError('text', '/runs/r1'), 'text');
  });
});
