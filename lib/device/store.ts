/**
 * The backing store of the page-cache and deferred-I/O methods, as
 * userspace sees it: the bytes that reached "the far end" and, per page,
 * when and by which path they arrived (struct mmaplab_store and
 * struct mmaplab_store_page, decoded).
 */
import { enumName, PATHS, type PathName, type StorePageStruct, type StoreStruct } from './layout';

/** One page of the store. Times are CLOCK_MONOTONIC in ns (process.hrtime.bigint()'s clock). */
export interface StorePage {
  /** The latest arrival, or null if the page never reached the store. */
  readonly arrivedNs: bigint | null;
  /** The first write (page_mkwrite) before that arrival, or null if not known. */
  readonly dirtiedNs: bigint | null;
  /** The path of the latest arrival ('none' if it never arrived; null: a value this API does not know). */
  readonly path: PathName | null;
  /** Times the page was copied to the store. */
  readonly arrivals: number;
}

export interface StoreSnapshot {
  /** The store's id: read it again by id after its session closed. */
  readonly id: bigint;
  readonly size: bigint;
  /** CLOCK_MONOTONIC ns when the module read it. */
  readonly nowNs: bigint;
  /** Batches (writeback calls or flushes that wrote at least a page) that reached it. */
  readonly batches: bigint;
  /** Its session is still open. */
  readonly open: boolean;
  /** The store's first `data.byteLength` bytes (empty unless asked for). */
  readonly data: Buffer<ArrayBuffer>;
  /** Per page, when asked for. */
  readonly pages: readonly StorePage[];
}

export interface StoreOptions {
  /** A closed session's store (its id); default this session's. */
  id?: bigint;
  /** Copy the store's bytes: true for all of them, a number for the first N. Default false. */
  data?: boolean | number;
  /** Copy the per-page records. Default true. */
  pages?: boolean;
}

const nsOrNull = (ns: bigint): bigint | null => (ns === 0n ? null : ns);

export function storePageFromStruct(p: StorePageStruct): StorePage {
  return {
    arrivedNs: nsOrNull(p.arrived_ns),
    dirtiedNs: nsOrNull(p.dirtied_ns),
    path: enumName(PATHS, p.path),
    arrivals: p.arrivals,
  };
}

export function storeFromStruct(s: StoreStruct, data: Buffer<ArrayBuffer>, pages: readonly StorePage[]): StoreSnapshot {
  return { id: s.id, size: s.size, nowNs: s.now_ns, batches: s.batches, open: s.open !== 0, data, pages };
}

/** A STORE request with nothing to copy: only the header fields come back. */
export function storeRequest(id: bigint): StoreStruct {
  return {
    id,
    data_ptr: 0n,
    data_len: 0n,
    pages_ptr: 0n,
    pages_max: 0n,
    pages_filled: 0n,
    size: 0n,
    now_ns: 0n,
    batches: 0n,
    open: 0,
    reserved: 0,
  };
}
