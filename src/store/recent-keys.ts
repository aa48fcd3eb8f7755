/**
 * An in-memory multiset of 64-bit fingerprints with a receive time and an expiry each: which
 * de-duplication keys a process has stored lately. Pure data structure, no I/O.
 *
 * Why it exists: a B-tree index on random keys (GitHub delivery ids are UUIDs) costs one random
 * leaf page per stored event, in the page cache and in the WAL, however the writes are grouped;
 * measured, it was about a fifth of the inbound webhook's cost on SQLite. Where one process is
 * the database's only writer, that process can remember its own keys instead, and ask the
 * database only about a fingerprint it has seen: an answer from here is a hint, never a verdict
 * (see `inbound-events.ts`). Written here because no library offers an open-addressing table of
 * plain integers; a `Map` with the same content takes two to three times the memory, on the
 * JavaScript heap.
 *
 * Layout: one `Uint32Array`, four words per slot: fingerprint high, fingerprint low, received
 * (epoch seconds), expires (epoch seconds; 0: never used). Linear probing. An expired slot is
 * skipped by lookups and reused by inserts; the table is rebuilt with the live entries only when
 * half of it has been used, so memory follows the number of keys within their windows (16 bytes
 * per slot, at most half of the slots in use: 32–64 bytes per key).
 */
export class RecentKeys {
  private slots: Uint32Array;
  private mask: number;
  /** Slots ever written since the last rebuild (live and expired). */
  private used = 0;

  constructor(initialSlots = 1024) {
    const size = powerOfTwoAtLeast(Math.max(16, initialSlots));
    this.slots = new Uint32Array(size * 4);
    this.mask = size - 1;
  }

  /** Slots in the table (for tests and metrics). */
  get capacity(): number {
    return this.mask + 1;
  }

  /**
   * The receive times (epoch seconds) of the live entries with this fingerprint received at or
   * after `sinceSec`: usually none, or the one of the same key.
   */
  find(fp: Fingerprint, sinceSec: number, nowSec: number): number[] {
    const found: number[] = [];
    const slots = this.slots;
    for (let slot = fp.lo & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = slot * 4;
      const expires = slots[at + 3];
      if (expires === 0) return found; // never used: the end of the probe chain
      if (
        expires > nowSec &&
        slots[at] === fp.hi &&
        slots[at + 1] === fp.lo &&
        slots[at + 2] >= sinceSec
      ) {
        found.push(slots[at + 2]);
      }
    }
  }

  add(fp: Fingerprint, receivedSec: number, expiresSec: number, nowSec: number): void {
    if (expiresSec <= nowSec) return;
    if ((this.used + 1) * 2 > this.capacity) this.rebuild(nowSec);
    const slots = this.slots;
    for (let slot = fp.lo & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = slot * 4;
      const expires = slots[at + 3];
      if (expires === 0 || expires <= nowSec) {
        if (expires === 0) this.used++;
        slots[at] = fp.hi;
        slots[at + 1] = fp.lo;
        slots[at + 2] = receivedSec;
        slots[at + 3] = expiresSec;
        return;
      }
    }
  }

  /** Live entries (expired ones are counted until the next rebuild drops them). */
  count(nowSec: number): number {
    let live = 0;
    for (let at = 3; at < this.slots.length; at += 4) if (this.slots[at] > nowSec) live++;
    return live;
  }

  /** Into a table of four slots per live entry (at least 1 024), without the expired ones. */
  private rebuild(nowSec: number): void {
    const old = this.slots;
    const size = powerOfTwoAtLeast(Math.max(1024, this.count(nowSec) * 4));
    this.slots = new Uint32Array(size * 4);
    this.mask = size - 1;
    this.used = 0;
    for (let at = 0; at < old.length; at += 4) {
      if (old[at + 3] > nowSec) {
        this.add({ hi: old[at], lo: old[at + 1] }, old[at + 2], old[at + 3], nowSec);
      }
    }
  }
}

export interface Fingerprint {
  hi: number;
  lo: number;
}

/**
 * 64 bits of `text` from two independent 32-bit string hashes (FNV-1a and a murmur-style mix).
 * Not cryptographic, and need not be: a collision costs one more database lookup.
 */
export function fingerprint(text: string): Fingerprint {
  let fnv = 0x811c9dc5;
  let mix = 0x9747b28c;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    fnv = Math.imul(fnv ^ code, 0x01000193);
    mix = Math.imul(mix ^ code, 0x5bd1e995);
    mix ^= mix >>> 15;
  }
  mix = Math.imul(mix ^ (mix >>> 13), 0xc2b2ae35);
  return { hi: (mix ^ (mix >>> 16)) >>> 0, lo: fnv >>> 0 };
}

function powerOfTwoAtLeast(value: number): number {
  let size = 1;
  while (size < value) size *= 2;
  return size;
}
