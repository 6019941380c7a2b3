import type { Hex } from '../util/bytes.js';
import type { QuorumCertificate } from './certificate.js';
import type { CommittedBlock, ConsensusMessage } from './core/types.js';
import type { ConsensusCrypto } from './driver/driver.js';

/**
 * Handing certification from one epoch's committee to the next (docs/ARCHITECTURE.md, "Committees
 * that change"): the rules every member applies alike, so that all agree where one consensus
 * instance ends and the next begins. Pure functions; the simulator runs them all (`npm run sim --
 * --committees`); the node, whose one instance is epoch 0 on genesis, uses the root QC's two.
 *
 * - An instance is one epoch's committee running the core, with views from 1 and that epoch in every
 *   proposal, vote, timeout and QC (a vote of one instance never conflicts with another's: slashing
 *   is per (epoch, view, phase), DECISIONS.md §5). Its root is the block it starts on.
 * - It ends at its *boundary block* B: the first block it commits whose L1 origin is in a later
 *   epoch. The committed chain is agreed, so B is. B and every block the instance adds after it
 *   (the suffix that exists to commit B) hold no txs, and the suffix is never part of the chain.
 * - The next instance is the one of B's origin epoch, rooted at B with a view-0 QC of its own epoch.
 * - An instance's first block keeps its root's epoch: an instance that starts later than an epoch
 *   lasts (a slow switch, a stalled chain) could otherwise end at once, every time, and the chain
 *   would never take a tx again (17 of 2,000 simulator seeds with 0.5–1.5 s epochs did not commit
 *   every tx so; none with the rule).
 */

/** Where an instance stands: its epoch and the hash of its root block. */
export interface Instance {
  epoch: bigint;
  root: Hex;
}

/** The QC an instance starts from: view 0 of its epoch, on its root, with no signers. */
export function instanceRootQc(instance: Instance): QuorumCertificate {
  return { epoch: instance.epoch, view: 0n, blockHash: instance.root, signers: 0n, signature: '0x' };
}

/** Whether `qc` is the root QC of `instance` (the only QC without signers an instance accepts). */
export function isInstanceRootQc(qc: QuorumCertificate, instance: Instance): boolean {
  return qc.view === 0n && qc.signers === 0n && qc.epoch === instance.epoch && qc.blockHash === instance.root;
}

/**
 * The origin epoch a leader gives a block on `parent`: its parent's, or the clock's when later, except
 * for the instance's first block (on its root), which keeps the instance's epoch.
 */
export function originForBlock(
  instance: Instance,
  parent: Hex,
  parentEpoch: bigint,
  clockEpoch: bigint,
): bigint {
  if (parent === instance.root) return instance.epoch;
  return clockEpoch > parentEpoch ? clockEpoch : parentEpoch;
}

/** Whether a block of this origin ends the instance (it is B, or in the suffix after B). */
export function closesInstance(instanceEpoch: bigint, origin: bigint): boolean {
  return origin > instanceEpoch;
}

/**
 * Why a block cannot be in `instance`, or null: a block past the instance's epoch holds no txs, and
 * the instance's first block is not one (it keeps the root's epoch).
 */
export function instanceBlockError(
  instance: Instance,
  block: { parent: Hex; txCount: number },
  origin: bigint,
): string | null {
  if (!closesInstance(instance.epoch, origin)) return null;
  if (block.parent === instance.root)
    return `the first block of epoch ${instance.epoch}'s instance has origin epoch ${origin}: it keeps its root's`;
  if (block.txCount > 0)
    return `a block of origin epoch ${origin} in epoch ${instance.epoch}'s instance holds ${block.txCount} txs: it closes the instance and must be empty`;
  return null;
}

/**
 * Why a committed block that a peer sent (block sync) does not prove itself in `instance`, or null:
 * its proposal and both QCs of its commit proof are of the instance's epoch and verify under its
 * committee (`crypto`), the first QC is the block's or the descendant's it was committed through,
 * and the second is of the next view.
 */
export function syncedBlockError(
  instance: Instance,
  committed: CommittedBlock,
  crypto: Pick<ConsensusCrypto, 'verifyProposal' | 'verifyQc'>,
): string | null {
  const { proposal, qcs, through } = committed;
  const [qc, child] = qcs;
  const at = `block ${proposal.block.height}`;
  if (proposal.epoch !== instance.epoch || qc.epoch !== instance.epoch || child.epoch !== instance.epoch)
    return `${at} is certified in epoch ${proposal.epoch} (QCs ${qc.epoch}, ${child.epoch}), not in the instance's ${instance.epoch}`;
  if (qc.blockHash !== through)
    return `${at}: its proof's first QC is not of the block it was committed through`;
  if (child.view !== qc.view + 1n) return `${at}: its proof's second QC is not of the next view`;
  if (!crypto.verifyProposal(proposal)) return `${at}: its proposal does not verify`;
  if (!crypto.verifyQc(qc) || !crypto.verifyQc(child)) return `${at}: its proof does not verify`;
  return null;
}

/** The epoch a consensus message belongs to (the instance it is for). */
export function messageEpoch(m: ConsensusMessage): bigint {
  switch (m.kind) {
    case 'proposal':
      return m.proposal.epoch;
    case 'vote':
      return m.vote.epoch;
    case 'timeout':
      return m.timeout.epoch;
    case 'tc':
      return m.tc.epoch;
    case 'qc':
      return m.qc.epoch;
  }
}
