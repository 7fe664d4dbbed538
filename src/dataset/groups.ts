/**
 * Fold groups: videos that must land in one fold. Each video brings keys (its original's id, the
 * FaceForensics++ ids it shows, the people it shows); videos that share a key, directly or through
 * others, form one group, named after its first key in this order: keys with a `:` (a group a
 * data set names, an identity, FaceForensics++'s `youtube:<id>`) before plain video ids, then by
 * code unit; so the name depends on the data set, not on the order it was read in. Pure.
 */
function before(a: string, b: string): boolean {
  const named = (key: string) => (key.includes(':') ? 0 : 1);
  return named(a) !== named(b) ? named(a) < named(b) : a < b;
}

export function groupsOf(keysOfItems: readonly (readonly string[])[]): string[] {
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    while (parent.get(root) !== root) root = parent.get(root)!;
    // Path halving keeps later finds short.
    let node = key;
    while (node !== root) {
      const next = parent.get(node)!;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    // The key that comes first becomes the root: the group's name.
    if (before(ra, rb)) parent.set(rb, ra);
    else if (before(rb, ra)) parent.set(ra, rb);
  };
  for (const keys of keysOfItems) {
    for (const key of keys) if (!parent.has(key)) parent.set(key, key);
    for (let i = 1; i < keys.length; i += 1) union(keys[0]!, keys[i]!);
  }
  return keysOfItems.map((keys) => (keys.length === 0 ? '' : find(keys[0]!)));
}
