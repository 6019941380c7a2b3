import { spawn } from 'node:child_process';
import { aggregatePublicKeys, SecretKey, Signature } from '@chainsafe/blst';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  encodeDeployData,
  encodeFunctionData,
  type Hex,
  http,
  keccak256 as viemKeccak,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aggregateQc,
  type CommitProof,
  type Committee,
  type QuorumCertificate,
  quorumFor,
  signVote,
  verifyCommitProof,
  verifyQc,
  voteMessage,
} from '../../src/consensus/certificate.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil, anvilBinary, waitForRpc } from '../../src/l1/anvil.js';
import {
  commitProofArgs,
  committeeKeysForL1,
  eip2537ToG2Affine,
  g1ToEip2537,
  g2ToEip2537,
  signersBitmap,
  verifyQcArgs,
} from '../../src/l1/bls-encoding.js';
import { committeeVerifierArtifact } from '../../src/l1/deploy.js';
import { compileContract } from '../../src/l1/solc.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { freePort } from '../helpers/devnet.js';

const DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
const CHAIN_ID = 42069n;
const EPOCH = 1n;
const verifierArtifact = committeeVerifierArtifact();
const harnessArtifact = compileContract('test/BLSHarness.sol', 'BLSHarness');
const verifierAbi = verifierArtifact.abi as Abi;
const harnessAbi = harnessArtifact.abi as Abi;
const [deployer, stranger] = devAccounts(2);

const Fp = bls12_381.fields.Fp;
const Fp2 = bls12_381.fields.Fp2;
const P = Fp.ORDER;

/** Deterministic committee member keys. */
const memberKey = (seed: number, i: number) =>
  SecretKey.fromKeygen(new Uint8Array(32).fill(seed).map((b, j) => (j === 0 ? i : b)));

interface TestCommittee {
  keys: SecretKey[];
  committee: Committee;
  address: Hex;
}

function makeCommittee(seed: number, n: number): Omit<TestCommittee, 'address'> {
  const keys = Array.from({ length: n }, (_, i) => memberKey(seed, i));
  return {
    keys,
    committee: { publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())), quorum: quorumFor(n) },
  };
}

/** A QC over (epoch, view, blockHash) by the members at `signers`, made with certificate.ts. */
function qcBy(
  c: Omit<TestCommittee, 'address'>,
  signers: number[],
  view: bigint,
  blockHash: Hex,
  epoch = EPOCH,
): QuorumCertificate {
  return aggregateQc(
    { epoch, view, blockHash },
    signers.map((i) => ({ index: i, signature: signVote(c.keys[i], CHAIN_ID, epoch, view, blockHash) })),
  );
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const hash = (s: string) => viemKeccak(new TextEncoder().encode(s));

/** A G2 point on the twist curve y² = x³ + 4(1 + i) but (overwhelmingly likely) outside the subgroup. */
function g2OffSubgroup(): Uint8Array {
  const b = Fp2.create({ c0: 4n, c1: 4n });
  for (let c0 = 1n; ; c0++) {
    const x = Fp2.create({ c0, c1: 1n });
    const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
    let y: { c0: bigint; c1: bigint };
    try {
      y = Fp2.sqrt(rhs);
    } catch {
      continue;
    }
    if (!Fp2.eql(Fp2.sqr(y), rhs)) continue;
    const pt = bls12_381.G2.Point.fromAffine({ x, y });
    if (pt.isTorsionFree()) continue;
    const out = new Uint8Array(256);
    const put = (v: bigint, at: number) => out.set(fromHex(v.toString(16).padStart(128, '0')), at);
    put(x.c0, 0);
    put(x.c1, 64);
    put(y.c0, 128);
    put(y.c1, 192);
    return out;
  }
}

/** A G1 point on y² = x³ + 4 outside the prime-order subgroup. */
function g1OffSubgroup(): Uint8Array {
  for (let x = 1n; ; x++) {
    const rhs = Fp.add(Fp.mul(Fp.sqr(x), x), 4n);
    let y: bigint;
    try {
      y = Fp.sqrt(rhs);
    } catch {
      continue;
    }
    if (Fp.sqr(y) !== rhs) continue;
    const pt = bls12_381.G1.Point.fromAffine({ x, y });
    if (pt.isTorsionFree()) continue;
    return fromHex(`0x${x.toString(16).padStart(128, '0')}${y.toString(16).padStart(128, '0')}`);
  }
}

describe('BLS commit proofs verified on L1 (EIP-2537)', () => {
  let anvil: Anvil;
  let url: string;
  let harness: Hex;
  const committees = new Map<number, TestCommittee>();
  const gas: string[] = [];

  const clients = (key: Hex = deployer.privateKey) => {
    const transport = http(url);
    const chain = {
      id: 31337,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [url] } },
    } as const;
    return {
      pub: createPublicClient({ chain, transport }),
      wallet: createWalletClient({ chain, transport, account: privateKeyToAccount(key) }),
    };
  };

  async function deploy(abi: Abi, bytecode: Hex, args: unknown[]): Promise<Hex> {
    const { pub, wallet } = clients();
    const tx = await wallet.deployContract({ abi, bytecode, args: args as never });
    const r = await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 50 });
    if (r.status !== 'success' || !r.contractAddress) throw new Error('deployment failed');
    return r.contractAddress;
  }

  const read = (address: Hex, abi: Abi, functionName: string, args: readonly unknown[]) =>
    clients().pub.readContract({ address, abi, functionName, args });

  /** The custom error a call reverts with: its name and arguments. */
  async function revertOf(
    address: Hex,
    functionName: string,
    args: readonly unknown[],
    opts: { key?: Hex; gas?: bigint } = {},
  ): Promise<{ name?: string; args?: readonly unknown[] }> {
    const { pub } = clients(opts.key);
    const call = opts.key
      ? pub.simulateContract({
          address,
          abi: verifierAbi,
          functionName,
          args,
          account: privateKeyToAccount(opts.key),
          gas: opts.gas,
        })
      : pub.call({
          to: address,
          data: encodeFunctionData({ abi: verifierAbi, functionName, args }),
          gas: opts.gas,
        });
    return revertOfPromise(call, functionName);
  }

  const verifyQcOnChain = (c: TestCommittee, qc: QuorumCertificate, chainId = CHAIN_ID) =>
    read(c.address, verifierAbi, 'verifyQC', verifyQcArgs(qc, chainId, c.committee.publicKeys.length));

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
    url = anvil.url;
    harness = await deploy(harnessAbi, harnessArtifact.bytecode, []);
    for (const [seed, n] of [
      [1, 1],
      [4, 4],
      [7, 7],
      [16, 16],
    ] as const) {
      const c = makeCommittee(seed, n);
      const address = await deploy(verifierAbi, verifierArtifact.bytecode, [
        EPOCH,
        committeeKeysForL1(c.committee),
        BigInt(c.committee.quorum),
      ]);
      committees.set(n, { ...c, address });
    }
  });
  afterAll(async () => {
    if (gas.length)
      console.log(`verifyQC / verifyCommitProof gas (eth_estimateGas, whole tx):\n${gas.join('\n')}`);
    await anvil?.stop();
  });

  it("hash-to-G2 on chain equals noble's hashToCurve and blst's (a signature by the key 1 is H(m))", async () => {
    const one = SecretKey.fromBytes(fromHex(`0x${'00'.repeat(31)}01`));
    const messages = [
      new Uint8Array(),
      new Uint8Array([0x61]),
      voteMessage(CHAIN_ID, EPOCH, 5n, hash('block')),
      new TextEncoder().encode('abcdef0123456789'.repeat(8)),
      new Uint8Array(300).map((_, i) => i & 0xff),
    ];
    for (const m of messages) {
      const uniform = (await read(harness, harnessAbi, 'expandMessageXmd', [toHex(m)])) as Hex;
      expect(uniform).toBe(toHex(expand_message_xmd(m, DST, 256, sha256)));
      const onChain = (await read(harness, harnessAbi, 'hashToG2', [toHex(m)])) as Hex;
      const noble = bls12_381.G2.hashToCurve(m, { DST }).toAffine();
      expect(eip2537ToG2Affine(onChain)).toEqual({ x: noble.x, y: noble.y });
      expect(onChain).toBe(toHex(g2ToEip2537(one.sign(m))));
    }
  });

  it('aggregates G1 keys as blst does, checks subgroups, and verifies single signatures (library)', async () => {
    const c = committees.get(7)!;
    const keys = committeeKeysForL1(c.committee);
    const all = `0x${keys.map((k) => k.slice(2)).join('')}` as Hex;
    for (const n of [1, 2, 7]) {
      const agg = aggregatePublicKeys(c.keys.slice(0, n).map((k) => k.toPublicKey()));
      expect(await read(harness, harnessAbi, 'aggregateG1', [all, BigInt(n)])).toBe(toHex(g1ToEip2537(agg)));
    }
    expect(await read(harness, harnessAbi, 'isG1SubgroupPoint', [keys[0]])).toBe(true);
    expect(await read(harness, harnessAbi, 'isG1SubgroupPoint', [toHex(g1OffSubgroup())])).toBe(false);
    const m = new TextEncoder().encode('a message');
    const sig = toHex(g2ToEip2537(c.keys[0].sign(m)));
    expect(await read(harness, harnessAbi, 'verify', [keys[0], toHex(m), sig])).toBe(true);
    expect(await read(harness, harnessAbi, 'verify', [keys[1], toHex(m), sig])).toBe(false);
    expect(await read(harness, harnessAbi, 'verify', [keys[0], '0x00', sig])).toBe(false);
    const verifyCall = (pk: Hex, s: Hex) =>
      clients().pub.call({
        to: harness,
        data: encodeFunctionData({ abi: harnessAbi, functionName: 'verify', args: [pk, toHex(m), s] }),
      });
    expect((await revertOfPromise(verifyCall(toHex(new Uint8Array(128)), sig), 'verify')).name).toBe(
      'BadPoint',
    );
    expect((await revertOfPromise(verifyCall(keys[0], toHex(g2OffSubgroup())), 'verify')).name).toBe(
      'BadPoint',
    );
  });

  it('recomputes the vote message exactly as certificate.ts does (RLP integers, short and long lists)', async () => {
    const c = committees.get(1)!;
    const values = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x100n, 0xffffn, 0x1234567n, 2n ** 64n - 1n];
    for (const a of values)
      for (const b of [0n, 0x80n, 2n ** 64n - 1n])
        for (const v of [0n, 0x7fn, 2n ** 56n, 2n ** 64n - 1n]) {
          const h = hash(`${a}/${b}/${v}`);
          expect(await read(c.address, verifierAbi, 'voteMessage', [a, b, v, h])).toBe(
            toHex(voteMessage(a, b, v, h)),
          );
        }
  });

  it('stores the committee as given (EIP-2537 keys) with its quorum', async () => {
    const c = committees.get(7)!;
    const info = (await read(c.address, verifierAbi, 'committee', [EPOCH])) as {
      size: number;
      quorum: number;
    };
    expect(info.size).toBe(7);
    expect(info.quorum).toBe(5);
    expect(await read(c.address, verifierAbi, 'publicKeys', [EPOCH])).toEqual(
      committeeKeysForL1(c.committee),
    );
  });

  it('verifies QCs made by certificate.ts for committees of 1, 4 and 7 (quorum and all members)', async () => {
    for (const n of [1, 4, 7]) {
      const c = committees.get(n)!;
      const signerSets = [range(c.committee.quorum), range(n), range(n).slice(n - c.committee.quorum)];
      for (const [k, signers] of signerSets.entries()) {
        const qc = qcBy(c, signers, 10n + BigInt(k), hash(`block ${n}/${k}`));
        expect(verifyQc(qc, CHAIN_ID, c.committee)).toBeNull();
        await expect(verifyQcOnChain(c, qc)).resolves.toBeUndefined();
      }
    }
  });

  it('verifies commit proofs as verifyCommitProof does: one QC for a committee of one, two-chain otherwise', async () => {
    const one = committees.get(1)!;
    const four = committees.get(4)!;
    const b = hash('B');
    const single: CommitProof = { chainId: CHAIN_ID, height: 9n, blockHash: b, qcs: [qcBy(one, [0], 3n, b)] };
    expect(verifyCommitProof(single, one.committee)).toBeNull();
    await read(one.address, verifierAbi, 'verifyCommitProof', commitProofArgs(single, 1));

    const twoChain: CommitProof = {
      chainId: CHAIN_ID,
      height: 9n,
      blockHash: b,
      qcs: [qcBy(four, [0, 1, 2], 3n, b), qcBy(four, [1, 2, 3], 4n, hash('child of B'))],
    };
    expect(verifyCommitProof(twoChain, four.committee)).toBeNull();
    await read(four.address, verifierAbi, 'verifyCommitProof', commitProofArgs(twoChain, 4));

    const cases: Array<[CommitProof, string]> = [
      [{ ...twoChain, qcs: [] }, 'NoCertificate'],
      [{ ...twoChain, qcs: twoChain.qcs.slice(0, 1) }, 'MissingChildQc'],
      [
        { ...twoChain, qcs: [twoChain.qcs[0], qcBy(four, [0, 1, 2], 5n, hash('later'))] },
        'ChildQcNotNextView',
      ],
      [{ ...twoChain, blockHash: hash('other') }, 'QcNotForBlock'],
      [
        { ...twoChain, qcs: [twoChain.qcs[0], qcBy(four, [0, 1], 4n, hash('child of B'))] },
        'NotEnoughSigners',
      ],
    ];
    for (const [proof, name] of cases) {
      expect(verifyCommitProof(proof, four.committee)).not.toBeNull();
      expect((await revertOf(four.address, 'verifyCommitProof', commitProofArgs(proof, 4))).name).toBe(name);
    }
  });

  it('refuses wrong messages, altered signatures, missing signers and too few signers with named errors', async () => {
    const c = committees.get(4)!;
    const b = hash('block');
    const qc = qcBy(c, [0, 1, 2], 7n, b);
    const args = verifyQcArgs(qc, CHAIN_ID, 4);
    const withSig = (sig: Uint8Array | Hex) =>
      [args[0], args[1], args[2], args[3], args[4], typeof sig === 'string' ? sig : toHex(sig)] as const;
    const expectError = async (a: readonly unknown[], name: string, errArgs?: unknown[]) => {
      const r = await revertOf(c.address, 'verifyQC', a);
      expect(r.name).toBe(name);
      if (errArgs) expect(r.args).toEqual(errArgs);
    };

    // Wrong message: another block hash, another view, another chain, another epoch's vote.
    await expectError([args[0], args[1], args[2], hash('other block'), args[4], args[5]], 'BadSignature');
    await expectError([args[0], args[1], 8n, args[3], args[4], args[5]], 'BadSignature');
    await expectError([CHAIN_ID + 1n, args[1], args[2], args[3], args[4], args[5]], 'BadSignature');
    await expectError([args[0], 2n, args[2], args[3], args[4], args[5]], 'UnknownEpoch', [2n]);

    // One flipped byte in the signature: off the curve, which the pairing precompile rejects.
    const sig = g2ToEip2537(qc.signature);
    for (const at of [255, 200, 100, 20]) {
      const flipped = sig.slice();
      flipped[at] ^= 0x01;
      await expectError(withSig(flipped), 'BadPoint');
    }
    // A valid point that is not the signature: the negated signature, and another QC's signature.
    const negated = bls12_381.G2.Point.fromBytes(fromHex(qc.signature)).negate();
    await expectError(withSig(g2ToEip2537(negated.toBytes(true))), 'BadSignature');
    await expectError(withSig(g2ToEip2537(qcBy(c, [0, 1, 2], 8n, b).signature)), 'BadSignature');

    // The bitmap claims a signer who did not sign (and drops one who did).
    await expectError(
      [args[0], args[1], args[2], args[3], toHex(signersBitmap(0b1111n, 4)), args[5]],
      'BadSignature',
    );
    await expectError(
      [args[0], args[1], args[2], args[3], toHex(signersBitmap(0b1011n, 4)), args[5]],
      'BadSignature',
    );
    expect(verifyQc({ ...qc, signers: 0b1111n }, CHAIN_ID, c.committee)).not.toBeNull();

    // Too few signers: 2 of 4 with quorum 3.
    const two = qcBy(c, [0, 3], 7n, b);
    expect(verifyQc(two, CHAIN_ID, c.committee)).toMatch(/quorum/);
    await expectError(verifyQcArgs(two, CHAIN_ID, 4), 'NotEnoughSigners', [2n, 3n]);

    // Bad bitmaps: wrong length, a bit past the committee.
    await expectError([args[0], args[1], args[2], args[3], '0x0700', args[5]], 'BadBitmap');
    await expectError([args[0], args[1], args[2], args[3], '0x', args[5]], 'BadBitmap');
    await expectError([args[0], args[1], args[2], args[3], '0x17', args[5]], 'BadBitmap');
  });

  it('refuses malformed signature points with BadPoint', async () => {
    const c = committees.get(4)!;
    const qc = qcBy(c, [0, 1, 2], 7n, hash('block'));
    const args = verifyQcArgs(qc, CHAIN_ID, 4);
    const sig = g2ToEip2537(qc.signature);
    const expectBadPoint = async (s: Uint8Array) =>
      expect((await revertOf(c.address, 'verifyQC', [...args.slice(0, 5), toHex(s)])).name).toBe('BadPoint');

    await expectBadPoint(sig.subarray(0, 255)); // short
    await expectBadPoint(new Uint8Array([...sig, 0])); // long
    await expectBadPoint(new Uint8Array(256)); // infinity
    const padded = sig.slice();
    padded[0] = 1; // a non-zero byte in an element's 16 padding bytes
    await expectBadPoint(padded);
    const big = sig.slice(); // x.c0 + p: the same residue, not canonical
    big.set(fromHex((fromHexBig(sig.subarray(0, 64)) + P).toString(16).padStart(128, '0')), 0);
    await expectBadPoint(big);
    const atP = sig.slice();
    atP.set(fromHex(P.toString(16).padStart(128, '0')), 128);
    await expectBadPoint(atP);
    await expectBadPoint(g2OffSubgroup()); // on the curve, outside G2's subgroup
  });

  it('checks keys, quorum, epoch and owner when a committee is set', async () => {
    const c = committees.get(4)!;
    const next = makeCommittee(40, 4);
    const keys = committeeKeysForL1(next.committee);
    const set = (epoch: bigint, k: readonly Hex[], quorum: bigint, key?: Hex) =>
      revertOf(c.address, 'setCommittee', [epoch, k, quorum], { key: key ?? deployer.privateKey });

    expect((await set(2n, keys, 3n, stranger.privateKey)).name).toBe('NotOwner');
    expect((await set(1n, keys, 3n)).name).toBe('StaleEpoch');
    expect((await set(2n, [], 1n)).name).toBe('BadCommitteeSize');
    expect((await set(2n, keys, 2n)).args).toEqual([2n, 4n]); // 3·2 ≤ 2·4
    expect((await set(2n, keys, 5n)).name).toBe('BadQuorum');
    expect((await set(2n, [keys[0], keys[1], keys[0], keys[3]], 3n)).args).toEqual([2n]);
    expect((await set(2n, [keys[0], keys[1], keys[2], toHex(new Uint8Array(128))], 3n)).args).toEqual([3n]);
    expect((await set(2n, [keys[0], toHex(g1OffSubgroup()), keys[2], keys[3]], 3n)).name).toBe(
      'BadPublicKey',
    );
    const offCurve = fromHex(keys[2]);
    offCurve[127] ^= 1;
    expect((await set(2n, [keys[0], keys[1], toHex(offCurve), keys[3]], 3n)).args).toEqual([2n]);
    expect((await set(2n, [keys[0], `${keys[1]}00`, keys[2], keys[3]], 3n)).args).toEqual([1n]);

    const { pub, wallet } = clients();
    const tx = await wallet.writeContract({
      address: c.address,
      abi: verifierAbi,
      functionName: 'setCommittee',
      args: [2n, keys, 3n],
    });
    expect((await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 50 })).status).toBe('success');
    expect(await read(c.address, verifierAbi, 'latestEpoch', [])).toBe(2n);
    // Each QC is checked against its own epoch's committee; the old epoch still verifies.
    const b = hash('epoch 2 block');
    const qc2 = qcBy(next, [1, 2, 3], 1n, b, 2n);
    await expect(verifyQcOnChain(c, qc2)).resolves.toBeUndefined();
    await expect(verifyQcOnChain(c, qcBy(c, [0, 1, 2], 1n, b))).resolves.toBeUndefined();
    expect(
      (await revertOf(c.address, 'verifyQC', verifyQcArgs(qcBy(c, [0, 1, 2], 1n, b, 2n), CHAIN_ID, 4))).name,
    ).toBe('BadSignature');
  });

  it('runs out of gas with NotEnoughGas, never a wrong verdict; the estimate works as a real tx', async () => {
    const c = committees.get(4)!;
    const qc = qcBy(c, [0, 1, 2], 7n, hash('block'));
    const data = encodeFunctionData({
      abi: verifierAbi,
      functionName: 'verifyQC',
      args: verifyQcArgs(qc, CHAIN_ID, 4),
    });
    const { pub, wallet } = clients();
    const estimate = await pub.estimateGas({ account: deployer.address, to: c.address, data });
    for (const limit of [estimate - 1000n, estimate - 20_000n, estimate - 60_000n, 100_000n]) {
      const r = await revertOf(c.address, 'verifyQC', verifyQcArgs(qc, CHAIN_ID, 4), { gas: limit });
      expect(r.name).toBe('NotEnoughGas');
    }
    const tx = await wallet.sendTransaction({ to: c.address, data, gas: estimate });
    expect((await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 50 })).status).toBe('success');
  });

  it('measures verifyQC gas for 1, 4, 7 and 16 signers', async () => {
    const { pub } = clients();
    const estimate = (to: Hex, functionName: string, args: readonly unknown[]) =>
      pub.estimateGas({
        account: deployer.address,
        to,
        data: encodeFunctionData({ abi: verifierAbi, functionName, args }),
      });
    for (const n of [1, 4, 7, 16]) {
      const c = committees.get(n)!;
      for (const k of [...new Set([c.committee.quorum, n])]) {
        const qc = qcBy(c, range(k), 3n, hash(`gas ${n}/${k}`));
        await verifyQcOnChain(c, qc);
        const g = await estimate(c.address, 'verifyQC', verifyQcArgs(qc, CHAIN_ID, n));
        gas.push(`  verifyQC, committee of ${String(n).padStart(2)}, ${String(k).padStart(2)} signers: ${g}`);
      }
    }
    const h2g = await read(harness, harnessAbi, 'hashToG2Gas', [
      toHex(voteMessage(CHAIN_ID, EPOCH, 3n, hash('x'))),
    ]);
    gas.push(`  hashToG2 of a 32-byte vote message, inside the call: ${h2g}`);
    const four = committees.get(4)!;
    const b = hash('gas B');
    const proof: CommitProof = {
      chainId: CHAIN_ID,
      height: 1n,
      blockHash: b,
      qcs: [qcBy(four, [0, 1, 2], 3n, b), qcBy(four, [0, 1, 2], 4n, hash('gas child'))],
    };
    gas.push(
      `  verifyCommitProof, committee of 4, two QCs of 3 signers: ${await estimate(four.address, 'verifyCommitProof', commitProofArgs(proof, 4))}`,
    );
    const one = committees.get(1)!;
    const single: CommitProof = { ...proof, qcs: [qcBy(one, [0], 3n, b)] };
    gas.push(
      `  verifyCommitProof, committee of 1, one QC: ${await estimate(one.address, 'verifyCommitProof', commitProofArgs(single, 1))}`,
    );
    expect(gas.length).toBeGreaterThan(4);
  });

  it('fails loudly on an L1 without EIP-2537 (cancun): PrecompileFailed, never a verdict', async () => {
    const port = await freePort();
    const child = spawn(
      anvilBinary(),
      ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337', '--hardfork', 'cancun'],
      { stdio: 'ignore' },
    );
    try {
      const oldUrl = `http://127.0.0.1:${port}`;
      await waitForRpc(oldUrl, 20_000);
      const pub = createPublicClient({ transport: http(oldUrl) });
      const c = committees.get(4)!;
      const deployData = encodeDeployData({
        abi: verifierAbi,
        bytecode: verifierArtifact.bytecode,
        args: [EPOCH, committeeKeysForL1(c.committee), 3n],
      });
      const r = await revertOfPromise(pub.call({ account: deployer.address, data: deployData }), 'deploy');
      expect(r).toEqual({ name: 'PrecompileFailed', args: ['0x000000000000000000000000000000000000000C'] });
      const harnessData = encodeDeployData({ abi: harnessAbi, bytecode: harnessArtifact.bytecode });
      const { wallet } = clients();
      const tx = await createWalletClient({
        chain: { ...wallet.chain, rpcUrls: { default: { http: [oldUrl] } } },
        transport: http(oldUrl),
        account: privateKeyToAccount(deployer.privateKey),
      }).sendTransaction({ data: harnessData });
      const receipt = await pub.waitForTransactionReceipt({ hash: tx, pollingInterval: 50 });
      const hashed = pub.call({
        to: receipt.contractAddress!,
        data: encodeFunctionData({ abi: harnessAbi, functionName: 'hashToG2', args: ['0x01'] }),
      });
      // SHA-256 and MODEXP exist there; MAP_FP2_TO_G2 (0x11) does not.
      expect(await revertOfPromise(hashed, 'hashToG2')).toEqual({
        name: 'PrecompileFailed',
        args: ['0x0000000000000000000000000000000000000011'],
      });
    } finally {
      child.kill('SIGINT');
    }
  });

  it('encodes blst points as EIP-2537 (Fp2 halves swapped, elements padded)', () => {
    const sk = memberKey(9, 0);
    const pk = sk.toPublicKey();
    const g1 = g1ToEip2537(pk.toBytes());
    const noblePk = bls12_381.G1.Point.fromBytes(pk.toBytes()).toAffine();
    expect(toHex(g1)).toBe(
      `0x${noblePk.x.toString(16).padStart(128, '0')}${noblePk.y.toString(16).padStart(128, '0')}`,
    );
    const sig = sk.sign(new Uint8Array([1, 2, 3]));
    const nobleSig = bls12_381.G2.Point.fromBytes(sig.toBytes()).toAffine();
    expect(eip2537ToG2Affine(g2ToEip2537(sig.toBytes()))).toEqual({ x: nobleSig.x, y: nobleSig.y });
    expect(g2ToEip2537(Signature.fromBytes(sig.toBytes()))).toEqual(g2ToEip2537(sig.toBytes(false)));
  });
});

/** Awaits a call that must revert; returns its custom error (decoded with the verifier's ABI). */
async function revertOfPromise(
  call: Promise<unknown>,
  what: string,
): Promise<{ name?: string; args?: readonly unknown[] }> {
  try {
    await call;
  } catch (err) {
    let e: unknown = err;
    while (e && typeof e === 'object') {
      const data = (e as { data?: unknown }).data;
      if (data && typeof data === 'object' && 'errorName' in data) {
        const d = data as { errorName: string; args?: readonly unknown[] };
        return { name: d.errorName, args: d.args };
      }
      if (typeof data === 'string' && data.startsWith('0x') && data.length >= 10) {
        const d = decodeErrorResult({ abi: verifierAbi, data: data as Hex });
        return { name: d.errorName, args: d.args };
      }
      e = (e as { cause?: unknown }).cause;
    }
    throw err;
  }
  throw new Error(`${what} did not revert`);
}

function fromHexBig(b: Uint8Array): bigint {
  return BigInt(toHex(b));
}
