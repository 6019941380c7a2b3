import { PublicKey, type SecretKey, Signature, verify } from '@chainsafe/blst';
import { RLP } from '@ethereumjs/rlp';
import type { Logger } from 'pino';
import {
  aggregateQc,
  type Committee,
  type OutputCertificate,
  outputMessage,
  quorumFor,
  signOutput,
  verifyOutputCertificate,
} from '../consensus/certificate.js';
import type { L2Output } from '../l1/withdrawals.js';
import type { Metrics } from '../metrics/metrics.js';
import { loadOrCreateNodeKey, nodeKeyPath } from '../p2p/keys.js';
import { createNetwork, type Network } from '../p2p/network.js';
import { protocols } from '../p2p/options.js';
import { bigIntToBytes, bytesToBigInt, fromHex, toHex } from '../util/bytes.js';
import { type CommitteeOptions, memberIndexOf } from './committee-options.js';

export interface OutputCertifierDeps {
  network: Pick<Network, 'handle' | 'request'>;
  /** The direct protocol members answer output requests on. */
  protocol: string;
  chainId: bigint;
  /** The epoch of the committee that signs (the CommitteeVerifier's entry). */
  epoch: bigint;
  committee: Committee;
  self: number;
  /** Members' libp2p peer ids, in committee order. */
  peerIds: string[];
  /** Peers beside `peerIds` that may ask for signatures (--epoch-committees: the instance's members). */
  isAsker?: (peer: string) => boolean;
  blsKey: SecretKey;
  /**
   * This member's own output of a block it has committed and executed (and indexed the withdrawals
   * of); undefined while it has not.
   */
  outputAt(l2Block: bigint): L2Output | undefined;
  logger: Logger;
  metrics?: Pick<Metrics, 'outputSignatures' | 'outputsCertified'> | null;
}

/**
 * Who certifies an output: an epoch's committee, this node's index in it (−1: not a member, it only
 * collects), and the members' libp2p peers in committee order (undefined: not reachable).
 */
export interface CertifyingCommittee {
  epoch: bigint;
  committee: Committee;
  self: number;
  peerIds: ReadonlyArray<string | undefined>;
}

/** How long the certifier waits for members' signatures on one output. */
const ANSWER_TIMEOUT_MS = 3_000;

/**
 * Certified L2 outputs (DECISIONS.md §4: the committee certifies state roots; no single key may post
 * one). Every member signs, on request, the output of a block it has committed and executed itself;
 * the member that posts to L1 collects a quorum of those signatures over the output it computed and
 * aggregates them into the certificate `StateOracle.proposeCertified` checks. An honest member only
 * ever signs the one output execution gives it, so two certified outputs for one block need f+1
 * members that lie.
 */
export class OutputCertifier {
  /** Answers served and certificates made, for `seqnet_status`. */
  readonly stats = {
    signed: 0,
    refused: 0,
    certified: 0,
    disagreed: 0,
    lastCertified: null as string | null,
  };

  constructor(private readonly deps: OutputCertifierDeps) {}

  /**
   * Serves other members' requests: RLP l2Block (the deps' epoch), or RLP [l2Block, epoch] (an epoch's
   * committee, --epoch-committees) → RLP [outputRoot, signature].
   */
  serve(): void {
    this.deps.network.handle(this.deps.protocol, (data, from) => this.answer(data, from));
  }

  private answer(data: Uint8Array, from: string): Uint8Array | undefined {
    // Only members ask: a signature costs a BLS signing, not something to hand any peer.
    if (!this.deps.peerIds.includes(from) && !this.deps.isAsker?.(from)) return undefined;
    let l2Block: bigint;
    let epoch = this.deps.epoch;
    try {
      const decoded = RLP.decode(data) as Uint8Array | Uint8Array[];
      if (!(decoded instanceof Uint8Array) && decoded.length !== 2) return undefined;
      const [rawBlock, rawEpoch] = decoded instanceof Uint8Array ? [decoded, undefined] : decoded;
      if (!(rawBlock instanceof Uint8Array) || rawBlock.length > 8) return undefined;
      if (rawEpoch !== undefined && (!(rawEpoch instanceof Uint8Array) || rawEpoch.length > 8))
        return undefined;
      l2Block = bytesToBigInt(rawBlock);
      if (rawEpoch) epoch = bytesToBigInt(rawEpoch);
    } catch {
      return undefined;
    }
    const own = this.deps.outputAt(l2Block);
    if (!own) {
      this.stats.refused++;
      this.deps.metrics?.outputSignatures.inc({ outcome: 'refused' });
      return undefined;
    }
    this.stats.signed++;
    this.deps.metrics?.outputSignatures.inc({ outcome: 'signed' });
    return RLP.encode([fromHex(own.outputRoot), this.sign(own, epoch)]);
  }

  private sign(o: L2Output, epoch: bigint): Uint8Array {
    const { blsKey, chainId } = this.deps;
    return signOutput(blsKey, chainId, epoch, o.l2Block, o.outputRoot);
  }

  /**
   * The certificate of this member's own output of `l2Block`, or undefined when fewer than a quorum
   * of members (this one included) signed that same output within ANSWER_TIMEOUT_MS.
   */
  async certify(
    l2Block: bigint,
    /** The epoch's committee that certifies (--epoch-committees); default the deps' (the file's, epoch 0). */
    by: CertifyingCommittee = this.deps,
  ): Promise<{ output: L2Output; certificate: OutputCertificate } | undefined> {
    const { network, protocol, chainId, logger } = this.deps;
    const { committee, self, peerIds, epoch } = by;
    const own = this.deps.outputAt(l2Block);
    if (!own) return undefined;
    const votes = self >= 0 ? [{ index: self, signature: this.sign(own, epoch) }] : [];
    const message = outputMessage(chainId, epoch, l2Block, own.outputRoot);
    const request =
      epoch === this.deps.epoch
        ? RLP.encode(bigIntToBytes(l2Block))
        : RLP.encode([bigIntToBytes(l2Block), bigIntToBytes(epoch)]);
    await new Promise<void>((resolve) => {
      const asked = peerIds.filter((peer, index): peer is string => index !== self && peer !== undefined);
      let pending = asked.length;
      const settle = () => {
        if (--pending === 0 || votes.length >= committee.quorum) resolve();
      };
      if (pending === 0) resolve();
      peerIds.forEach((peer, index) => {
        if (index === self || peer === undefined) return;
        network
          .request(peer, protocol, request, ANSWER_TIMEOUT_MS)
          .then((raw) => {
            const [root, signature] = RLP.decode(raw) as unknown as [Uint8Array, Uint8Array];
            if (toHex(root) !== own.outputRoot) {
              this.stats.disagreed++;
              logger.warn(
                { member: index, l2Block: Number(l2Block), ours: own.outputRoot, theirs: toHex(root) },
                'a member computed another output for this block',
              );
              return;
            }
            // Checked one by one, so one bad signature cannot spoil the aggregate.
            const key = PublicKey.fromBytes(fromHex(committee.publicKeys[index]), true);
            if (!verify(message, key, Signature.fromBytes(signature, true)))
              throw new Error('signature does not verify');
            if (votes.length < committee.quorum) votes.push({ index, signature });
          })
          .catch((err: unknown) => {
            logger.debug({ member: index, err: (err as Error).message }, 'no output signature');
          })
          .finally(settle);
      });
    });
    if (votes.length < committee.quorum) {
      logger.info(
        { l2Block: Number(l2Block), signed: votes.length, quorum: committee.quorum },
        'output not certified: too few members signed it (yet)',
      );
      return undefined;
    }
    const certificate = aggregateQc({ epoch, l2Block, outputRoot: own.outputRoot }, votes);
    const why = verifyOutputCertificate(certificate, chainId, committee);
    if (why) throw new Error(`the output certificate of block ${l2Block} does not verify: ${why}`);
    this.stats.certified++;
    this.deps.metrics?.outputsCertified.inc();
    this.stats.lastCertified = l2Block.toString();
    return { output: own, certificate };
  }
}

/**
 * The certifier of the committee file's members (epoch 0, as for blocks), on the direct protocol of
 * `chainId`: the same for a committee member and for the output signers of `based` / `free`.
 */
export function committeeOutputCertifier(
  network: OutputCertifierDeps['network'],
  members: CommitteeOptions['members'],
  committee: Committee,
  self: number,
  deps: Pick<OutputCertifierDeps, 'chainId' | 'blsKey' | 'outputAt' | 'logger' | 'metrics'>,
  isAsker?: OutputCertifierDeps['isAsker'],
): OutputCertifier {
  return new OutputCertifier({
    network,
    protocol: protocols.outputSign(deps.chainId),
    chainId: deps.chainId,
    epoch: 0n,
    committee,
    self,
    peerIds: members.map((m) => m.peerId),
    isAsker,
    blsKey: deps.blsKey,
    outputAt: deps.outputAt,
    logger: deps.logger.child({ module: 'outputs' }),
    metrics: deps.metrics,
  });
}

/**
 * `based` / `free` with a committee file: no consensus, but the committee still certifies outputs
 * (DECISIONS.md §4), so withdrawals reach L1 in these modes too. A libp2p host among the members
 * that serves and collects output signatures, nothing else.
 */
export class OutputSigners {
  private constructor(
    readonly network: Network,
    readonly certifier: OutputCertifier,
    readonly self: number,
    private readonly members: CommitteeOptions['members'],
  ) {}

  static async start(
    options: CommitteeOptions,
    deps: {
      dataDir: string;
      chainId: bigint;
      blsKey: SecretKey;
      outputAt(l2Block: bigint): L2Output | undefined;
      logger: Logger;
      metrics?: OutputCertifierDeps['metrics'];
    },
  ): Promise<OutputSigners> {
    const self = memberIndexOf(options.members, toHex(deps.blsKey.toPublicKey().toBytes()));
    const key = await loadOrCreateNodeKey(nodeKeyPath(deps.dataDir));
    const network = await createNetwork(
      { listen: options.listen, bootstrap: options.bootnodes, privateKey: key.privateKey, topics: [] },
      deps.logger.child({ module: 'p2p' }),
    );
    const publicKeys = options.members.map((m) => m.blsPublicKey);
    const certifier = committeeOutputCertifier(
      network,
      options.members,
      { publicKeys, quorum: quorumFor(publicKeys.length) },
      self,
      deps,
    );
    certifier.serve();
    deps.logger.info(
      { member: self, committee: publicKeys.length, peerId: network.peerId, addresses: network.addresses() },
      'output committee member started (certifies outputs; L1 orders)',
    );
    return new OutputSigners(network, certifier, self, options.members);
  }

  get size(): number {
    return this.members.length;
  }

  status(): Record<string, unknown> {
    const peers = this.network.peers();
    return {
      self: this.self,
      members: this.members.map((m, i) => ({
        index: i,
        peerId: m.peerId,
        connected: i === this.self || peers.includes(m.peerId),
      })),
      ...this.certifier.stats,
    };
  }

  stop(): Promise<void> {
    return this.network.stop();
  }
}
