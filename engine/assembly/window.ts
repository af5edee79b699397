// Rate-limit windows: the times of a (tool, role) entry's allowed calls, and how many fall in a window.
//
// Invariants:
// - a window (now - per_seconds, now] counts exactly the remembered calls inside it, whatever order
//   the host's clock gave them in (a clock that went back sees only what is inside its own window)
// - remembered times are kept sorted, oldest first, in a ring that grows up to HISTORY_SLACK times
//   `max` (at least MIN_HISTORY); past that the oldest is forgotten, and `forgotten` keeps the latest
//   forgotten time: a window that reaches back to it cannot be counted, and is treated as full
// - with a clock that only moves forward, recording and counting cost O(log n)

import { Entry } from "./policy";
import { madeGarbage } from "./writer";

/** A window remembers up to this many times its `max` calls (clock changes need the history). */
const HISTORY_SLACK: i32 = 4;
/** ...and at least this many. */
const MIN_HISTORY: i32 = 64;

@inline function timeAt(e: Entry, i: i32): f64 {
  const t = e.times!;
  return unchecked(t[(e.head + i) % t.length]);
}

@inline function setTimeAt(e: Entry, i: i32, v: f64): void {
  const t = e.times!;
  unchecked(t[(e.head + i) % t.length] = v);
}

/** How many remembered times are at most `x` (a binary search over the sorted ring). */
function countAtMost(e: Entry, x: f64): i32 {
  let lo = 0;
  let hi = e.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timeAt(e, mid) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Checks the window (now - per, now] against `max`: 0 when a call may be allowed, else the
 * seconds to wait (at least 1) until one could be.
 */
export function windowWait(e: Entry, max: i32, per: f64, now: f64): f64 {
  const floor = now - per;
  // Calls at or before `forgotten` may lie in this window: count it as full until it passes.
  if (floor < e.forgotten) return waitFor(e.forgotten + per - now);
  const first = countAtMost(e, floor);
  const inside = countAtMost(e, now) - first;
  if (inside < max) return 0;
  // Allowed again once enough of the calls inside have left the window.
  return waitFor(timeAt(e, first + inside - max) + per - now);
}

function waitFor(seconds: f64): f64 {
  const s = Math.ceil(seconds);
  return s < 1 ? 1 : s;
}

/** Remembers an allowed call at `now`, in time order. */
export function recordTime(e: Entry, max: i32, now: f64): void {
  const limit = max * HISTORY_SLACK < MIN_HISTORY ? MIN_HISTORY : max * HISTORY_SLACK;
  let t = e.times;
  const cap = t == null ? 0 : t.length;
  if (e.count == cap) {
    if (cap < limit) grow(e, cap == 0 ? (limit < 8 ? limit : 8) : (cap * 2 < limit ? cap * 2 : limit));
    else {
      const oldest = timeAt(e, 0);
      if (oldest > e.forgotten) e.forgotten = oldest;
      e.head = (e.head + 1) % cap;
      e.count--;
    }
  }
  // Usually the newest: appended. A clock that went back inserts in place.
  let i = e.count;
  while (i > 0 && timeAt(e, i - 1) > now) {
    setTimeAt(e, i, timeAt(e, i - 1));
    i--;
  }
  setTimeAt(e, i, now);
  e.count++;
}

function grow(e: Entry, size: i32): void {
  madeGarbage = true;
  const next = new StaticArray<f64>(size);
  for (let i = 0; i < e.count; i++) unchecked(next[i] = timeAt(e, i));
  e.times = next;
  e.head = 0;
}
