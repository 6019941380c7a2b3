import { RLP } from '@ethereumjs/rlp';
import { bigIntToBytes, bytesToBigInt, fromHex, type Hex, toHex } from '../util/bytes.js';
import type { QuorumCertificate } from './certificate.js';
import { FAILED_VIEWS_KEPT } from './core/hotstuff.js';
import type {
  BlockHeader,
  ChainHistory,
  ConsensusMessage,
  Proposal,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
} from './core/types.js';

/**
 * Wire and WAL encoding of consensus messages: RLP, version byte first. Decoding is strict (exact
 * shapes, canonical integers, 32-byte hashes, bounded sizes) and throws ConsensusDecodeError, which
 * the network turns into a penalty for the peer that sent it.
 */
export class ConsensusDecodeError extends Error {
  override name = 'ConsensusDecodeError';
}

const VERSION = 1;
const KIND = { proposal: 1, vote: 2, timeout: 3, tc: 4, qc: 5 } as const;
/** Largest encoded message accepted (a block of ~4 MiB of txs plus certificates). */
export const MAX_MESSAGE_BYTES = 6 * 1024 * 1024;

type Rlp = Uint8Array | Rlp[];

const int = (n: bigint | number) => bigIntToBytes(BigInt(n));

function encodeQc(q: QuorumCertificate): Rlp {
  return [int(q.epoch), int(q.view), fromHex(q.blockHash), int(q.signers), fromHex(q.signature)];
}
function encodeTc(t: TimeoutCertificate): Rlp {
  return [
    int(t.epoch),
    int(t.view),
    t.timeouts.map((x) => [int(x.voter), int(x.highQcView), x.signature]),
    encodeQc(t.highQc),
  ];
}
function encodeHeader(b: BlockHeader): Rlp {
  return [fromHex(b.hash), fromHex(b.parent), int(b.height), int(b.txCount)];
}
function encodeProposal(p: Proposal): Rlp {
  return [
    int(p.epoch),
    int(p.view),
    int(p.author),
    encodeHeader(p.block),
    encodeQc(p.justify),
    p.lastViewTc ? [encodeTc(p.lastViewTc)] : [],
    p.payload,
    p.signature,
  ];
}

export function encodeConsensusMessage(m: ConsensusMessage): Uint8Array {
  switch (m.kind) {
    case 'proposal':
      return RLP.encode([int(VERSION), int(KIND.proposal), encodeProposal(m.proposal)]);
    case 'vote': {
      const v = m.vote;
      return RLP.encode([
        int(VERSION),
        int(KIND.vote),
        [int(v.epoch), int(v.view), fromHex(v.blockHash), int(v.voter), v.signature],
      ]);
    }
    case 'timeout': {
      const t = m.timeout;
      return RLP.encode([
        int(VERSION),
        int(KIND.timeout),
        [
          int(t.epoch),
          int(t.view),
          encodeQc(t.highQc),
          int(t.voter),
          t.signature,
          t.lastViewTc ? [encodeTc(t.lastViewTc)] : [],
        ],
      ]);
    }
    case 'tc':
      return RLP.encode([int(VERSION), int(KIND.tc), encodeTc(m.tc)]);
    case 'qc':
      return RLP.encode([int(VERSION), int(KIND.qc), encodeQc(m.qc)]);
  }
}

export function encodeProposals(ps: Proposal[]): Uint8Array {
  return RLP.encode([int(VERSION), ps.map(encodeProposal)]);
}

// ---- decoding ----

function fail(msg: string): never {
  throw new ConsensusDecodeError(msg);
}
function list(x: Rlp | undefined, len: number, what: string): Rlp[] {
  if (!Array.isArray(x) || x.length !== len) fail(`${what}: expected a list of ${len}`);
  return x;
}
function bytes(x: Rlp | undefined, what: string, max = MAX_MESSAGE_BYTES): Uint8Array {
  if (!(x instanceof Uint8Array)) fail(`${what}: expected bytes`);
  if (x.length > max) fail(`${what}: too long`);
  return x;
}
function num(x: Rlp | undefined, what: string, maxBytes = 8): bigint {
  const b = bytes(x, what, maxBytes);
  if (b.length > 0 && b[0] === 0) fail(`${what}: not canonical`);
  return bytesToBigInt(b);
}
function small(x: Rlp | undefined, what: string): number {
  const n = num(x, what, 4);
  if (n > 0xffffn) fail(`${what}: out of range`);
  return Number(n);
}
function hash32(x: Rlp | undefined, what: string): Hex {
  const b = bytes(x, what, 32);
  if (b.length !== 32) fail(`${what}: expected 32 bytes`);
  return toHex(b);
}
function decodeQc(x: Rlp | undefined): QuorumCertificate {
  const [epoch, view, hash, signers, sig] = list(x, 5, 'qc');
  return {
    epoch: num(epoch, 'qc.epoch'),
    view: num(view, 'qc.view'),
    blockHash: hash32(hash, 'qc.blockHash'),
    signers: num(signers, 'qc.signers', 64),
    signature: toHex(bytes(sig, 'qc.signature', 192)),
  };
}
function decodeTc(x: Rlp | undefined): TimeoutCertificate {
  const [epoch, view, timeouts, highQc] = list(x, 4, 'tc');
  if (!Array.isArray(timeouts) || timeouts.length > 1024) fail('tc.timeouts: expected a list');
  return {
    epoch: num(epoch, 'tc.epoch'),
    view: num(view, 'tc.view'),
    timeouts: timeouts.map((t) => {
      const [voter, hqv, sig] = list(t, 3, 'tc.timeout');
      return {
        voter: small(voter, 'tc.voter'),
        highQcView: num(hqv, 'tc.highQcView'),
        signature: bytes(sig, 'tc.sig', 192),
      };
    }),
    highQc: decodeQc(highQc),
  };
}
function optionalTc(x: Rlp | undefined): TimeoutCertificate | undefined {
  if (!Array.isArray(x) || x.length > 1) fail('optional tc: expected a list of at most 1');
  return x.length ? decodeTc(x[0]) : undefined;
}
function decodeProposal(x: Rlp | undefined): Proposal {
  const [epoch, view, author, header, justify, tc, payload, sig] = list(x, 8, 'proposal');
  const [hash, parent, height, txCount] = list(header, 4, 'proposal.block');
  return {
    epoch: num(epoch, 'epoch'),
    view: num(view, 'view'),
    author: small(author, 'author'),
    block: {
      hash: hash32(hash, 'block.hash'),
      parent: hash32(parent, 'block.parent'),
      height: num(height, 'block.height'),
      txCount: Number(num(txCount, 'block.txCount', 4)),
    },
    justify: decodeQc(justify),
    lastViewTc: optionalTc(tc),
    payload: bytes(payload, 'payload'),
    signature: bytes(sig, 'signature', 192),
  };
}

function decodeEnvelope(raw: Uint8Array): Rlp[] {
  if (raw.length > MAX_MESSAGE_BYTES) fail('message too large');
  let decoded: Rlp;
  try {
    decoded = RLP.decode(raw) as Rlp;
  } catch (err) {
    fail(`malformed RLP: ${(err as Error).message}`);
  }
  if (!Array.isArray(decoded) || decoded.length < 2) fail('expected [version, …]');
  if (num(decoded[0], 'version') !== BigInt(VERSION)) fail(`unknown version ${num(decoded[0], 'version')}`);
  return decoded;
}

export function decodeConsensusMessage(raw: Uint8Array): ConsensusMessage {
  const env = decodeEnvelope(raw);
  if (env.length !== 3) fail('expected [version, kind, body]');
  const kind = num(env[1], 'kind');
  if (kind === BigInt(KIND.proposal)) return { kind: 'proposal', proposal: decodeProposal(env[2]) };
  if (kind === BigInt(KIND.vote)) {
    const [epoch, view, hash, voter, sig] = list(env[2], 5, 'vote');
    const vote: Vote = {
      epoch: num(epoch, 'epoch'),
      view: num(view, 'view'),
      blockHash: hash32(hash, 'blockHash'),
      voter: small(voter, 'voter'),
      signature: bytes(sig, 'signature', 192),
    };
    return { kind: 'vote', vote };
  }
  if (kind === BigInt(KIND.timeout)) {
    const [epoch, view, highQc, voter, sig, tc] = list(env[2], 6, 'timeout');
    const timeout: TimeoutVote = {
      epoch: num(epoch, 'epoch'),
      view: num(view, 'view'),
      highQc: decodeQc(highQc),
      voter: small(voter, 'voter'),
      signature: bytes(sig, 'signature', 192),
      lastViewTc: optionalTc(tc),
    };
    return { kind: 'timeout', timeout };
  }
  if (kind === BigInt(KIND.tc)) return { kind: 'tc', tc: decodeTc(env[2]) };
  if (kind === BigInt(KIND.qc)) return { kind: 'qc', qc: decodeQc(env[2]) };
  fail(`unknown message kind ${kind}`);
}

export function decodeProposals(raw: Uint8Array): Proposal[] {
  const env = decodeEnvelope(raw);
  const ps = env[1];
  if (env.length !== 2 || !Array.isArray(ps) || ps.length > 1024) fail('expected [version, [proposal…]]');
  return ps.map(decodeProposal);
}

/**
 * A block's chain history for a member that caught up by block sync: [version, hash, [failed
 * views], [[view, leader]…]]. Decoding checks the shape a history has (ascending views, at most
 * FAILED_VIEWS_KEPT + 1 of each, proposers inside the committee), not that it is true: the syncing
 * member takes it only when f+1 members send the same one.
 */
export function encodeChainHistory(blockHash: Hex, h: ChainHistory): Uint8Array {
  return RLP.encode([
    int(VERSION),
    fromHex(blockHash),
    h.failedViews.map(int),
    h.led.map((b) => [int(b.view), int(b.leader)]),
  ]);
}

/** A block keeps FAILED_VIEWS_KEPT views of history, its own view among its proposers. */
const MAX_HISTORY_ITEMS = Number(FAILED_VIEWS_KEPT) + 1;

export function decodeChainHistory(
  raw: Uint8Array,
  committeeSize: number,
): { blockHash: Hex; history: ChainHistory } {
  const env = decodeEnvelope(raw);
  if (env.length !== 4) fail('expected [version, hash, failed views, proposers]');
  const [, hash, views, led] = env;
  if (!Array.isArray(views) || views.length > MAX_HISTORY_ITEMS)
    fail('history.failedViews: expected a short list');
  if (!Array.isArray(led) || led.length > MAX_HISTORY_ITEMS) fail('history.led: expected a short list');
  const failedViews = views.map((v) => num(v, 'history.failedView'));
  const proposers = led.map((b) => {
    const [view, leader] = list(b, 2, 'history.proposer');
    const who = small(leader, 'history.leader');
    if (who >= committeeSize) fail(`history.leader: ${who} is not a committee index`);
    return { view: num(view, 'history.view'), leader: who };
  });
  const ascending = (xs: bigint[]) => xs.every((x, i) => i === 0 || xs[i - 1] < x);
  if (!ascending(failedViews) || !ascending(proposers.map((b) => b.view)))
    fail('history: views must be strictly ascending');
  return { blockHash: hash32(hash, 'history.blockHash'), history: { failedViews, led: proposers } };
}

/**
 * The history that at least `needed` distinct members answered alike for `blockHash` (f+1: one of
 * them is honest, and honest members derive the same history from the same chain), or undefined.
 * Answers that do not decode, or name another block, count for nothing.
 */
export function agreedChainHistory(
  answers: readonly { member: number; raw: Uint8Array }[],
  blockHash: Hex,
  committeeSize: number,
  needed: number,
): ChainHistory | undefined {
  const byEncoding = new Map<string, { members: Set<number>; history: ChainHistory }>();
  for (const { member, raw } of answers) {
    let decoded: ReturnType<typeof decodeChainHistory>;
    try {
      decoded = decodeChainHistory(raw, committeeSize);
    } catch {
      continue;
    }
    if (decoded.blockHash.toLowerCase() !== blockHash.toLowerCase()) continue;
    const key = toHex(raw);
    const entry = byEncoding.get(key) ?? { members: new Set<number>(), history: decoded.history };
    entry.members.add(member);
    byEncoding.set(key, entry);
    if (entry.members.size >= needed) return entry.history;
  }
  return undefined;
}
