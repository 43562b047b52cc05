/**
 * `mmaplab shell` in a scripted session: the CLI as a child with its
 * terminal replaced by pipes, commands typed at the guest's prompt, and the
 * guest powered off by leaving the shell. With --gdb, a gdb remote-protocol
 * client on the port gets the stopped vCPU's state from QEMU's stub.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { REPO_ROOT } from '../../lib/paths';
import { SHELL_PROMPT } from '../../lib/vm/shell';
import { installedKernel } from '../installed-kernel';

const CLI = path.join(REPO_ROOT, 'dist', 'lib', 'cli.js');

interface Session {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  /** Resolves when the output (from `from` on) matches. */
  waitFor: (re: RegExp, from?: number) => Promise<number>;
  closed: Promise<number | null>;
}

function session(args: string[]): Session {
  const child = spawn(process.execPath, [CLI, 'shell', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<() => void> = [];
  const take = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  let ended = false;
  const closed = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      // Whoever still waits for output learns that none will come.
      for (const w of waiters.splice(0)) w();
      resolve(code);
    }),
  );
  const waitFor = (re: RegExp, from = 0): Promise<number> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(out.slice(from));
        if (m) resolve(from + m.index + m[0].length);
        else if (ended) reject(new Error(`the session ended before ${re}:\n${out.slice(-3000)}`));
        else waiters.push(check);
      };
      check();
    });
  return { child, output: () => out, waitFor, closed };
}

/** One gdb remote-protocol exchange: send `$packet#checksum`, return the first reply packet. */
function gdbAsk(port: number, packet: string): Promise<string> {
  const sum = [...packet].reduce((s, c) => (s + c.charCodeAt(0)) & 0xff, 0);
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    let answered = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from the gdb stub on :${port} in 30 s (got ${JSON.stringify(got)})`));
    }, 30_000);
    sock.on('connect', () => sock.write(`$${packet}#${sum.toString(16).padStart(2, '0')}`));
    sock.on('data', (d) => {
      got += d.toString('latin1');
      const [, reply] = /\$([^#]*)#[0-9a-f]{2}/.exec(got) ?? [];
      if (reply !== undefined && !answered) {
        answered = true;
        clearTimeout(timer);
        // Let the guest go on before hanging up (the stub stopped it when we connected).
        sock.end('+$c#63');
        resolve(reply);
      }
    });
    // After the answer, the stub's further packets may meet the closed socket: that is no failure.
    sock.on('error', (err) => {
      clearTimeout(timer);
      if (!answered) reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!answered) reject(new Error(`the gdb stub on :${port} hung up without a reply (got ${JSON.stringify(got)})`));
    });
  });
}

/** A TCP port nothing listens on now (the kernel's pick for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

describe('mmaplab shell', function () {
  this.timeout(300_000);
  const k612 = installedKernel('6.12');

  it(`gives a shell in the guest with the module loaded, and leaving it powers off (${k612.title})`, async function () {
    k612.get();
    const s = session(['--kernel', '6.12']);
    try {
      const ready = await s.waitFor(new RegExp(SHELL_PROMPT.replace(/[#]/g, '\\$&')));
      s.child.stdin.write(
        'grep -c "^mmaplab " /proc/modules; cat /sys/module/mmaplab/parameters/allow_hazards; ls /dev/mmaplab; echo "answer=$((6*7))"\n',
      );
      const answered = await s.waitFor(/answer=42/, ready);
      const text = s.output().slice(ready, answered);
      assert.match(text, /^1\r?$/m, 'the module is loaded once');
      assert.match(text, /^Y\r?$/m, 'with allow_hazards=1');
      assert.match(text, /^\/dev\/mmaplab\r?$/m);
      s.child.stdin.write('exit\n');
      assert.equal(await s.closed, 0);
      assert.match(s.output(), /reboot: Power down/);
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it(`--gdb opens QEMU's gdb stub, which answers a remote-protocol client (${k612.title})`, async function () {
    k612.get();
    const port = await freePort();
    const s = session(['--kernel', '6.12', '--gdb', String(port)]);
    try {
      await s.waitFor(new RegExp(`gdb stub on :${port}`));
      await s.waitFor(/mmaplab-init: root ready/);
      // '?': why the target stopped; a stub answers with a stop reply (S or T and a signal number).
      assert.match(await gdbAsk(port, '?'), /^[ST][0-9a-f]{2}/);
      await s.waitFor(new RegExp(SHELL_PROMPT.replace(/[#]/g, '\\$&')));
      s.child.stdin.write('grep -o nokaslr /proc/cmdline\nexit\n');
      assert.equal(await s.closed, 0);
      assert.match(s.output(), /^nokaslr\r?$/m);
    } finally {
      s.child.kill('SIGKILL');
    }
  });
});
