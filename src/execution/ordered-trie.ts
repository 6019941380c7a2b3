import { RLP } from '@ethereumjs/rlp';
import { KECCAK256_RLP } from '@ethereumjs/util';
import { keccak256 } from '../util/bytes.js';

/**
 * Root of a Merkle-Patricia trie whose keys are RLP(0), RLP(1), … (transactions and receipts tries),
 * built in one pass from the sorted keys, as geth's StackTrie does: every node is hashed once,
 * instead of re-hashing the path on each insert as a general trie must. Equal to
 * @ethereumjs/mpt's root for the same items (checked by a property test).
 */
export function orderedTrieRoot(values: ReadonlyArray<Uint8Array>): Uint8Array {
  if (values.length === 0) return KECCAK256_RLP;
  const items = values.map((value, i) => ({ key: nibbles(RLP.encode(i)), value }));
  items.sort((a, b) => compareNibbles(a.key, b.key));
  const root = build(items, 0);
  return keccak256(RLP.encode(root));
}

type Node = Uint8Array | Node[];
interface Item {
  key: number[];
  value: Uint8Array;
}

function nibbles(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (const b of bytes) out.push(b >> 4, b & 0x0f);
  return out;
}

function compareNibbles(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Hex-prefix encoding of a nibble path (Yellow Paper appendix C). */
function hexPrefix(path: number[], leaf: boolean): Uint8Array {
  const odd = path.length % 2 === 1;
  const flag = (leaf ? 2 : 0) + (odd ? 1 : 0);
  const out = new Uint8Array(Math.floor(path.length / 2) + 1);
  let i = 0;
  if (odd) {
    out[0] = (flag << 4) | path[0];
    i = 1;
  } else {
    out[0] = flag << 4;
  }
  for (let o = 1; i < path.length; i += 2, o++) out[o] = (path[i] << 4) | path[i + 1];
  return out;
}

/** A child reference: the node itself when its encoding is under 32 bytes, else its hash. */
function ref(node: Node): Node {
  const encoded = RLP.encode(node);
  return encoded.length < 32 ? node : keccak256(encoded);
}

function build(items: Item[], depth: number): Node {
  if (items.length === 1) return [hexPrefix(items[0].key.slice(depth), true), items[0].value];
  // Shared prefix beyond `depth` → extension node.
  const first = items[0].key;
  const last = items[items.length - 1].key;
  let prefix = 0;
  while (
    depth + prefix < first.length &&
    depth + prefix < last.length &&
    first[depth + prefix] === last[depth + prefix]
  ) {
    prefix++;
  }
  if (prefix > 0)
    return [hexPrefix(first.slice(depth, depth + prefix), false), ref(build(items, depth + prefix))];
  const branch: Node[] = Array.from({ length: 17 }, () => new Uint8Array());
  let start = 0;
  if (items[0].key.length === depth) {
    branch[16] = items[0].value;
    start = 1;
  }
  while (start < items.length) {
    const nib = items[start].key[depth];
    let end = start + 1;
    while (end < items.length && items[end].key[depth] === nib) end++;
    branch[nib] = ref(build(items.slice(start, end), depth + 1));
    start = end;
  }
  return branch;
}
