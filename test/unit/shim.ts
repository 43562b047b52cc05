/**
 * Shared by the unit tests that run the device API against a stand-in for
 * the module: an LD_PRELOAD shim compiled from C before the suite, and child
 * processes that run a test body with it. `useShim` registers the before and
 * after hooks in the calling describe() and returns the runner.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../lib/device/native';

/**
 * The ioctl() every shim exports: requests of the module's type go to the
 * shim's own `shim_ioctl(req, arg)`, which `shimC` defines; any other
 * request goes on to the C library's ioctl().
 */
const IOCTL_INTERPOSER = `
#include <dlfcn.h>
#include <stdarg.h>

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(req) != MMAPLAB_IOC_MAGIC) {
		int (*real)(int, unsigned long, ...) =
			(int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
		return real(fd, req, arg);
	}
	return shim_ioctl(req, arg);
}
`;

/**
 * Compile `shimC` (which defines `static int shim_ioctl(unsigned long req,
 * void *arg)`, see IOCTL_INTERPOSER) once for the suite; the returned function runs `body` in a
 * child node with the shim preloaded, after `prelude` (which opens `dev`),
 * and fails unless the child printed "ok".
 */
export function useShim(shimC: string, prelude: string, tmpPrefix: string): (body: string) => void {
  let dir: string | undefined;
  let shim: string | undefined;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
    const src = path.join(dir, 'shim.c');
    fs.writeFileSync(src, shimC + IOCTL_INTERPOSER);
    const out = path.join(dir, 'shim.so');
    const include = path.join(packageRoot(), 'kmod/include/uapi');
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-Wall', '-Wextra', '-Werror', '-I', include, '-o', out, src, '-ldl'], {
      encoding: 'utf8',
    });
    assert.equal(cc.error, undefined, `cannot run cc (${String(cc.error)}): apt-get install build-essential`);
    assert.equal(cc.status, 0, cc.stderr);
    shim = out;
  });
  after(function () {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  return (body: string): void => {
    assert.ok(shim);
    const script = `${prelude}\ntry {\n${body}\n} finally { dev.close(); }\nprocess.stdout.write('ok');`;
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LD_PRELOAD: shim },
    });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ok', r.stderr);
  };
}
