/**
 * Which tools of each model context were registered through the guard: the names a wrapped
 * `executeTool` may run.
 *
 * Checklist:
 * - a name counts while its guarded registration is under way and once the context accepted it;
 *   a registration that throws or rejects leaves no trace;
 * - a context that mirrors its tools into an inner one counts the inner one's names too.
 */

/** What the guard keeps of one model context. */
export interface ContextRecord {
  /** Tools registered through the guard and accepted by the context. */
  readonly guarded: Set<string>;
  /** Tools whose guarded registration is under way. */
  readonly pending: Map<string, number>;
  /** The inner context this one mirrors into and calls through (`@mcp-b/global`'s `native`). */
  readonly inner: object | null;
}

/** The record of each context the guard was installed on. */
export const contextRecords = new WeakMap<object, ContextRecord>();

/**
 * Whether `name` was registered through the guard on `context` (or is being registered).
 *
 * @param context a model context the guard was installed on
 * @param name a tool name
 */
export function isGuardedTool(context: object, name: string): boolean {
  const record = contextRecords.get(context);
  if (record === undefined) return false;
  if (record.guarded.has(name) || record.pending.has(name)) return true;
  return record.inner !== null && isGuardedTool(record.inner, name);
}

/** Marks `names` pending while `register` runs, and guarded once it succeeded (or its promise did). */
export function track(
  record: ContextRecord,
  names: (string | null)[],
  register: () => unknown,
): unknown {
  const valid = names.filter((name): name is string => name !== null);
  for (const name of valid) record.pending.set(name, (record.pending.get(name) ?? 0) + 1);
  const settle = (accepted: boolean): void => {
    for (const name of valid) {
      const left = (record.pending.get(name) ?? 1) - 1;
      if (left > 0) record.pending.set(name, left);
      else record.pending.delete(name);
      if (accepted) record.guarded.add(name);
    }
  };
  let result: unknown;
  try {
    result = register();
  } catch (error) {
    settle(false);
    throw error;
  }
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { then?: unknown }).then === 'function'
  ) {
    return (result as Promise<unknown>).then(
      (value) => {
        settle(true);
        return value;
      },
      (error: unknown) => {
        settle(false);
        throw error;
      },
    );
  }
  settle(true);
  return result;
}
