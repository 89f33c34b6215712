/** A key that appears twice in one JSON object. */
export interface DuplicateKey {
  /** The repeated key. */
  key: string;
  /** The key under which the object holding it sits (undefined for the top-level object). */
  parent: string | undefined;
}

interface Frame {
  /** Keys seen so far; null for arrays. */
  keys: Set<string> | null;
  /** Whether the next string in this object is a key. */
  expectKey: boolean;
  /** The last key read in this object (names a nested object in messages). */
  lastKey: string | undefined;
  /** The key this container sits under. */
  name: string | undefined;
}

/**
 * Finds the first key repeated within one object of a JSON text that `JSON.parse` already accepted
 * (`JSON.parse` silently keeps the last value). One pass, no recursion, so deep nesting cannot overflow.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x22) {
      // A string: find its closing quote, stepping over escapes.
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text.charCodeAt(j) !== 0x22) {
        if (text.charCodeAt(j) === 0x5c) {
          escaped = true;
          j++;
        }
        j++;
      }
      if (top?.keys && top.expectKey) {
        const key: string = escaped ? JSON.parse(text.slice(i, j + 1)) : text.slice(i + 1, j);
        if (top.keys.has(key)) return { key, parent: top.name };
        top.keys.add(key);
        top.expectKey = false;
        top.lastKey = key;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      const name = top?.keys ? top.lastKey : top?.name;
      stack.push({ keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b, lastKey: undefined, name });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c && top?.keys) {
      top.expectKey = true;
    }
  }
  return undefined;
}
