// The (tool, role) → entry index: open addressing over the entries themselves, so a pair costs one
// i32 slot and no key string, and a lookup allocates nothing.
//
// Invariants:
// - the table holds entry index + 1 (0: empty) and stays at most half full
// - a pair is found by its hash, then compared by the entry's own tool and role (never by hash alone)
// - growing rehashes into a table twice the size; nothing is ever removed

import { Entry } from './policy';

/** FNV-1a over a string's UTF-16 units, continuing from `h`. */
function hashInto(h: u32, s: string): u32 {
  const p = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n; i++) {
    h = (h ^ <u32>load<u16>(p + ((<usize>i) << 1))) * 16777619;
  }
  return h;
}

/** The hash of (tool, role); the tool's length keeps ("ab", "c") apart from ("a", "bc"). */
function pairHash(tool: string, role: string): u32 {
  const h = hashInto(2166136261, tool);
  return hashInto((h ^ <u32>tool.length) * 16777619, role);
}

/** Entries by (tool, role). */
export class EntryTable {
  private slots: StaticArray<i32> = new StaticArray<i32>(16);
  private mask: i32 = 15;
  private count: i32 = 0;

  /** The index of (tool, role) in `entries`, or -1. */
  find(entries: Entry[], tool: string, role: string): i32 {
    const slots = this.slots;
    const mask = this.mask;
    let at = <i32>pairHash(tool, role) & mask;
    while (true) {
      const v = unchecked(slots[at]);
      if (v == 0) return -1;
      const e = unchecked(entries[v - 1]);
      if (e.tool == tool && e.role == role) return v - 1;
      at = (at + 1) & mask;
    }
  }

  /** Adds `entries[index]` (a pair not in the table yet). */
  add(entries: Entry[], index: i32): void {
    if ((this.count + 1) << 1 > this.mask + 1) this.grow(entries);
    this.place(entries[index], index);
    this.count++;
  }

  private place(e: Entry, index: i32): void {
    const slots = this.slots;
    const mask = this.mask;
    let at = <i32>pairHash(e.tool, e.role) & mask;
    while (unchecked(slots[at]) != 0) at = (at + 1) & mask;
    unchecked((slots[at] = index + 1));
  }

  private grow(entries: Entry[]): void {
    const old = this.slots;
    const size = (this.mask + 1) << 1;
    this.slots = new StaticArray<i32>(size);
    this.mask = size - 1;
    for (let i = 0, n = old.length; i < n; i++) {
      const v = unchecked(old[i]);
      if (v != 0) this.place(unchecked(entries[v - 1]), v - 1);
    }
  }
}
