/**
 * The host <-> guest files as JSON: job.json checked by the agent
 * (lib/vm/job-schema) and events.jsonl checked by the host (lib/vm/events,
 * EventTail in lib/vm/session), each refusing a malformed value with its path.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CATALOGUE } from '../../lib/experiments/catalogue';
import { generateOps } from '../../lib/fuzz/ops';
import { parseEvents } from '../../lib/vm/events';
import type { GuestEvent, Job } from '../../lib/vm/job';
import { readJob } from '../../lib/vm/job-schema';
import { EventTail } from '../../lib/vm/session';
import { caught } from './caught';
import { deleteAt, setAt } from './json-edit';
import { K612, run, spec } from './report-fixture';

const mod = { path: '/run/mmaplab.ko', params: { allow_hazards: '1' } };
const JOBS: Job[] = [
  { kind: 'cells', kernel: K612, module: mod, cells: CATALOGUE.slice(0, 6) },
  { kind: 'suite', kernel: K612, module: mod, files: ['30-device-api.test.js'], env: { MMAPLAB_X: '1' } },
  { kind: 'files', kernel: K612, module: mod },
  {
    kind: 'fuzz',
    kernel: K612,
    module: mod,
    fuzz: { seed: 5, ops: null, seconds: 60, checkEvery: 10, drain: true, replay: generateOps(5, 30), stallMs: 5000 },
  },
  { kind: 'bench', kernel: K612, module: mod, options: { sizes: [4096, 65536], reps: 3, cacheModes: false, cProgram: null } },
  {
    kind: 'check',
    kernel: K612,
    module: mod,
    check: {
      target: {
        device: '/dev/x',
        size: 8192,
        moduleName: 'x',
        setup: [{ ioctl: 0x6d01, arg: null }, { write: '6869' }],
        hook: null,
        chrdev: null,
        minor: 0,
      },
      scenarios: ['map-write-read', 'use:mlock', 'unload'],
    },
  },
  { kind: 'idle', kernel: K612 },
];

describe('the guest protocol as JSON', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmaplab-proto-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('job.json (readJob, in the agent)', function () {
    function written(job: unknown): string {
      const file = path.join(dir, 'job.json');
      fs.writeFileSync(file, JSON.stringify(job, null, 2));
      return file;
    }

    it('reads every kind of job back as it was written', function () {
      for (const job of JOBS) assert.deepEqual(readJob(written(job)), job, job.kind);
    });

    const cases: Array<[string, number, (j: unknown) => void, string, string]> = [
      ['a cell size as text', 0, (j) => setAt(j, 'cells[3].size', '16K'), 'cells[3].size', 'expected number, got string "16K"'],
      [
        'a cell without its profile',
        0,
        (j) => deleteAt(j, 'cells[5].profile'),
        'cells[5].profile',
        'expected "default" or "poison", got nothing',
      ],
      [
        'a module parameter that is a number',
        0,
        (j) => setAt(j, 'module.params.allow_hazards', 1),
        'module.params.allow_hazards',
        'expected string, got number 1',
      ],
      [
        'a replayed operation on a slot that does not exist',
        3,
        (j) => setAt(j, 'fuzz.replay[7]', { op: 'close', s: 9 }),
        'fuzz.replay[7].s',
        'expected a number ≤ 2, got number 9',
      ],
      [
        'a setup step with an upper-case argument',
        5,
        (j) => setAt(j, 'check.target.setup[0].arg', 'AB'),
        'check.target.setup[0].arg',
        'expected bytes in lower-case hex, at least one byte, got string "AB"',
      ],
      [
        'a scenario check does not have',
        5,
        (j) => setAt(j, 'check.scenarios[1]', 'use:teleport'),
        'check.scenarios[1]',
        'expected one of "map-write-read", "second-mapping", "dontneed-retouch", "private", "offset-map", "partial-munmap", "kernel-copies", "read-write", ... (',
      ],
      [
        'an unknown kind',
        6,
        (j) => setAt(j, 'kind', 'reboot'),
        'kind',
        'expected one of "cells", "suite", "files", "fuzz", "bench", "check", "idle", got string "reboot"',
      ],
    ];
    for (const [what, index, mutate, where, says] of cases) {
      it(`refuses ${what} with EGUEST naming ${where}`, function () {
        const job: unknown = JSON.parse(JSON.stringify(JOBS[index]));
        mutate(job);
        const file = written(job);
        const err = caught(() => readJob(file));
        assert.equal(err.code, 'EGUEST');
        assert.ok(err.message.startsWith(`${file}: ${where}: ${says}`), err.message);
        assert.equal(err.details['path'], where);
      });
    }

    it('a job.json that is not JSON is EGUEST too', function () {
      const file = path.join(dir, 'job.json');
      fs.writeFileSync(file, '{"kind": ');
      assert.match(caught(() => readJob(file)).message, /job\.json is not JSON: /);
    });
  });

  describe('events.jsonl (parseEvents, EventTail, on the host)', function () {
    const cell = spec('vmalloc_user/remap_vmalloc_range/16K/basic');
    const events: GuestEvent[] = [
      { type: 'ready', uptime: 1.5, node: 'v20.20.2', release: K612 },
      { type: 'cell-start', id: cell.id },
      { type: 'cell-result', result: run(K612, cell, 'ok') },
      { type: 'done', status: 0 },
    ];
    const lines = events.map((e) => JSON.stringify(e));
    const bad: unknown = JSON.parse(lines[2] as string);
    setAt(bad, 'result.evidence.observation.signal', 11);
    const badLine = JSON.stringify(bad);

    it('reads every event; a line a dying VM cut short is left out, and so is a blank one', function () {
      assert.deepEqual(parseEvents([...lines, '', lines[3]?.slice(0, 9)].join('\n')), events);
    });

    it('refuses a line that is JSON but not an event, naming the line and the place in it', function () {
      const err = caught(() => parseEvents([lines[0], lines[1], badLine].join('\n'), 'run/events.jsonl'));
      assert.equal(err.code, 'EGUEST');
      assert.equal(err.message, 'run/events.jsonl line 3: result.evidence.observation.signal: expected string or null, got number 11');
      assert.equal(caught(() => parseEvents(badLine, 'e', 'ECHECK')).code, 'ECHECK');
    });

    it('EventTail hands on the events before a bad line, then stops with the problem', function () {
      const file = path.join(dir, 'events.jsonl');
      fs.writeFileSync(file, '');
      const seen: GuestEvent[] = [];
      const tail = new EventTail(file, (e) => seen.push(e));
      fs.appendFileSync(file, `${lines[0]}\n${(lines[1] as string).slice(0, 10)}`);
      tail.poll();
      fs.appendFileSync(file, `${(lines[1] as string).slice(10)}\n\n`);
      tail.poll();
      assert.deepEqual(seen, events.slice(0, 2));
      fs.appendFileSync(file, `${badLine}\n${lines[3]}\n`);
      tail.poll();
      tail.poll(true);
      assert.deepEqual(seen, events.slice(0, 2));
      assert.deepEqual(tail.events, events.slice(0, 2));
      assert.equal(tail.problem?.message, `${file} line 4: result.evidence.observation.signal: expected string or null, got number 11`);
    });

    it('EventTail without a bad line ends with what parseEvents reads from the file', function () {
      const file = path.join(dir, 'events.jsonl');
      fs.writeFileSync(file, `${lines.slice(0, 3).join('\n')}\n${(lines[3] as string).slice(0, 12)}`);
      const tail = new EventTail(file);
      tail.poll();
      tail.poll(true);
      assert.equal(tail.problem, null);
      assert.deepEqual(tail.events, parseEvents(fs.readFileSync(file, 'utf8')));
    });
  });
});
