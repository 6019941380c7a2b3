import {
  aggregateSignatures,
  PublicKey,
  type SecretKey,
  Signature,
  verify,
  verifyMultipleAggregateSignatures,
} from '@chainsafe/blst';
import { fromHex, toHex } from '../util/bytes.js';
import {
  aggregateKeyOf,
  aggregateQc,
  type Committee,
  proposalMessage,
  type QuorumCertificate,
  qcSignatureSet,
  timeoutMessage,
  verifyQc,
  voteMessage,
} from './certificate.js';
import type { Proposal, TimeoutCertificate, TimeoutVote, Vote } from './core/types.js';
import type { ConsensusCrypto } from './driver/driver.js';
import { type Instance, isInstanceRootQc } from './handover.js';
import type { MessageSigner } from './safety/safety-rules.js';

/**
 * BLS (min-pk, @chainsafe/blst) for the committee: votes aggregate into QCs that anyone can check
 * with the committee's keys; timeouts and proposals are plain signatures. A certificate arrives in
 * many messages (every proposal carries one), so verified ones are remembered.
 */
export class BlsConsensusCrypto implements ConsensusCrypto {
  private readonly keys: PublicKey[];
  private readonly verified = new Map<string, boolean>();

  constructor(
    private readonly chainId: bigint,
    private readonly committee: Committee,
    /**
     * The consensus instance these keys certify: its root's QC (view 0 of its epoch, no signers: the
     * genesis block's, or a boundary block's when committees change, handover.ts) needs no signature.
     */
    private readonly instance: Instance,
  ) {
    this.keys = committee.publicKeys.map((k) => PublicKey.fromBytes(fromHex(k), true));
  }

  private static sigKey(member: number, msg: Uint8Array, sig: Uint8Array): string {
    return `sig/${member}/${toHex(msg)}/${toHex(sig)}`;
  }

  private static qcKey(qc: QuorumCertificate): string {
    return `qc/${qc.epoch}/${qc.view}/${qc.blockHash}/${qc.signers}/${qc.signature}`;
  }

  private memo(key: string, f: () => boolean): boolean {
    const hit = this.verified.get(key);
    if (hit !== undefined) return hit;
    let ok: boolean;
    try {
      ok = f();
    } catch {
      ok = false; // malformed point or signature bytes
    }
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(key, ok);
    return ok;
  }

  private check(member: number, msg: Uint8Array, sig: Uint8Array): boolean {
    const pk = this.keys[member];
    if (!pk) return false;
    return this.memo(BlsConsensusCrypto.sigKey(member, msg, sig), () =>
      verify(msg, pk, Signature.fromBytes(sig, true)),
    );
  }

  aggregate(votes: Vote[]): QuorumCertificate {
    const v0 = votes[0];
    return aggregateQc(
      { epoch: v0.epoch, view: v0.view, blockHash: v0.blockHash },
      votes.map((v) => ({ index: v.voter, signature: v.signature })),
    );
  }

  verifyQc(qc: QuorumCertificate): boolean {
    if (qc.view === 0n) return isInstanceRootQc(qc, this.instance);
    return this.memo(BlsConsensusCrypto.qcKey(qc), () => verifyQc(qc, this.chainId, this.committee) === null);
  }

  verifyTc(tc: TimeoutCertificate): boolean {
    const voters = new Set(tc.timeouts.map((t) => t.voter));
    if (voters.size !== tc.timeouts.length || voters.size < this.committee.quorum) return false;
    let max = 0n;
    for (const t of tc.timeouts) {
      if (!this.check(t.voter, timeoutMessage(this.chainId, tc.epoch, tc.view, t.highQcView), t.signature))
        return false;
      if (t.highQcView > max) max = t.highQcView;
    }
    return tc.highQc.view >= max && this.verifyQc(tc.highQc);
  }

  verifyVote(v: Vote): boolean {
    return this.check(v.voter, voteMessage(this.chainId, v.epoch, v.view, v.blockHash), v.signature);
  }

  verifyVotes(votes: Vote[]): boolean {
    const v0 = votes[0];
    if (!v0) return false;
    if (votes.length === 1) return this.verifyVote(v0);
    let signers = 0n;
    for (const v of votes) {
      const bit = 1n << BigInt(v.voter);
      if (!this.keys[v.voter] || signers & bit) return false; // not a member, or twice
      if (v.epoch !== v0.epoch || v.view !== v0.view || v.blockHash !== v0.blockHash) return false;
      signers |= bit;
    }
    try {
      const sig = aggregateSignatures(votes.map((v) => Signature.fromBytes(v.signature, true)));
      const msg = voteMessage(this.chainId, v0.epoch, v0.view, v0.blockHash);
      return verify(msg, aggregateKeyOf(this.committee.publicKeys, signers), sig);
    } catch {
      return false; // malformed signature bytes
    }
  }

  verifyTimeout(t: TimeoutVote): boolean {
    if (!this.check(t.voter, timeoutMessage(this.chainId, t.epoch, t.view, t.highQc.view), t.signature))
      return false;
    return this.verifyQc(t.highQc) && (!t.lastViewTc || this.verifyTc(t.lastViewTc));
  }

  verifyProposal(p: Proposal): boolean {
    const msg = proposalMessage(this.chainId, p.epoch, p.view, p.block.hash);
    this.checkTogether(p, msg);
    if (!this.check(p.author, msg, p.signature)) return false;
    return this.verifyQc(p.justify) && (!p.lastViewTc || this.verifyTc(p.lastViewTc));
  }

  /**
   * A proposal that brings a QC nobody showed this member yet (its view's vote collector formed it):
   * the signature and the QC in one multi-pairing, 0.75× the CPU of two checks (bench/bls-verify.ts);
   * the second proposal of every lone tx is one, on the latency path of each member. Random factors
   * (blst's) keep a leader from shifting part of one signature into the other. Remembers both when
   * they hold; when they do not, the single checks that follow say which one fails.
   */
  private checkTogether(p: Proposal, msg: Uint8Array): void {
    const qc = p.justify;
    const pk = this.keys[p.author];
    if (!pk || qc.view === 0n) return;
    const sigKey = BlsConsensusCrypto.sigKey(p.author, msg, p.signature);
    const qcKey = BlsConsensusCrypto.qcKey(qc);
    if (this.verified.has(sigKey) || this.verified.has(qcKey)) return;
    const qcSet = qcSignatureSet(qc, this.chainId, this.committee);
    if (typeof qcSet === 'string') return;
    let ok = false;
    try {
      ok = verifyMultipleAggregateSignatures([
        { msg, pk, sig: Signature.fromBytes(p.signature, true) },
        qcSet,
      ]);
    } catch {
      return; // malformed signature bytes: the single check says so
    }
    if (!ok) return;
    this.memo(sigKey, () => true);
    this.memo(qcKey, () => true);
  }
}

/** The node's BLS key as the safety rules' signer. */
export function blsSigner(key: SecretKey, chainId: bigint): MessageSigner {
  return {
    signVote: (epoch, view, hash) => key.sign(voteMessage(chainId, epoch, view, hash)).toBytes(),
    signTimeout: (epoch, view, highQcView) =>
      key.sign(timeoutMessage(chainId, epoch, view, highQcView)).toBytes(),
    signProposal: (epoch, view, hash) => key.sign(proposalMessage(chainId, epoch, view, hash)).toBytes(),
  };
}
