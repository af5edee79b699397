/**
 * Duplicate keys in JSON text. `JSON.parse` silently keeps the last of `{"amount": 1, "amount": 900}`;
 * another reader could keep the first. A request that two readers could read differently is refused.
 */

/**
 * The path of the first duplicated object key in `text` (`request.args.amount`), or `null`.
 * `text` must already be valid JSON (parse it first): this only scans its structure.
 */
export function findDuplicateKey(text: string, root = 'request'): string | null {
  interface Frame {
    keys: Set<string> | null; // null for an array
    path: string;
    key: string;
    index: number;
  }
  const stack: Frame[] = [];
  let expectingKey = false;
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (top === undefined) return root;
    return top.keys === null ? `${top.path}[${top.index}]` : `${top.path}.${top.key}`;
  };
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectingKey && top !== undefined && top.keys !== null) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return `${top.path}.${key}`;
        top.keys.add(key);
        top.key = key;
        expectingKey = false;
      }
      i = end;
    } else if (char === 0x7b /* { */) {
      stack.push({ keys: new Set(), path: childPath(), key: '', index: 0 });
      expectingKey = true;
    } else if (char === 0x5b /* [ */) {
      stack.push({ keys: null, path: childPath(), key: '', index: 0 });
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      stack.pop();
      expectingKey = false;
    } else if (char === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top !== undefined && top.keys !== null) expectingKey = true;
      else if (top !== undefined) top.index++;
    }
  }
  return null;
}
