/*
 * STORE by id of another user's store: the module answers EPERM with reason
 * NOT_OWNER (kmod/mmaplab_store.c, mmaplab_store_may_read). On the host,
 * without the module:
 *
 * - the reason's name and number are the header's, and LAST_ERROR decodes
 *   to EPERM / 'not-owner';
 * - in a child process with an LD_PRELOAD shim that answers STORE as the
 *   header describes (compiled here with the host's cc), Device.store({ id })
 *   throws the syscall error with err.mmaplab = { reason: 'not-owner' } and
 *   asks nothing more of the module, while the caller's own store (id 0, or
 *   its own id) still reads.
 */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import * as path from 'node:path';
import { lastErrorFromStruct } from '../../lib/device/device';
import { REASONS } from '../../lib/device/layout';
import { nativeConstants } from '../../lib/device/native';
import { useShim } from './shim';

/** dist/lib/device when this file runs as dist/test/unit/device-store-owner.test.js. */
const DEVICE_MODULE = path.resolve(__dirname, '../../lib/device');

/*
 * Stores 5 (the caller's own, 2 pages of 0x5a) and 7 (another user's). Id 0
 * is the caller's own; 7 is refused EPERM NOT_OWNER, any other id ENOENT
 * NO_STORE. A test-only request reports how many STOREs arrived.
 */
const SHIM_C = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/mmaplab.h>

#define SHIM_STORE_CALLS _IOR(MMAPLAB_IOC_MAGIC, 0x72, __u64)
#define OWN_ID 5
#define OTHER_ID 7
#define SIZE 8192

static struct mmaplab_last_error last;
static __u64 store_calls;

static int fail(int err, __u32 reason, const char *text)
{
	memset(&last, 0, sizeof(last));
	last.error = -err;
	last.reason = reason;
	snprintf(last.text, sizeof(last.text), "%s", text);
	errno = err;
	return -1;
}

static int store(struct mmaplab_store *req)
{
	store_calls++;
	if (req->id == OTHER_ID)
		return fail(EPERM, MMAPLAB_REASON_NOT_OWNER,
			    "STORE: store 7 is another user's: needs its owner or CAP_SYS_ADMIN");
	if (req->id != 0 && req->id != OWN_ID)
		return fail(ENOENT, MMAPLAB_REASON_NO_STORE, "STORE: no store");
	if (req->data_ptr)
		memset((void *)(uintptr_t)req->data_ptr, 0x5a, req->data_len < SIZE ? req->data_len : SIZE);
	req->pages_filled = 0;
	req->id = OWN_ID;
	req->size = SIZE;
	req->open = 0;
	memset(&last, 0, sizeof(last));
	return 0;
}

/* The device's requests; ioctl() itself is the shim's (test/unit/shim.ts). */
static int shim_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case MMAPLAB_IOC_STORE:
		return store(arg);
	case MMAPLAB_IOC_LAST_ERROR:
		memcpy(arg, &last, sizeof(last));
		return 0;
	case SHIM_STORE_CALLS:
		memcpy(arg, &store_calls, sizeof(store_calls));
		return 0;
	}
	errno = ENOTTY;
	return -1;
}
`;

const CHILD_PRELUDE = `
  const assert = require('node:assert/strict');
  const { Device, failureReason } = require(${JSON.stringify(DEVICE_MODULE)});
  const layout = require(${JSON.stringify(path.join(DEVICE_MODULE, 'layout'))});
  const { native } = require(${JSON.stringify(path.join(DEVICE_MODULE, 'native'))});
  const STORE_CALLS = layout.ioc(layout.IOC.READ, 0xb7, 0x72, 8);
  const storeCalls = (dev) => {
    const b = new Uint8Array(8);
    native().ioctl(dev.fd, STORE_CALLS, b);
    return new BigUint64Array(b.buffer)[0];
  };
  const caught = (fn) => { try { fn(); } catch (err) { return err; } assert.fail('expected an exception'); };
  const dev = Device.open('/dev/null');
`;

describe("STORE of another user's store: EPERM, reason not-owner", function () {
  this.timeout(60_000);

  it("the reason is the header's MMAPLAB_REASON_NOT_OWNER (19); LAST_ERROR of it decodes to EPERM / not-owner", () => {
    assert.equal(REASONS['not-owner'], 19);
    assert.equal((nativeConstants().enums as Readonly<Record<string, number>>).REASON_NOT_OWNER, 19);
    const text = "STORE: store 7 is another user's: needs its owner or CAP_SYS_ADMIN";
    assert.deepEqual(lastErrorFromStruct({ error: -os.constants.errno.EPERM, reason: 19, text }), {
      errno: -os.constants.errno.EPERM,
      code: 'EPERM',
      reason: 'not-owner',
      text,
    });
  });

  describe('against a stand-in for the module (LD_PRELOAD shim, child process)', function () {
    const runShimmed = useShim(SHIM_C, CHILD_PRELUDE, 'mmaplab-store-shim-');

    it("store({ id }) of another user's store throws EPERM with err.mmaplab.reason 'not-owner', after one STORE", () => {
      runShimmed(`
        const err = caught(() => dev.store({ id: 7n, data: true }));
        assert.ok(err instanceof Error);
        assert.equal(err.code, 'EPERM');
        assert.equal(err.errno, -1);
        assert.equal(err.syscall, 'ioctl');
        assert.deepEqual(err.mmaplab, {
          reason: 'not-owner', text: "STORE: store 7 is another user's: needs its owner or CAP_SYS_ADMIN",
        });
        assert.deepEqual(failureReason(err), err.mmaplab);
        assert.equal(storeCalls(dev), 1n, 'refused at the header: neither records nor bytes were asked for');
        assert.equal(dev.lastError().code, 'EPERM');
      `);
    });

    it("the caller's own store still reads, by id 0 and by its own id; an unknown id stays ENOENT / no-store", () => {
      runShimmed(`
        for (const id of [0n, 5n]) {
          const st = dev.store({ id, data: true, pages: false });
          assert.equal(st.id, 5n);
          assert.equal(st.size, 8192n);
          assert.ok(st.data.equals(Buffer.alloc(8192, 0x5a)), 'the bytes');
        }
        assert.deepEqual(dev.lastError(), { errno: 0, code: null, reason: 'none', text: '' });
        const gone = caught(() => dev.store({ id: 9n }));
        assert.equal(gone.code, 'ENOENT');
        assert.equal(gone.mmaplab.reason, 'no-store');
      `);
    });
  });
});
