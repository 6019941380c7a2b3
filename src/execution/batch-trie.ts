import { RLP } from '@ethereumjs/rlp';
import { KECCAK256_RLP } from '@ethereumjs/util';
import { keccak256, toHex } from '../util/bytes.js';

/** Synchronous access to trie nodes by hash (unprefixed hex), as @ethereumjs/mpt stores them. */
export interface NodeStore {
  get(hashHex: string): Uint8Array | undefined;
  put(hashHex: string, encoded: Uint8Array): void;
}

/** A put (value) or a delete (null) of a 32-byte (hashed) key. */
export type TrieOp = [key: Uint8Array, value: Uint8Array | null];

type Raw = Uint8Array | Raw[];
/** A child as stored in its parent (a 32-byte hash, an inline node, or empty), or a node in hand. */
type Ref = Raw | Node | null;
type Node =
  | { kind: 'leaf'; path: number[]; value: Uint8Array }
  | { kind: 'ext'; path: number[]; child: Ref }
  | { kind: 'branch'; children: Ref[] };

interface Entry {
  key: number[];
  value: Uint8Array | null;
}

/**
 * Applies a block's worth of puts and deletes to a secure Merkle-Patricia trie (every key 32 bytes,
 * so no branch holds a value) in one pass, and returns the new root. @ethereumjs/mpt walks from the
 * root, re-encodes and re-hashes the whole path for every key; here every node touched is read,
 * encoded and hashed once per batch, synchronously. New nodes are written to `store` under the same
 * keys as the library's (keccak of the node's RLP), so the library reads the result as its own; the
 * roots are the same (checked against @ethereumjs/mpt by a property test).
 */
export function updateTrie(root: Uint8Array, ops: ReadonlyArray<TrieOp>, store: NodeStore): Uint8Array {
  if (ops.length === 0) return root;
  const byKey = new Map<string, Entry>();
  for (const [key, value] of ops) {
    if (key.length !== 32) throw new Error('updateTrie: keys must be 32 bytes (a secure trie)');
    byKey.set(toHex(key), { key: nibbles(key), value: value?.length ? value : null });
  }
  const entries = [...byKey.values()].sort((a, b) => compare(a.key, b.key));
  const start: Ref = equal(root, KECCAK256_RLP) ? null : root;
  const next = apply(start, entries, 0, store);
  if (next === null) return KECCAK256_RLP;
  const rootRaw = raw(next, store);
  const encoded = encodeRlp(rootRaw);
  const hash = keccak256(encoded);
  const hex = toHex(hash).slice(2);
  store.put(hex, encoded);
  remember(hex, rootRaw);
  return hash;
}

/**
 * Decoded nodes by hash, the ones most recently written or read: the next blocks touch mostly the
 * same paths, and reading a node back from lmdb and decoding it cost more than the update itself.
 * Nodes are content-addressed, so an entry is never stale.
 */
const decodedNodes = new Map<string, Raw>();
const MAX_DECODED_NODES = 200_000;

function remember(hex: string, node: Raw): void {
  decodedNodes.set(hex, node);
  if (decodedNodes.size > MAX_DECODED_NODES) {
    // Drop the oldest quarter (a Map iterates in insertion order).
    let drop = MAX_DECODED_NODES / 4;
    for (const k of decodedNodes.keys()) {
      decodedNodes.delete(k);
      if (--drop === 0) break;
    }
  }
}

/** RLP of a node structure in one allocation (@ethereumjs/rlp concatenates at every level). */
export function encodeRlp(item: Raw): Uint8Array {
  const out = new Uint8Array(encodedLength(item));
  writeRlp(item, out, 0);
  return out;
}

function headerLength(len: number): number {
  if (len < 56) return 1;
  let n = 1;
  for (let l = len; l > 255; l = Math.floor(l / 256)) n++;
  return 1 + n;
}

function payloadLength(item: Raw): number {
  if (item instanceof Uint8Array) return item.length === 1 && item[0] < 0x80 ? 0 : item.length;
  let sum = 0;
  for (const c of item) sum += encodedLength(c);
  return sum;
}

function encodedLength(item: Raw): number {
  if (item instanceof Uint8Array && item.length === 1 && item[0] < 0x80) return 1;
  const len = payloadLength(item);
  return headerLength(len) + len;
}

function writeHeader(len: number, short: number, out: Uint8Array, at: number): number {
  if (len < 56) {
    out[at] = short + len;
    return at + 1;
  }
  const bytes: number[] = [];
  for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  out[at] = short + 55 + bytes.length;
  for (let i = 0; i < bytes.length; i++) out[at + 1 + i] = bytes[i];
  return at + 1 + bytes.length;
}

function writeRlp(item: Raw, out: Uint8Array, at: number): number {
  if (item instanceof Uint8Array) {
    if (item.length === 1 && item[0] < 0x80) {
      out[at] = item[0];
      return at + 1;
    }
    const p = writeHeader(item.length, 0x80, out, at);
    out.set(item, p);
    return p + item.length;
  }
  let p = writeHeader(payloadLength(item), 0xc0, out, at);
  for (const c of item) p = writeRlp(c, out, p);
  return p;
}

function nibbles(bytes: Uint8Array): number[] {
  const out = new Array<number>(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = bytes[i] >> 4;
    out[2 * i + 1] = bytes[i] & 0x0f;
  }
  return out;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function isNode(ref: Ref): ref is Node {
  return ref !== null && !(ref instanceof Uint8Array) && !Array.isArray(ref);
}

/** The node a reference stands for (reading it from the store when it is a hash). */
function load(ref: Ref, store: NodeStore): Node | null {
  if (ref === null) return null;
  if (isNode(ref)) return ref;
  let rawNode: Raw;
  if (ref instanceof Uint8Array) {
    if (ref.length === 0) return null;
    if (ref.length !== 32) throw new Error('updateTrie: malformed child reference');
    const hex = toHex(ref).slice(2);
    const cached = decodedNodes.get(hex);
    if (cached) rawNode = cached;
    else {
      const encoded = store.get(hex);
      if (!encoded) throw new Error(`updateTrie: missing trie node ${hex}`);
      rawNode = RLP.decode(encoded) as Raw;
      remember(hex, rawNode);
    }
  } else {
    rawNode = ref;
  }
  if (!Array.isArray(rawNode)) throw new Error('updateTrie: malformed node');
  if (rawNode.length === 17) {
    if ((rawNode[16] as Uint8Array).length !== 0) throw new Error('updateTrie: branch with a value');
    return { kind: 'branch', children: rawNode.slice(0, 16).map((c) => emptyToNull(c)) };
  }
  if (rawNode.length !== 2) throw new Error('updateTrie: malformed node');
  const [encodedPath, second] = rawNode as [Uint8Array, Raw];
  const { path, leaf } = decodeHexPrefix(encodedPath);
  return leaf
    ? { kind: 'leaf', path, value: second as Uint8Array }
    : { kind: 'ext', path, child: emptyToNull(second) };
}

function emptyToNull(r: Raw): Ref {
  return r instanceof Uint8Array && r.length === 0 ? null : r;
}

function decodeHexPrefix(bytes: Uint8Array): { path: number[]; leaf: boolean } {
  const flag = bytes[0] >> 4;
  const path: number[] = [];
  if (flag & 1) path.push(bytes[0] & 0x0f);
  for (let i = 1; i < bytes.length; i++) path.push(bytes[i] >> 4, bytes[i] & 0x0f);
  return { path, leaf: (flag & 2) !== 0 };
}

function hexPrefix(path: number[], leaf: boolean): Uint8Array {
  const odd = path.length % 2 === 1;
  const out = new Uint8Array(Math.floor(path.length / 2) + 1);
  let i = 0;
  const flag = (leaf ? 2 : 0) + (odd ? 1 : 0);
  if (odd) {
    out[0] = (flag << 4) | path[0];
    i = 1;
  } else {
    out[0] = flag << 4;
  }
  for (let o = 1; i < path.length; i += 2, o++) out[o] = (path[i] << 4) | path[i + 1];
  return out;
}

/** The trie at `ref` (whose keys all share the first `depth` nibbles of `entries`) with `entries` applied. */
function apply(ref: Ref, entries: Entry[], depth: number, store: NodeStore): Node | null {
  const node = load(ref, store);
  if (entries.length === 0) return node;
  if (node === null)
    return build(
      entries.filter((e) => e.value !== null),
      depth,
    );
  if (node.kind === 'leaf') {
    // The leaf is one more entry, unless an op names its key.
    const key = entries[0].key.slice(0, depth).concat(node.path);
    const merged = entries.some((e) => compare(e.key, key) === 0)
      ? entries
      : [...entries, { key, value: node.value }].sort((a, b) => compare(a.key, b.key));
    return build(
      merged.filter((e) => e.value !== null),
      depth,
    );
  }
  if (node.kind === 'ext') {
    const p = node.path;
    const inside = entries.every((e) => p.every((n, i) => e.key[depth + i] === n));
    if (inside) return extend(p, apply(node.child, entries, depth + p.length, store));
    // Some keys leave the extension: split it into a branch and apply to that.
    const children: Ref[] = new Array(16).fill(null);
    children[p[0]] = p.length === 1 ? node.child : { kind: 'ext', path: p.slice(1), child: node.child };
    return apply({ kind: 'branch', children }, entries, depth, store);
  }
  const children = node.children.slice();
  let at = 0;
  while (at < entries.length) {
    const nib = entries[at].key[depth];
    let end = at + 1;
    while (end < entries.length && entries[end].key[depth] === nib) end++;
    children[nib] = apply(children[nib], entries.slice(at, end), depth + 1, store);
    at = end;
  }
  const used: number[] = [];
  for (let i = 0; i < 16; i++) if (children[i] !== null) used.push(i);
  if (used.length === 0) return null;
  if (used.length > 1) return { kind: 'branch', children };
  // One child left: the branch collapses into it.
  return extend([used[0]], load(children[used[0]], store));
}

/**
 * An extension by `path` over `child`, merged into the child where the trie's shape requires (an
 * extension's child is always a branch, so merging with an extension keeps that branch as it is).
 */
function extend(path: number[], child: Node | null): Node | null {
  if (child === null) return null;
  if (path.length === 0) return child;
  if (child.kind === 'leaf') return { kind: 'leaf', path: path.concat(child.path), value: child.value };
  if (child.kind === 'ext') return { kind: 'ext', path: path.concat(child.path), child: child.child };
  return { kind: 'ext', path, child };
}

/** A fresh trie holding exactly `entries` (values, sorted, sharing `depth` nibbles). */
function build(entries: Entry[], depth: number): Node | null {
  if (entries.length === 0) return null;
  if (entries.length === 1)
    return { kind: 'leaf', path: entries[0].key.slice(depth), value: entries[0].value! };
  const first = entries[0].key;
  const last = entries[entries.length - 1].key;
  let prefix = 0;
  while (first[depth + prefix] === last[depth + prefix]) prefix++;
  if (prefix > 0)
    return { kind: 'ext', path: first.slice(depth, depth + prefix), child: build(entries, depth + prefix) };
  const children: Ref[] = new Array(16).fill(null);
  let at = 0;
  while (at < entries.length) {
    const nib = entries[at].key[depth];
    let end = at + 1;
    while (end < entries.length && entries[end].key[depth] === nib) end++;
    children[nib] = build(entries.slice(at, end), depth + 1);
    at = end;
  }
  return { kind: 'branch', children };
}

/** A node's RLP structure, with its children as references (stored when 32 bytes or more). */
function raw(node: Node, store: NodeStore): Raw {
  if (node.kind === 'leaf') return [hexPrefix(node.path, true), node.value];
  if (node.kind === 'ext') return [hexPrefix(node.path, false), ref(node.child, store)];
  const out: Raw[] = node.children.map((c) => ref(c, store));
  out.push(new Uint8Array());
  return out;
}

function ref(child: Ref, store: NodeStore): Raw {
  if (child === null) return new Uint8Array();
  if (!isNode(child)) return child;
  const r = raw(child, store);
  const encoded = encodeRlp(r);
  if (encoded.length < 32) return r;
  const hash = keccak256(encoded);
  const hex = toHex(hash).slice(2);
  store.put(hex, encoded);
  remember(hex, r);
  return hash;
}
