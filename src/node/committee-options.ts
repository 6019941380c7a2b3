import type { Hex } from '../util/bytes.js';

/** One committee member, as the committee file lists it. */
export interface CommitteeMember {
  /** BLS public key (48 bytes, hex): signs votes. */
  blsPublicKey: Hex;
  /** libp2p peer id: where its messages come from. */
  peerId: string;
}

export interface CommitteeOptions {
  members: CommitteeMember[];
  /** libp2p listen multiaddr, e.g. /ip4/0.0.0.0/tcp/9745. */
  listen: string;
  /** Multiaddrs (with /p2p/<id>) of other members to dial. */
  bootnodes: string[];
  /**
   * Base view timeout, ms (doubles per view without a QC). Adaptive unless `fixedViewTimeout`: the
   * ceiling, under which the timeout follows 4 × the slowest recent view, at least a quarter of it.
   */
  viewTimeoutMs: number;
  fixedViewTimeout?: boolean;
  /**
   * Give a view up at once, without waiting out its timeout, when its leader or the member its votes
   * go to has closed its connections (its process is gone). Default on; `--no-disconnect-timeouts`.
   */
  disconnectTimeouts: boolean;
  maxBlockBytes: number;
  maxBlockTxs: number;
  /**
   * `--follow`: this node is not a member (its key is not in the committee file). It takes the
   * committed blocks with their commit proofs from the members (block sync, on a long poll to each
   * member), checks each proof against its epoch's committee (the L1's, else the file's keys), executes
   * and serves the blocks, and sends the txs it gets on to the members; it neither proposes nor votes.
   */
  follow?: boolean;
  /**
   * `--epoch-committees` (pos, dpos, auction): each epoch's certifying committee is the L1 election's
   * (the StakeRegistry's stakers, the Governance's elected), not the committee file's, and the chain
   * hands over to it at its first block of the epoch (docs/ARCHITECTURE.md, "Committees that change").
   * The file lists the nodes that may be in it (their keys and libp2p identities); a node outside an
   * epoch's committee follows the chain until it is in one again.
   */
  epochCommittees?: boolean;
  /** TESTING ONLY: faults this member injects (`--misbehave.equivocate`). */
  misbehave?: { equivocate?: boolean };
}

export const committeeDefaults = {
  viewTimeoutMs: 1_000,
  maxBlockBytes: 1_000_000,
  maxBlockTxs: 5_000,
  disconnectTimeouts: true,
};

/** The index of a BLS public key (hex) in the committee file; −1 when it is not there. */
export function fileIndexOf(members: readonly CommitteeMember[], blsPublicKey: Hex): number {
  const key = blsPublicKey.toLowerCase();
  return members.findIndex((m) => m.blsPublicKey.toLowerCase() === key);
}

/** This node's index in the committee file, by its BLS public key (hex); throws what to do when absent. */
export function memberIndexOf(members: readonly CommitteeMember[], ownBlsPublicKey: Hex): number {
  const index = fileIndexOf(members, ownBlsPublicKey);
  if (index < 0)
    throw new Error(
      `this node's BLS key ${ownBlsPublicKey} is not in the committee file; add it (see \`seqnet keys\`), use the right --data-dir, or pass --follow to follow the committee without being a member`,
    );
  return index;
}

/** For a follower (`--follow`): throws when its key is a member's, which must vote, not follow. */
export function checkFollower(members: readonly CommitteeMember[], ownBlsPublicKey: Hex): void {
  const index = fileIndexOf(members, ownBlsPublicKey);
  if (index >= 0)
    throw new Error(
      `--follow is for a node outside the committee, but this node's BLS key is member ${index}'s in the committee file: leave out --follow (a member that stayed away catches up by itself), or give the follower its own --data-dir`,
    );
}
