// A set of 64-bit hashes for untrusted content (taint.ts): open addressing with linear probing in
// one flat table, so a lookup allocates nothing and a miss usually reads a single slot.
//
// Invariants:
// - 0 marks an empty slot, so the hash 0 is kept as 1 (a collision only ever adds a match)
// - the table doubles before it is half full; `clear` gives back a small one

/** Fibonacci hashing: spreads a hash's bits into the table index's top bits. */
const MIX: u64 = ((<u64>0x9e3779b9) << 32) | <u64>0x7f4a7c15;
const INITIAL_BITS: i32 = 4;

/** A growable set of 64-bit hashes. */
export class HashSet64 {
  table: StaticArray<u64> = new StaticArray<u64>(1 << INITIAL_BITS);
  bits: i32 = INITIAL_BITS;
  size: i32 = 0;

  /** True when `h` was added. */
  @inline has(h: u64): bool {
    const k = h == 0 ? 1 : h;
    const t = changetype<usize>(this.table);
    const mask = (1 << this.bits) - 1;
    let i = <i32>((k * MIX) >> <u64>(64 - this.bits));
    let v = load<u64>(t + ((<usize>i) << 3));
    while (v != 0) {
      if (v == k) return true;
      i = (i + 1) & mask;
      v = load<u64>(t + ((<usize>i) << 3));
    }
    return false;
  }

  /** Adds `h`. */
  add(h: u64): void {
    if ((this.size + 1) << 1 > 1 << this.bits) this.grow();
    if (this.put(h == 0 ? 1 : h)) this.size++;
  }

  /** Forgets every hash. */
  clear(): void {
    this.table = new StaticArray<u64>(1 << INITIAL_BITS);
    this.bits = INITIAL_BITS;
    this.size = 0;
  }

  /** Stores the non-zero `k`; false when it was there. */
  private put(k: u64): bool {
    const t = changetype<usize>(this.table);
    const mask = (1 << this.bits) - 1;
    let i = <i32>((k * MIX) >> <u64>(64 - this.bits));
    let at = t + ((<usize>i) << 3);
    let v = load<u64>(at);
    while (v != 0) {
      if (v == k) return false;
      i = (i + 1) & mask;
      at = t + ((<usize>i) << 3);
      v = load<u64>(at);
    }
    store<u64>(at, k);
    return true;
  }

  private grow(): void {
    const old = this.table;
    this.bits++;
    this.table = new StaticArray<u64>(1 << this.bits);
    for (let i = 0, n = old.length; i < n; i++) {
      const k = unchecked(old[i]);
      if (k != 0) this.put(k);
    }
  }
}
