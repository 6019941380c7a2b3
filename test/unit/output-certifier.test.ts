import { SecretKey } from '@chainsafe/blst';
import { RLP } from '@ethereumjs/rlp';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { newestOwnBlock, OutputTarget } from '../../src/batcher/proposer.js';
import { verifyOutputCertificate } from '../../src/consensus/certificate.js';
import { type L2Output, l2Output } from '../../src/l1/withdrawals.js';
import { OutputCertifier } from '../../src/node/output-certifier.js';
import type { DirectHandler, Network } from '../../src/p2p/network.js';
import { bigIntToBytes, type Hex, keccak256, toHex } from '../../src/util/bytes.js';

const CHAIN_ID = 42069n;
const PROTOCOL = '/seqnet/42069/output-sign/1';
const keys = Array.from({ length: 4 }, (_, i) => SecretKey.fromKeygen(new Uint8Array(32).fill(0x40 + i)));
const committee = { publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())), quorum: 3 };
const peerIds = ['p0', 'p1', 'p2', 'p3'];
const h = (s: string): Hex => toHex(keccak256(new TextEncoder().encode(s)));

function output(l2Block: bigint, state = 'state'): L2Output {
  return l2Output(l2Block, h(`${state} ${l2Block}`), h('withdrawals'), h(`block ${l2Block}`));
}

/**
 * Four members whose direct requests go straight to each other's handlers: the faults are injected
 * per member (`outputAt` that computes another state, `answer` that rewrites a reply, silence).
 */
function members(
  behaviour: Array<{
    outputAt?: (b: bigint) => L2Output | undefined;
    silent?: boolean;
    answer?: (raw: Uint8Array) => Uint8Array;
  }>,
) {
  const handlers = new Map<string, DirectHandler>();
  return behaviour.map((b, self) => {
    const network: Pick<Network, 'handle' | 'request'> = {
      handle: (_protocol, handler) => {
        handlers.set(peerIds[self], handler);
      },
      request: async (peer, protocol, req) => {
        expect(protocol).toBe(PROTOCOL);
        if (behaviour[peerIds.indexOf(peer)].silent) throw new Error('timeout');
        const res = await handlers.get(peer)!(req, peerIds[self]);
        if (!res) throw new Error('remote error');
        const rewrite = behaviour[peerIds.indexOf(peer)].answer;
        return rewrite ? rewrite(res) : res;
      },
    };
    const certifier = new OutputCertifier({
      network,
      protocol: PROTOCOL,
      chainId: CHAIN_ID,
      epoch: 0n,
      committee,
      self,
      peerIds,
      blsKey: keys[self],
      outputAt: b.outputAt ?? ((l2Block) => (l2Block <= 10n ? output(l2Block) : undefined)),
      logger: pino({ level: 'silent' }),
    });
    certifier.serve();
    return certifier;
  });
}

describe('OutputCertifier: a quorum of members sign the output they computed themselves', () => {
  it('certifies with the members that agree; the certificate verifies offline for that output only', async () => {
    // Member 0 has executed up to block 12, the others up to 10; member 3 does not answer.
    const ahead = (b: bigint) => (b <= 12n ? output(b) : undefined);
    const [m0, m1, m2, m3] = members([{ outputAt: ahead }, {}, {}, { silent: true }]);
    const got = await m0.certify(7n);
    expect(got?.output).toEqual(output(7n));
    const cert = got!.certificate;
    expect(cert.signers).toBe(0b0111n);
    expect(verifyOutputCertificate(cert, CHAIN_ID, committee)).toBeNull();
    expect(
      verifyOutputCertificate({ ...cert, outputRoot: output(7n, 'other').outputRoot }, CHAIN_ID, committee),
    ).toMatch(/does not verify/);
    expect(verifyOutputCertificate({ ...cert, l2Block: 8n }, CHAIN_ID, committee)).toMatch(/does not verify/);
    expect(verifyOutputCertificate(cert, 1n, committee)).toMatch(/does not verify/);
    expect(m0.stats.certified).toBe(1);
    expect(m1.stats.signed + m2.stats.signed).toBe(2);
    expect(m3.stats.signed).toBe(0);
    // A block the others have not executed yet: they refuse to sign it, no certificate.
    expect(await m1.certify(11n)).toBeUndefined();
    expect(await m0.certify(11n)).toBeUndefined();
    expect([m1.stats.refused, m2.stats.refused]).toEqual([1, 1]);
  });

  it("certifies with a later epoch's committee: its members, its indices, its epoch, even from a non-member", async () => {
    // Epoch 5's committee (--epoch-committees): members 3, 1, 2 of the file in the L1's order; member 0
    // is not in it, but collects the signatures for its own output (it posts to L1).
    const [m0, m1, m2, m3] = members([{}, {}, {}, {}]);
    const order = [3, 1, 2];
    const epoch5 = { publicKeys: order.map((i) => committee.publicKeys[i]), quorum: 3 };
    const got = await m0.certify(6n, {
      epoch: 5n,
      committee: epoch5,
      self: -1,
      peerIds: order.map((i) => peerIds[i]),
    });
    const cert = got!.certificate;
    expect(cert.epoch).toBe(5n);
    expect(cert.signers).toBe(0b111n);
    expect(verifyOutputCertificate(cert, CHAIN_ID, epoch5)).toBeNull();
    // Not the file's committee of epoch 0, nor epoch 5's keys under another epoch.
    expect(verifyOutputCertificate(cert, CHAIN_ID, committee)).toMatch(/does not verify/);
    expect(verifyOutputCertificate({ ...cert, epoch: 0n }, CHAIN_ID, epoch5)).toMatch(/does not verify/);
    expect([m1.stats.signed, m2.stats.signed, m3.stats.signed]).toEqual([1, 1, 1]);
  });

  it('a member with another output, or a forged signature, does not count: too few, no certificate', async () => {
    const outsider = SecretKey.fromKeygen(new Uint8Array(32).fill(0x99));
    const forge = (raw: Uint8Array) => {
      const [root] = RLP.decode(raw) as unknown as [Uint8Array];
      const sig = outsider.sign(new Uint8Array(32)).toBytes();
      return RLP.encode([root, sig]);
    };
    const [m0, m1] = members([
      {},
      { outputAt: (b) => output(b, 'diverged') },
      { answer: forge },
      { silent: true },
    ]);
    expect(await m0.certify(5n)).toBeUndefined();
    expect(m0.stats.disagreed).toBe(1);
    // The diverged member certifies its own output just as little.
    expect(await m1.certify(5n)).toBeUndefined();
    expect(m1.stats.disagreed).toBe(2);
  });

  it('refuses malformed requests, and requests from non-members, without signing anything', async () => {
    const handlers: DirectHandler[] = [];
    const certifier = new OutputCertifier({
      network: {
        handle: (_p, handler) => void handlers.push(handler),
        request: () => Promise.reject(new Error('unused')),
      },
      protocol: PROTOCOL,
      chainId: CHAIN_ID,
      epoch: 0n,
      committee,
      self: 0,
      peerIds,
      blsKey: keys[0],
      outputAt: (b) => output(b),
      logger: pino({ level: 'silent' }),
    });
    certifier.serve();
    const serve = handlers[0];
    expect(await serve(new Uint8Array([0xff, 0x00]), 'p1')).toBeUndefined();
    expect(await serve(RLP.encode([bigIntToBytes(1n)]), 'p1')).toBeUndefined();
    expect(await serve(RLP.encode(new Uint8Array(9).fill(1)), 'p1')).toBeUndefined();
    // A well-formed request from a peer that is not a member.
    expect(await serve(RLP.encode(bigIntToBytes(3n)), 'stranger')).toBeUndefined();
    expect(certifier.stats.signed).toBe(0);
    const ok = (await serve(RLP.encode(bigIntToBytes(3n)), 'p1')) as Uint8Array;
    const [root, sig] = RLP.decode(ok) as unknown as [Uint8Array, Uint8Array];
    expect(toHex(root)).toBe(output(3n).outputRoot);
    expect(sig).toHaveLength(96);
    expect(certifier.stats.signed).toBe(1);
  });
});

describe('newestOwnBlock: posters of based / free each propose the outputs of their own blocks', () => {
  it('member i of n takes heights ≡ i mod n, the newest at or below the head; none below its first', () => {
    expect([10n, 11n, 12n, 13n].map((head) => newestOwnBlock(head, 1, 4))).toEqual([9n, 9n, 9n, 13n]);
    expect([0n, 1n, 2n, 3n, 4n].map((head) => newestOwnBlock(head, 0, 2))).toEqual([0n, 0n, 2n, 2n, 4n]);
    expect(newestOwnBlock(2n, 3, 4)).toBeLessThan(1n);
    // Every head has exactly one member whose newest block it is.
    for (let head = 1n; head < 20n; head++)
      expect([0, 1, 2, 3].filter((i) => newestOwnBlock(head, i, 4) === head)).toHaveLength(1);
  });
});

describe('OutputTarget: a head its owner leaves unproposed is taken over, one poster at a time', () => {
  it('owns its own blocks at once; takes the head after d × grace, d = its distance after the owner', () => {
    let now = 0;
    const clock = () => now;
    // Head 9 of 4 posters: member 1 owns it; 2 comes first after it, then 3, then 0.
    const targets = [0, 1, 2, 3].map((i) => new OutputTarget(i, 4, 1_000, clock));
    expect(targets.map((t) => t.of(9n))).toEqual([8n, 9n, 6n, 7n]);
    now = 999;
    expect(targets.map((t) => t.of(9n))).toEqual([8n, 9n, 6n, 7n]);
    now = 1_000;
    expect(targets.map((t) => t.of(9n))).toEqual([8n, 9n, 9n, 7n]);
    now = 2_000;
    expect(targets.map((t) => t.of(9n))).toEqual([8n, 9n, 9n, 9n]);
    now = 3_000;
    expect(targets.map((t) => t.of(9n))).toEqual([9n, 9n, 9n, 9n]);
  });

  it('a new head restarts the grace; no head below 1 is ever a target', () => {
    let now = 0;
    const t = new OutputTarget(2, 4, 1_000, () => now);
    expect(t.of(9n)).toBe(6n);
    now = 5_000;
    expect(t.of(9n)).toBe(9n);
    // Block 10 arrives: member 2 owns it.
    expect(t.of(10n)).toBe(10n);
    expect(t.of(11n)).toBe(10n);
    now = 5_999;
    expect(t.of(11n)).toBe(10n);
    // Member 3 owns 11; member 2 comes three after it.
    now = 8_000;
    expect(t.of(11n)).toBe(11n);
    const late = new OutputTarget(3, 4, 1_000, () => now);
    expect(late.of(0n)).toBeLessThan(1n);
    now = 100_000;
    expect(late.of(0n)).toBeLessThan(1n);
    // Member 3 of 4 has no block at or below head 2 yet; after its turn it takes the head.
    expect(late.of(2n)).toBeLessThan(1n);
    now = 101_000;
    expect(late.of(2n)).toBe(2n);
  });
});
