/** lib/runner/stuck on a fake /proc tree: where a probe that missed its deadline was. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeStuck, snapshotStuck, stackFrames, stateOfStat } from '../../lib/runner/stuck';

function fakeTask(root: string, pid: number, tid: number, t: { comm: string; state: string; wchan?: string; stack?: string }): void {
  const dir = path.join(root, String(pid), 'task', String(tid));
  fs.mkdirSync(dir, { recursive: true });
  // comm may hold spaces and parentheses: the state is the field after the last ")".
  fs.writeFileSync(path.join(dir, 'stat'), `${tid} (${t.comm}) ${t.state} 1 ${pid} ${pid} 0 -1 4194560\n`);
  fs.writeFileSync(path.join(dir, 'comm'), `${t.comm}\n`);
  fs.writeFileSync(path.join(dir, 'wchan'), t.wchan ?? '0');
  fs.writeFileSync(path.join(dir, 'syscall'), t.state === 'R' ? 'running\n' : '16 0x15 0x40086d05 0x0\n');
  if (t.stack !== undefined) fs.writeFileSync(path.join(dir, 'stack'), t.stack);
}

describe('stuck probe snapshot (lib/runner/stuck.ts)', function () {
  let root: string;
  beforeEach(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-proc-'));
  });
  afterEach(function () {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('reads the state after the last ")" of comm, and strips stack addresses', function () {
    assert.equal(stateOfStat('154 (node (x) y) D 1 2 3'), 'D');
    assert.equal(stateOfStat('garbage'), null);
    assert.deepEqual(stackFrames('[<0>] folio_wait_bit_common+0x13a/0x310\n[<0>] __do_fault+0x3a/0x130\n'), [
      'folio_wait_bit_common+0x13a/0x310',
      '__do_fault+0x3a/0x130',
    ]);
  });

  it('a worker thread in D state is found and named: stuck in the kernel at its wchan', function () {
    fakeTask(root, 154, 154, { comm: 'node', state: 'S', wchan: 'do_epoll_wait' });
    fakeTask(root, 154, 160, {
      comm: 'libuv-worker',
      state: 'D',
      wchan: 'mmaplab_flush',
      stack: '[<0>] mmaplab_flush+0x20/0x90 [mmaplab]\n',
    });
    fakeTask(root, 154, 161, { comm: 'node', state: 'S', wchan: 'futex_wait_queue' });
    const tasks = snapshotStuck(154, root);
    assert.deepEqual(
      tasks.map((t) => [t.tid, t.state]),
      [
        [154, 'S'],
        [160, 'D'],
      ],
      'the main thread and the unusual one',
    );
    assert.deepEqual(tasks[1]?.stack, ['mmaplab_flush+0x20/0x90 [mmaplab]']);
    assert.equal(describeStuck(tasks), 'stuck in the kernel at mmaplab_flush (state D, thread libuv-worker)');
  });

  it('a main thread still running is not called stuck in the kernel', function () {
    fakeTask(root, 200, 200, { comm: 'node', state: 'R' });
    const tasks = snapshotStuck(200, root);
    assert.equal(tasks[0]?.wchan, null);
    assert.equal(tasks[0]?.stack, null, 'no stack file: not readable');
    assert.match(describeStuck(tasks), /^still running \(state R, main thread\): slow emulation/);
  });

  it('on the real /proc, this process shows its main thread first, running, with its comm', function () {
    const tasks = snapshotStuck(process.pid);
    assert.equal(tasks[0]?.tid, process.pid);
    assert.equal(tasks[0]?.state, 'R', 'it is reading /proc right now');
    assert.ok((tasks[0]?.comm ?? '').length > 0);
  });

  it('a process that is gone gives an empty snapshot, and says so', function () {
    assert.deepEqual(snapshotStuck(999, root), []);
    assert.equal(describeStuck([]), 'gone before it could be looked at');
  });
});
