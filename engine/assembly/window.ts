// Rate-limit windows: the times of a (tool, role) entry's allowed calls, and how many fall in a window.
//
// Invariants:
// - a window (now - per_seconds, now] counts exactly the remembered calls inside it, whatever order
//   the host's clock gave them (a clock that went back sees only what is inside its own window)
// - an entry remembers its last `historyBound(max)` allowed calls, in the order they were allowed
//   (the ring of a rate limit, grown on demand); with a clock that only moves forward a window never
//   holds more than `max` of them, so nothing it needs is forgotten
// - the host's journal of counted calls keeps as many (counted-calls.ts): a fresh instance restored
//   from it remembers what the old one did

import { Entry } from './policy';
import { madeGarbage } from './writer';

/** How many allowed calls an entry with `rate_limit.max` = `max` remembers: 4 × max, at least 64. */
export function historyBound(max: i32): i32 {
  return max < 16 ? 64 : max * 4;
}

/**
 * Checks the window (now - per, now] against `max`: 0 when a call may be allowed, else the
 * seconds to wait (at least 1) until the oldest call inside leaves it.
 */
export function windowWait(e: Entry, max: i32, per: f64, now: f64): f64 {
  const t = e.times;
  if (t == null) return 0;
  const cap = t.length;
  const floor = now - per;
  let inside = 0;
  for (let i = 0, n = e.count; i < n; i++) {
    const at = unchecked(t[(e.head + i) % cap]);
    if (at > floor && at <= now) inside++;
  }
  if (inside < max) return 0;
  // A call is allowed again once `inside - max + 1` of the calls inside have left: the time of the
  // (inside - max + 1)-th oldest inside, found by scanning upwards (one scan unless the clock went back).
  let need = inside - max + 1;
  let last = floor;
  while (need > 0) {
    let next = now;
    for (let i = 0, n = e.count; i < n; i++) {
      const at = unchecked(t[(e.head + i) % cap]);
      if (at > last && at <= now && at < next) next = at;
    }
    for (let i = 0, n = e.count; i < n; i++) if (unchecked(t[(e.head + i) % cap]) == next) need--;
    last = next;
  }
  const s = Math.ceil(last + per - now);
  return s < 1 ? 1 : s;
}

/** Remembers an allowed call at `now`; past the bound, the call allowed first is forgotten. */
export function recordTime(e: Entry, max: i32, now: f64): void {
  const limit = historyBound(max);
  let t = e.times;
  let cap = t == null ? 0 : t.length;
  if (e.count == cap) {
    if (cap < limit) {
      grow(e, cap == 0 ? (limit < 8 ? limit : 8) : cap * 2 < limit ? cap * 2 : limit);
      t = e.times;
      cap = t!.length;
    } else {
      e.head = (e.head + 1) % cap;
      e.count--;
    }
  }
  unchecked((t![(e.head + e.count) % cap] = now));
  e.count++;
}

function grow(e: Entry, size: i32): void {
  madeGarbage = true;
  const next = new StaticArray<f64>(size);
  const t = e.times;
  if (t != null)
    for (let i = 0; i < e.count; i++) unchecked((next[i] = t[(e.head + i) % t.length]));
  e.times = next;
  e.head = 0;
}
