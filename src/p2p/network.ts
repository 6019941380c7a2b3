import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import {
  type GossipSub,
  gossipsub,
  type Message,
  StrictNoSign,
  TopicValidatorResult,
} from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type pino from 'pino';
import { P2pError, P2pErrorCode } from './errors.js';
import { decodeNodeKey } from './keys.js';
import { type P2pOptions, p2pDefaults } from './options.js';
import { PeerPenalties } from './penalties.js';
import { Redialer } from './redial.js';
import { installHalfWindowUpdates } from './yamux-window.js';

/**
 * The committee's transport: a libp2p host (TCP + Noise + Yamux) with gossipsub topics and direct
 * streams, generic over bytes. It knows nothing of consensus.
 *
 * Gossip: messages carry no libp2p signature (StrictNoSign, as Ethereum's consensus-layer gossip):
 * what the committee gossips signs itself (BLS proposals and timeouts, ECDSA txs), so a relay cannot
 * forge or alter it, and a second ed25519 signature per message cost ~40 % of the CPU of a delivery
 * (`bench/p2p.ts`). A handler knows the neighbour that forwarded a message, not its publisher; a
 * message's id is a hash of its topic and bytes, so identical
 * bytes on a topic are delivered once within the seen-cache TTL (2 min) even if several members
 * publish them. Each message is validated by the topic's `onMessage` handler before it is forwarded:
 * 'accept' delivers and forwards it, 'ignore' drops it, 'reject' drops it and penalises the peer that
 * sent it (gossipsub's P4 score and the app-level penalties below).
 *
 * Direct streams (`sendTo`, `request`, `handle`): varint length-prefixed frames of at most
 * `maxFrameBytes`, each starting with a kind byte: 0 a one-way message, 1 a request (answered by one
 * frame: status byte 0 + payload, or 1 + an error message). `sendTo` keeps one stream per peer and
 * protocol open, so direct messages to a peer arrive in order; requests reuse idle streams (one
 * request at a time on each), and one that finds its pooled stream dead is sent once more on a fresh
 * stream, so request handlers should be idempotent (block sync is).
 *
 * Penalties: a rejected gossip message, a malformed or oversized frame, or `penalise` counts against
 * a peer for `penaltyWindowMs`; `maxPenalties` of them ban it for `banMs`: it is disconnected and its
 * connections are refused in both directions.
 */

export type Verdict = 'accept' | 'ignore' | 'reject';

/**
 * Validates and consumes one gossip message. `via` is the neighbour that forwarded it to us (the
 * publisher itself, or a relay), the one a 'reject' penalises.
 * Return 'reject' only for messages that are invalid whatever the receiver's state (a bad signature,
 * bytes that do not decode): honest relays forward what they accept, so a 'reject' blames `via`.
 * Use 'ignore' for what is merely stale, early or unwanted. A handler that throws counts as 'ignore'.
 */
export type GossipHandler = (data: Uint8Array, via: string) => Verdict | Promise<Verdict>;

/**
 * Serves a direct protocol. For `request` the returned bytes are the response (returning nothing,
 * or throwing, answers with an error); for `sendTo` the return value is dropped.
 */
export type DirectHandler = (
  data: Uint8Array,
  from: string,
) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

export interface NetworkOptions {
  /** Multiaddr to listen on, e.g. /ip4/127.0.0.1/tcp/0. */
  listen: string;
  /** Multiaddrs with /p2p/<peer id>: dialled at start and redialled whenever they drop. */
  bootstrap: string[];
  /** The node's libp2p Ed25519 key, protobuf-encoded (see keys.ts), persisted by the caller. */
  privateKey: Uint8Array;
  /** The gossip topics this node may publish and subscribe to; others are refused. */
  topics: string[];
  /** Tuning; defaults in options.ts. */
  p2p?: Partial<P2pOptions>;
}

export interface Network {
  readonly peerId: string;
  /** The listen addresses, each with /p2p/<peer id>. */
  addresses(): string[];
  /** Gossips `data` on `topic` (to every connected subscriber, then along the mesh). */
  publish(topic: string, data: Uint8Array): Promise<void>;
  /** Subscribes to `topic` with `handler` as its validator and consumer (one handler per topic). */
  onMessage(topic: string, handler: GossipHandler): void;
  /** A one-way message on a direct stream (in order per peer and protocol; best effort). */
  sendTo(peerId: string, protocol: string, data: Uint8Array): Promise<void>;
  /** Serves `protocol` for both `sendTo` and `request` (one handler per protocol). */
  handle(protocol: string, handler: DirectHandler): void;
  /** A request/response round trip; rejects with a P2pError (Timeout, Remote, Unreachable, …). */
  request(peerId: string, protocol: string, req: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Connected peers. */
  peers(): string[];
  /** Tells `listener` of every peer that connects (true) or whose last connection closed (false). */
  onPeerChange(listener: (peer: string, connected: boolean) => void): void;
  /** Counts one penalty against the peer (see above); enough of them ban it. */
  penalise(peerId: string, reason: string): void;
  /** True while the peer is banned. */
  isBanned(peerId: string): boolean;
  stop(): Promise<void>;
}

const KIND_MESSAGE = 0;
const KIND_REQUEST = 1;
const STATUS_OK = 0;
const STATUS_ERROR = 1;
/** Idle request streams kept open per peer and protocol. */
const MAX_IDLE_REQUEST_STREAMS = 4;
/** Longest error message sent back to a requester. */
const MAX_ERROR_BYTES = 1024;

/** Gossipsub's protocol ids: a peer that speaks one of them is a committee peer worth redialling. */
const GOSSIP_PROTOCOLS = ['/meshsub/1.2.0', '/meshsub/1.1.0', '/meshsub/1.0.0'];

const ZERO_BYTE = new Uint8Array(1);

/** 20-byte message id: sha256(topic ‖ 0x00 ‖ data). */
function contentId(topic: string, data: Uint8Array | undefined): Uint8Array {
  // node:crypto, not a JS sha256: every message is hashed twice (fastMsgIdFn, msgIdFn), and a
  // proposal of a full block is tens of kB (a profile under load: 1.5 % of a member's main thread).
  const h = createHash('sha256').update(topic).update(ZERO_BYTE);
  if (data) h.update(data);
  return h.digest().subarray(0, 20);
}

const toHexString = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function frame(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = kind;
  out.set(payload, 1);
  return out;
}

function parsePeer(peerId: string): PeerId {
  try {
    return peerIdFromString(peerId);
  } catch (err) {
    throw new P2pError(P2pErrorCode.BadPeerId, `not a peer id: ${peerId}`, { cause: err });
  }
}

/** Splits /…/p2p/<id> into the peer id and the address. */
function parseBootstrap(addr: string): { peer: string; addr: string } {
  let ma: ReturnType<typeof multiaddr>;
  try {
    ma = multiaddr(addr);
  } catch (err) {
    throw new P2pError(P2pErrorCode.BadAddress, `not a multiaddr: ${addr}`, { cause: err });
  }
  const p2p = ma.getComponents().find((c) => c.name === 'p2p');
  if (p2p?.value === undefined) {
    throw new P2pError(P2pErrorCode.BadAddress, `bootstrap address without /p2p/<peer id>: ${addr}`);
  }
  return { peer: parsePeer(p2p.value).toString(), addr: ma.toString() };
}

const PEX_PROTOCOL = '/seqnet/peer-exchange/1';
const MAX_PEX_PEERS = 64;
const MAX_PEX_ADDRS = 8;

/** A peer-exchange answer: JSON `[{ peer, addrs: [multiaddr…] }]`, checked entry by entry. */
function decodePeerList(bytes: Uint8Array): Array<{ peer: string; addrs: string[] }> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length > MAX_PEX_PEERS) return undefined;
  const out: Array<{ peer: string; addrs: string[] }> = [];
  for (const e of value as Array<{ peer?: unknown; addrs?: unknown }>) {
    if (typeof e?.peer !== 'string' || !Array.isArray(e.addrs) || e.addrs.length > MAX_PEX_ADDRS)
      return undefined;
    try {
      const peer = peerIdFromString(e.peer).toString();
      const addrs = e.addrs.map((a) => {
        if (typeof a !== 'string') throw new Error('address is not a string');
        return multiaddr(a).toString();
      });
      out.push({ peer, addrs });
    } catch {
      return undefined;
    }
  }
  return out;
}

const isEof = (err: unknown): boolean => (err as Error)?.name === 'UnexpectedEOFError';

export async function createNetwork(opts: NetworkOptions, logger: pino.Logger): Promise<Network> {
  installHalfWindowUpdates();
  const cfg: P2pOptions = { ...p2pDefaults, ...opts.p2p };
  const log = logger;
  const privateKey = decodeNodeKey(opts.privateKey);
  const allowedTopics = new Set(opts.topics);
  const bootstrap = opts.bootstrap.map(parseBootstrap);
  const penalties = new PeerPenalties({
    maxPenalties: cfg.maxPenalties,
    windowMs: cfg.penaltyWindowMs,
    banMs: cfg.banMs,
  });
  const banned = (peer: PeerId): boolean => penalties.isBanned(peer.toString());
  // Frames: payload + kind byte; the read buffer holds at most two of the largest frames.
  const lpOpts = { maxDataLength: cfg.maxFrameBytes + 1, maxBufferSize: 2 * (cfg.maxFrameBytes + 16) };

  // Topic score: only invalid deliveries (P4, squared) count; the committee's topics may be quiet for
  // long stretches, so the mesh-delivery penalties (P3, P3b) that suit busy public topics are off.
  const topicScore = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0,
    firstMessageDeliveriesWeight: 1,
    firstMessageDeliveriesDecay: 0.5,
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -5,
    invalidMessageDeliveriesDecay: 0.9,
  });

  const node: Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub }> =
    await createLibp2p({
      privateKey,
      addresses: { listen: [opts.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: banned,
        denyInboundEncryptedConnection: banned,
        denyOutboundEncryptedConnection: banned,
      },
      connectionManager: {
        // committee members share hosts in tests and small deployments: allow quick reconnects
        inboundConnectionThreshold: 50,
        dialTimeout: 5_000,
      },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictNoSign,
          msgIdFn: (msg) => contentId(msg.topic, msg.data),
          // the same id before signature checks, so duplicates cost one hash and no verification
          fastMsgIdFn: (msg) => toHexString(contentId(msg.topic, msg.data)),
          msgIdToStrFn: toHexString,
          // a committee of 4–7: every member is in every other's mesh (at most 6 peers)
          D: 6,
          Dlo: 3,
          Dhi: 10,
          Dscore: 3,
          Dout: 1,
          Dlazy: 6,
          heartbeatInterval: cfg.heartbeatMs,
          floodPublish: true,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          emitSelf: false,
          fallbackToFloodsub: false,
          doPX: false,
          // one peer's messages are validated one after another, in the order it sent them
          awaitRpcHandler: true,
          awaitRpcMessageHandler: true,
          maxInboundDataLength: cfg.maxFrameBytes + 64 * 1024,
          allowedTopics,
          scoreParams: {
            topics: Object.fromEntries(opts.topics.map((t) => [t, topicScore])),
            // app-level penalties lower the gossipsub score too (appSpecificWeight 10 per penalty)
            appSpecificScore: (p) => -penalties.count(p),
            // members may share a host (and always do on loopback)
            IPColocationFactorWeight: 0,
          },
        }),
      },
    });
  const pubsub = node.services.pubsub;
  const peerId = node.peerId.toString();
  let stopped = false;

  const isConnected = (peer: string): boolean => {
    try {
      return node.getConnections(peerIdFromString(peer)).length > 0;
    } catch {
      return false;
    }
  };

  const redialer = new Redialer(
    {
      dial: async (peer, addrs) => {
        const withId = addrs.map((a) => {
          const ma = multiaddr(a);
          return ma.getComponents().some((c) => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${peer}`);
        });
        await node.dial(withId, { signal: AbortSignal.timeout(cfg.openTimeoutMs) });
      },
      isConnected,
      bannedUntil: (peer) => penalties.bannedUntil(peer),
    },
    { baseMs: cfg.redialBaseMs, maxMs: cfg.redialMaxMs, forgetAfterMs: cfg.forgetAfterMs },
    log,
  );

  const penalise = (peer: string, reason: string): void => {
    if (stopped || peer === peerId) return;
    const { count, banned: nowBanned } = penalties.add(peer);
    log.debug({ peer, reason, count }, 'peer penalised');
    if (nowBanned) {
      log.warn({ peer, reason, banMs: cfg.banMs }, 'peer banned: too many penalties');
      node
        .hangUp(parsePeer(peer))
        .catch((err: Error) => log.debug({ peer, err: err.message }, 'hang-up failed'));
    }
  };

  const peerListeners: Array<(peer: string, connected: boolean) => void> = [];
  node.addEventListener('peer:connect', (evt) => {
    const peer = evt.detail.toString();
    if (penalties.isBanned(peer)) {
      node.hangUp(evt.detail).catch(() => {});
      return;
    }
    redialer.connected(peer);
    log.debug({ peer }, 'peer connected');
    for (const l of peerListeners) l(peer, true);
  });
  node.addEventListener('peer:disconnect', (evt) => {
    const peer = evt.detail.toString();
    dropOutbound(peer);
    redialer.disconnected(peer);
    log.debug({ peer }, 'peer disconnected');
    for (const l of peerListeners) l(peer, false);
  });
  const exchanged = new WeakSet<Connection>();
  node.addEventListener('peer:identify', (evt) => {
    const { peerId: remote, listenAddrs, protocols, connection } = evt.detail;
    if (!protocols.some((p) => GOSSIP_PROTOCOLS.includes(p))) return;
    const peer = remote.toString();
    const addrs = listenAddrs.map((a) => a.toString());
    if (addrs.length > 0) redialer.keep(peer, addrs, false);
    if (cfg.peerExchange && protocols.includes(PEX_PROTOCOL) && !exchanged.has(connection)) {
      exchanged.add(connection);
      askForPeers(peer);
    }
  });

  // ---- peer exchange: a new committee peer tells us whom it is connected to ----
  function askForPeers(peer: string): void {
    network
      .request(peer, PEX_PROTOCOL, new Uint8Array(0), 3_000)
      .then((res) => {
        const entries = decodePeerList(res);
        if (entries === undefined) {
          penalise(peer, 'malformed peer-exchange answer');
          return;
        }
        for (const e of entries) {
          if (e.peer !== peerId && !penalties.isBanned(e.peer)) redialer.keep(e.peer, e.addrs, false);
        }
      })
      .catch((err: Error) => log.debug({ peer, err: err.message }, 'peer exchange failed'));
  }

  // ---- gossip ----
  const gossipHandlers = new Map<string, GossipHandler>();
  const validator =
    (topic: string) =>
    async (via: PeerId, msg: Message): Promise<TopicValidatorResult> => {
      const handler = gossipHandlers.get(topic);
      if (handler === undefined) return TopicValidatorResult.Ignore;
      const viaStr = via.toString();
      let verdict: Verdict;
      try {
        verdict = await handler(msg.data, viaStr);
      } catch (err) {
        log.warn(
          { topic, via: viaStr, err: (err as Error).message },
          'gossip handler threw; message ignored',
        );
        return TopicValidatorResult.Ignore;
      }
      switch (verdict) {
        case 'accept':
          return TopicValidatorResult.Accept;
        case 'reject':
          penalise(viaStr, `rejected message on ${topic}`);
          return TopicValidatorResult.Reject;
        default:
          return TopicValidatorResult.Ignore;
      }
    };

  const checkTopic = (topic: string): void => {
    if (!allowedTopics.has(topic)) {
      throw new P2pError(
        P2pErrorCode.UnknownTopic,
        `topic ${topic} is not one this network was created with`,
      );
    }
  };
  const checkSize = (data: Uint8Array): void => {
    if (data.length > cfg.maxFrameBytes) {
      throw new P2pError(
        P2pErrorCode.FrameTooLarge,
        `payload of ${data.length} bytes is over the ${cfg.maxFrameBytes}-byte limit`,
      );
    }
  };
  const checkRunning = (): void => {
    if (stopped) throw new P2pError(P2pErrorCode.Stopped, 'the network has been stopped');
  };

  // ---- direct streams ----
  const directHandlers = new Map<string, DirectHandler>();

  async function serve(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString();
    // attach the reader before any await, so no data is missed
    const lp = lpStream(stream, lpOpts);
    const protocol = stream.protocol;
    try {
      for (;;) {
        let bytes: Uint8Array;
        try {
          bytes = (await lp.read()).subarray();
        } catch (err) {
          if (isEof(err)) break;
          throw err;
        }
        const handler = directHandlers.get(protocol);
        if (bytes.length === 0 || handler === undefined) {
          throw new P2pError(P2pErrorCode.BadFrame, `empty frame or no handler on ${protocol}`);
        }
        const kind = bytes[0];
        const payload = bytes.subarray(1);
        if (kind === KIND_MESSAGE) {
          try {
            await handler(payload, from);
          } catch (err) {
            log.warn({ protocol, from, err: (err as Error).message }, 'direct-message handler threw');
          }
        } else if (kind === KIND_REQUEST) {
          let response: Uint8Array;
          try {
            const res = await handler(payload, from);
            if (res === undefined) throw new Error('no response');
            if (res.length > cfg.maxFrameBytes)
              throw new Error(`response of ${res.length} bytes is too large`);
            response = frame(STATUS_OK, res);
          } catch (err) {
            log.debug({ protocol, from, err: (err as Error).message }, 'request handler failed');
            const msg = new TextEncoder()
              .encode((err as Error).message ?? String(err))
              .subarray(0, MAX_ERROR_BYTES);
            response = frame(STATUS_ERROR, msg);
          }
          await lp.write(response, { signal: AbortSignal.timeout(cfg.openTimeoutMs) });
        } else {
          throw new P2pError(P2pErrorCode.BadFrame, `unknown frame kind ${kind}`);
        }
      }
      await stream.close().catch(() => stream.abort(new Error('close failed')));
    } catch (err) {
      const e = err as Error;
      if (
        e instanceof P2pError ||
        e.name === 'InvalidDataLengthError' ||
        e.name === 'InvalidDataLengthLengthError'
      ) {
        penalise(from, `bad frame on ${protocol}: ${e.message}`);
      }
      log.debug({ protocol, from, err: e.message }, 'direct stream closed with an error');
      stream.abort(e);
    }
  }

  interface Outbound {
    stream: Stream;
    lp: LengthPrefixedStream<Stream>;
  }
  const outKey = (peer: string, protocol: string): string => `${peer} ${protocol}`;
  /** sendTo: one stream per peer and protocol, so one-way messages stay in order. */
  const outbound = new Map<string, Promise<Outbound>>();
  /**
   * request: idle request streams per peer and protocol, reused, because opening a stream
   * (multistream-select over yamux) costs several ms while a round trip on an open one is well
   * under one.
   */
  const idle = new Map<string, Outbound[]>();
  const watched = new WeakSet<Stream>();

  function dropOutbound(peer: string): void {
    for (const map of [outbound, idle]) {
      for (const key of [...map.keys()]) if (key.startsWith(`${peer} `)) map.delete(key);
    }
  }

  async function openStream(peer: string, protocol: string, signal: AbortSignal): Promise<Outbound> {
    const stream = await node.dialProtocol(parsePeer(peer), protocol, { signal });
    return { stream, lp: lpStream(stream, lpOpts) };
  }

  function openOutbound(peer: string, protocol: string): Promise<Outbound> {
    const key = outKey(peer, protocol);
    let p = outbound.get(key);
    if (p === undefined) {
      const opening = openStream(peer, protocol, AbortSignal.timeout(cfg.openTimeoutMs));
      p = opening;
      outbound.set(key, opening);
      opening.then(
        (o) =>
          o.stream.addEventListener('close', () => {
            if (outbound.get(key) === opening) outbound.delete(key);
          }),
        () => {
          if (outbound.get(key) === opening) outbound.delete(key);
        },
      );
    }
    return p;
  }

  function takeIdle(key: string): Outbound | undefined {
    const list = idle.get(key);
    for (let o = list?.pop(); o !== undefined; o = list?.pop()) {
      if (o.stream.status === 'open' && o.stream.writeStatus === 'writable') return o;
    }
    return undefined;
  }

  function putIdle(key: string, o: Outbound): void {
    const list = idle.get(key) ?? [];
    if (stopped || list.length >= MAX_IDLE_REQUEST_STREAMS || o.stream.status !== 'open') {
      o.stream.close().catch(() => {});
      return;
    }
    list.push(o);
    idle.set(key, list);
    if (!watched.has(o.stream)) {
      watched.add(o.stream);
      o.stream.addEventListener('close', () => {
        const l = idle.get(key);
        const i = l?.indexOf(o) ?? -1;
        if (i >= 0) l?.splice(i, 1);
      });
    }
  }

  function mapError(err: unknown, peer: string, protocol: string, signal?: AbortSignal): P2pError {
    if (err instanceof P2pError) return err;
    const e = err as Error;
    if (signal?.aborted)
      return new P2pError(P2pErrorCode.Timeout, `${protocol} to ${peer} timed out`, { cause: e });
    if (e.name === 'UnsupportedProtocolError') {
      return new P2pError(P2pErrorCode.Remote, `${peer} does not serve ${protocol}`, { cause: e });
    }
    return new P2pError(P2pErrorCode.Unreachable, `${protocol} to ${peer}: ${e.message}`, { cause: e });
  }

  const network: Network = {
    peerId,
    addresses() {
      return node.getMultiaddrs().map((ma) => {
        const s = ma.toString();
        return s.includes('/p2p/') ? s : `${s}/p2p/${peerId}`;
      });
    },

    async publish(topic, data) {
      checkRunning();
      checkTopic(topic);
      checkSize(data);
      await pubsub.publish(topic, data);
    },

    onMessage(topic, handler) {
      checkRunning();
      checkTopic(topic);
      gossipHandlers.set(topic, handler);
      if (!pubsub.topicValidators.has(topic)) {
        pubsub.topicValidators.set(topic, validator(topic));
        pubsub.subscribe(topic);
      }
    },

    async sendTo(peer, protocol, data) {
      checkRunning();
      checkSize(data);
      parsePeer(peer);
      const bytes = frame(KIND_MESSAGE, data);
      // a cached stream may have died with its connection: one retry on a fresh stream
      for (let attempt = 0; ; attempt++) {
        let out: Outbound | undefined;
        const signal = AbortSignal.timeout(cfg.openTimeoutMs);
        try {
          out = await openOutbound(peer, protocol);
          await out.lp.write(bytes, { signal });
          return;
        } catch (err) {
          const key = outKey(peer, protocol);
          outbound.delete(key);
          out?.stream.abort(err as Error);
          if (attempt >= 1 || out === undefined) throw mapError(err, peer, protocol, signal);
        }
      }
    },

    handle(protocol, handler) {
      checkRunning();
      const first = !directHandlers.has(protocol);
      directHandlers.set(protocol, handler);
      if (first) {
        node
          .handle(
            protocol,
            (stream, connection) => {
              serve(stream, connection).catch((err: Error) =>
                log.debug({ err: err.message }, 'serve failed'),
              );
            },
            { maxInboundStreams: 64, maxOutboundStreams: 64 },
          )
          .catch((err: Error) => log.error({ protocol, err: err.message }, 'could not register protocol'));
      }
    },

    async request(peer, protocol, req, timeoutMs) {
      checkRunning();
      checkSize(req);
      parsePeer(peer);
      const key = outKey(peer, protocol);
      const signal = AbortSignal.timeout(timeoutMs);
      const bytes = frame(KIND_REQUEST, req);
      let res: Uint8Array;
      for (let attempt = 0; ; attempt++) {
        let out = attempt === 0 ? takeIdle(key) : undefined;
        const reused = out !== undefined;
        try {
          out ??= await openStream(peer, protocol, signal);
          await out.lp.write(bytes, { signal });
          res = (await out.lp.read({ signal })).subarray();
          putIdle(key, out);
          break;
        } catch (err) {
          out?.stream.abort(err as Error);
          // a pooled stream the peer had already closed: once more on a fresh one
          if (reused && !signal.aborted) continue;
          throw mapError(err, peer, protocol, signal);
        }
      }
      if (res.length === 0) throw new P2pError(P2pErrorCode.BadFrame, `empty response from ${peer}`);
      if (res[0] === STATUS_OK) return res.slice(1);
      const message = new TextDecoder().decode(res.subarray(1, 1 + MAX_ERROR_BYTES));
      throw new P2pError(P2pErrorCode.Remote, `${peer} failed ${protocol}: ${message}`);
    },

    peers() {
      return node.getPeers().map((p) => p.toString());
    },

    onPeerChange(listener) {
      peerListeners.push(listener);
    },

    penalise,

    isBanned(peer) {
      return penalties.isBanned(peer);
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      redialer.stop();
      for (const p of outbound.values()) {
        p.then((o) => o.stream.abort(new Error('stopping'))).catch(() => {});
      }
      for (const list of idle.values()) for (const o of list) o.stream.abort(new Error('stopping'));
      outbound.clear();
      idle.clear();
      await node.stop();
      log.debug('network stopped');
    },
  };

  if (cfg.peerExchange) {
    network.handle(PEX_PROTOCOL, (_req, from) => {
      const list = redialer
        .kept()
        .filter((k) => k.peer !== from && isConnected(k.peer) && !penalties.isBanned(k.peer))
        .slice(0, MAX_PEX_PEERS)
        .map((k) => ({ peer: k.peer, addrs: k.addrs.slice(0, MAX_PEX_ADDRS) }));
      return new TextEncoder().encode(JSON.stringify(list));
    });
  }
  for (const b of bootstrap) {
    if (b.peer !== peerId) redialer.keep(b.peer, [b.addr], true);
  }
  log.info({ peerId, addresses: network.addresses(), bootstrap: bootstrap.length }, 'p2p network started');
  return network;
}
