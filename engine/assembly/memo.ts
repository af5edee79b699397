// Explanation memo: a denial's reason depends only on its entry, its decision code and the values
// of the entry's fields. Calls that repeat a denial (a model retrying the same refused call) get the
// id of the earlier explanation, so the host can answer with the verdict it already built.
//
// Invariants:
// - an id is handed out once and names exactly one (entry, code, field values) triple
// - the snapshot is compared byte for byte (no hashes, so no collisions to craft)
// - rate-limit answers are never memoised (their text depends on time)

import { Entry } from './policy';
import { Writer } from './writer';

/** Remembered explanations per (tool, role) entry. */
const WAYS: i32 = 4;

/** One remembered explanation: the snapshot it was made for and its id. */
export class Memo {
  snap: usize = 0;
  len: i32 = 0;
  cap: i32 = 0;
  code: i32 = 0;
  id: f64 = 0;
}

/** Per-entry memo table (a tiny ring). */
export class MemoTable {
  ways: StaticArray<Memo> = new StaticArray<Memo>(WAYS);
  next: i32 = 0;
  constructor() {
    for (let i = 0; i < WAYS; i++) this.ways[i] = new Memo();
  }
}

let lastId: f64 = 0;

/**
 * The memo id for `code` over the snapshot in `snap`: an earlier id when the same entry saw the
 * same code and bytes, else a fresh id remembered in place of the oldest way.
 */
export function memoId(table: MemoTable, code: i32, snap: Writer): f64 {
  const ways = table.ways;
  const n = snap.len;
  for (let i = 0; i < WAYS; i++) {
    const m = unchecked(ways[i]);
    if (
      m.id != 0 &&
      m.code == code &&
      m.len == n &&
      memory.compare(m.snap, snap.ptr, <usize>n) == 0
    )
      return m.id;
  }
  const m = unchecked(ways[table.next]);
  table.next = (table.next + 1) % WAYS;
  if (m.cap < n) {
    if (m.snap != 0) heap.free(m.snap);
    m.cap = n < 64 ? 64 : n;
    m.snap = heap.alloc(<usize>m.cap);
  }
  memory.copy(m.snap, snap.ptr, <usize>n);
  m.len = n;
  m.code = code;
  m.id = ++lastId;
  return m.id;
}

/** Frees a table's snapshots (when its policy is replaced). */
export function freeMemo(table: MemoTable): void {
  for (let i = 0; i < WAYS; i++) {
    const m = unchecked(table.ways[i]);
    if (m.snap != 0) heap.free(m.snap);
    m.snap = 0;
    m.id = 0;
  }
}

/** Used by Entry to decide whether a memo table exists yet. */
export function memoFor(e: Entry): MemoTable {
  let t = e.memo;
  if (t == null) {
    t = new MemoTable();
    e.memo = t;
  }
  return t;
}
