/** Tuning for the committee's network layer. Every field has a default (`p2pDefaults`). */
export interface P2pOptions {
  /** Largest payload of one direct frame (sendTo, request, response) and of one gossip message, bytes. */
  maxFrameBytes: number;
  /** Gossipsub heartbeat (mesh maintenance, gossip emission), ms. */
  heartbeatMs: number;
  /** First redial delay after a peer drops or a dial fails, ms; doubles each failure (with jitter). */
  redialBaseMs: number;
  /** Longest wait between redials, ms. */
  redialMaxMs: number;
  /** A peer learnt from the network (not a bootstrap peer) that stays unreachable this long is forgotten, ms. */
  forgetAfterMs: number;
  /** This many penalties within `penaltyWindowMs` ban the peer. */
  maxPenalties: number;
  /** A penalty counts against its peer for this long, ms. */
  penaltyWindowMs: number;
  /** A banned peer is disconnected and refused (both directions) for this long, ms. */
  banMs: number;
  /** Time to open a stream to a peer for `sendTo` (dialling it if needed), ms. */
  openTimeoutMs: number;
  /**
   * Ask each new committee peer for the peers it is connected to, and keep those connected too, so
   * that a committee bootstrapped as a chain or a star becomes a full mesh (one gossip hop).
   */
  peerExchange: boolean;
}

export const p2pDefaults: P2pOptions = {
  maxFrameBytes: 4 * 1024 * 1024,
  heartbeatMs: 500,
  redialBaseMs: 250,
  redialMaxMs: 10_000,
  forgetAfterMs: 60 * 60 * 1000,
  maxPenalties: 10,
  penaltyWindowMs: 60_000,
  banMs: 10 * 60 * 1000,
  openTimeoutMs: 5_000,
  peerExchange: true,
};

/** Gossip topic names, one per purpose, versioned: `/seqnet/<chainId>/<purpose>/1`. */
export const topics = {
  txs: (chainId: number | bigint): string => `/seqnet/${chainId}/txs/1`,
  consensus: (chainId: number | bigint): string => `/seqnet/${chainId}/consensus/1`,
};

/** Direct-stream protocol ids: `/seqnet/<chainId>/<purpose>/1`. */
export const protocols = {
  consensus: (chainId: number | bigint): string => `/seqnet/${chainId}/consensus-direct/1`,
  blockSync: (chainId: number | bigint): string => `/seqnet/${chainId}/block-sync/1`,
  /** Pending txs sent again to each member after a timeout (a tx batch, as gossiped). */
  txsDirect: (chainId: number | bigint): string => `/seqnet/${chainId}/txs-direct/1`,
  /** A member's signature on its own output of a block (src/node/output-certifier.ts). */
  outputSign: (chainId: number | bigint): string => `/seqnet/${chainId}/output-sign/1`,
  /** A node's signed member record: the BLS key it speaks for (src/node/member-records.ts). */
  memberRecord: (chainId: number | bigint): string => `/seqnet/${chainId}/member-record/1`,
};
