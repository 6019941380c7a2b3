import { encodeAbiParameters, type Hex, keccak256 } from 'viem';

/** One L2 → L1 withdrawal, as the Bridge hashes it. */
export interface Withdrawal {
  nonce: bigint;
  from: Hex;
  to: Hex;
  value: bigint;
}

export function withdrawalLeaf(w: Withdrawal): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'address' }, { type: 'address' }, { type: 'uint256' }],
      [w.nonce, w.from, w.to, w.value],
    ),
  );
}

const pair = (a: Hex, b: Hex): Hex => keccak256(`0x${a.slice(2)}${b.slice(2)}`);
const EMPTY_ROOT: Hex = `0x${'00'.repeat(32)}`;

/** Levels of the binary tree, leaves first; an odd node is paired with itself (Bridge.sol's rule). */
function levels(leaves: Hex[]): Hex[][] {
  const out: Hex[][] = [leaves];
  while (out[out.length - 1].length > 1) {
    const prev = out[out.length - 1];
    const next: Hex[] = [];
    for (let i = 0; i < prev.length; i += 2) next.push(pair(prev[i], prev[i + 1] ?? prev[i]));
    out.push(next);
  }
  return out;
}

export function withdrawalsRoot(leaves: Hex[]): Hex {
  if (leaves.length === 0) return EMPTY_ROOT;
  const ls = levels(leaves);
  return ls[ls.length - 1][0];
}

/** Sibling path of leaf `index`, bottom up, as Bridge.finaliseWithdrawal takes it. */
export function withdrawalProof(leaves: Hex[], index: number): Hex[] {
  if (index < 0 || index >= leaves.length) throw new Error(`no leaf ${index} among ${leaves.length}`);
  const proof: Hex[] = [];
  let i = index;
  const ls = levels(leaves);
  for (let level = 0; level < ls.length - 1; level++) {
    const nodes = ls[level];
    const sibling = i % 2 === 0 ? (nodes[i + 1] ?? nodes[i]) : nodes[i - 1];
    proof.push(sibling);
    i >>= 1;
  }
  return proof;
}

/** The fields of one L2 output and its root, StateOracle.outputRootOf: keccak256(abi.encode(...)). */
export interface L2Output {
  l2Block: bigint;
  stateRoot: Hex;
  withdrawalsRoot: Hex;
  blockHash: Hex;
  outputRoot: Hex;
}

/** An output with its root computed. */
export function l2Output(l2Block: bigint, stateRoot: Hex, withdrawalsRoot: Hex, blockHash: Hex): L2Output {
  return {
    l2Block,
    stateRoot,
    withdrawalsRoot,
    blockHash,
    outputRoot: outputRootOf(stateRoot, withdrawalsRoot, blockHash),
  };
}

export function outputRootOf(stateRoot: Hex, withdrawalsRoot: Hex, blockHash: Hex): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }],
      [stateRoot, withdrawalsRoot, blockHash],
    ),
  );
}
