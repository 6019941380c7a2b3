import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SecretKey } from '@chainsafe/blst';
import pino from 'pino';
import {
  type Abi,
  createPublicClient,
  createWalletClient,
  decodeEventLog,
  decodeFunctionData,
  type Hex,
  http,
  keccak256,
  type TransactionReceipt,
  zeroAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batcher, batcherDefaults, provesBlock, storedCommitProofs } from '../../src/batcher/batcher.js';
import { decodeBatch, encodeBatch } from '../../src/batcher/codec.js';
import {
  aggregateQc,
  type CommitProof,
  encodeCommitProof,
  outputMessage,
  type QuorumCertificate,
  signOutput,
  signVote,
  verifyCommitProof,
  verifyOutputCertificate,
} from '../../src/consensus/certificate.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil } from '../../src/l1/anvil.js';
import { commitProofArgs, outputCertificateForL1 } from '../../src/l1/bls-encoding.js';
import {
  committeeVerifierArtifact,
  deployL1Contracts,
  type L1Deployment,
  l1Artifacts,
} from '../../src/l1/deploy.js';
import { outputRootOf } from '../../src/l1/withdrawals.js';
import type { ChainStore } from '../../src/store/chain-store.js';
import {
  encodeSequencedBlock,
  hashSequencedBlock,
  type SequencedBlock,
} from '../../src/types/sequenced-block.js';
import { fromHex, toHex, ZERO_HASH } from '../../src/util/bytes.js';
import { freePort } from '../helpers/devnet.js';
import { chainOf } from '../helpers/wait.js';

const root = resolve(import.meta.dirname, '../..');
const CHAIN_ID = 42069n;
const EPOCH = 0n;
const inboxAbi = l1Artifacts().Inbox.abi as Abi;
const [deployer, sequencer, stranger, alice] = devAccounts(4);

/** The committee: 4 blst keys (f = 1, quorum 3). */
const keys = Array.from({ length: 4 }, (_, i) =>
  SecretKey.fromKeygen(new Uint8Array(32).fill(0x5e).map((b, j) => (j === 0 ? i : b))),
);
const committee = { publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())), quorum: 3 };
const outsider = SecretKey.fromKeygen(new Uint8Array(32).fill(0x77));

/** A QC by `signers` on (epoch 0, view, blockHash); `forge` members' votes are signed by an outsider. */
function qc(view: bigint, blockHash: Hex, signers: number[], forge: number[] = [], chainId = CHAIN_ID) {
  return aggregateQc(
    { epoch: EPOCH, view, blockHash },
    signers.map((i) => ({
      index: i,
      signature: signVote(forge.includes(i) ? outsider : keys[i], chainId, EPOCH, view, blockHash),
    })),
  );
}

/** An output certificate by `signers` on (l2Block, outputRoot); `forge` members sign with an outsider's key. */
function outputCert(
  l2Block: bigint,
  outputRoot: Hex,
  signers: number[],
  forge: number[] = [],
  chainId = CHAIN_ID,
) {
  return aggregateQc(
    { epoch: EPOCH, l2Block, outputRoot },
    signers.map((i) => ({
      index: i,
      signature: signOutput(forge.includes(i) ? outsider : keys[i], chainId, EPOCH, l2Block, outputRoot),
    })),
  );
}

/** The commit proof of `block` (proposed in `view`): QC(B) and the QC of its child from view + 1. */
function proofOf(block: SequencedBlock, child: Hex, view: bigint, qcs?: QuorumCertificate[]): CommitProof {
  const hash = hashSequencedBlock(block);
  return {
    chainId: CHAIN_ID,
    height: block.height,
    blockHash: hash,
    qcs: qcs ?? [qc(view, hash, [0, 1, 2]), qc(view + 1n, child, [1, 2, 3])],
  };
}

/** A chain of sequenced blocks from `from`, each with one signed transfer (nonce = height − 1). */
async function blocksFrom(parent: SequencedBlock | undefined, count: number): Promise<SequencedBlock[]> {
  const acct = privateKeyToAccount(alice.privateKey);
  const out: SequencedBlock[] = [];
  for (let i = 0; i < count; i++) {
    const prev = out[out.length - 1] ?? parent;
    const height = (prev?.height ?? 0n) + 1n;
    const tx = await acct.signTransaction({
      chainId: Number(CHAIN_ID),
      type: 'eip1559',
      nonce: Number(height) - 1,
      to: acct.address,
      value: height,
      gas: 21000n,
      maxFeePerGas: 10n ** 9n,
      maxPriorityFeePerGas: 1n,
    });
    out.push({
      version: 1,
      chainId: CHAIN_ID,
      height,
      parentHash: prev ? hashSequencedBlock(prev) : ZERO_HASH,
      timestamp: 1_700_000_000n + height,
      l1Origin: { number: 3n, hash: ZERO_HASH },
      l1MessageCursor: height / 2n,
      txs: [fromHex(tx)],
      lagStateRoot: ZERO_HASH,
    });
  }
  return out;
}

const hashOf = (s: string) => keccak256(new TextEncoder().encode(s));

describe('Inbox: certified batches (committee mode)', () => {
  let anvil: Anvil;
  let committeeDeployment: L1Deployment;
  let singleDeployment: L1Deployment;
  const gas: string[] = [];

  const clients = (key: Hex) => {
    const transport = http(anvil.url);
    const chain = chainOf(31337, anvil.url);
    return {
      pub: createPublicClient({ chain, transport }),
      wallet: createWalletClient({ chain, transport, account: privateKeyToAccount(key) }),
    };
  };
  const read = (address: Hex, functionName: string, args: readonly unknown[] = []) =>
    clients(stranger.privateKey).pub.readContract({ address, abi: inboxAbi, functionName, args });

  /** The custom error (name, args) a call reverts with; undefined when it would succeed. */
  async function errorOf(key: Hex, address: Hex, abi: Abi, functionName: string, args: readonly unknown[]) {
    try {
      await clients(key).pub.simulateContract({
        address,
        abi,
        functionName,
        args,
        account: privateKeyToAccount(key),
      });
    } catch (err) {
      const data = (err as { cause?: { data?: { errorName?: string; args?: readonly unknown[] } } }).cause
        ?.data;
      if (!data?.errorName) throw err;
      return { name: data.errorName, args: data.args };
    }
    return undefined;
  }

  /** The custom error (name, args) a call to the Inbox reverts with. */
  async function revertOf(key: Hex, inbox: Hex, functionName: string, args: readonly unknown[]) {
    const error = await errorOf(key, inbox, inboxAbi, functionName, args);
    if (!error) throw new Error(`${functionName} did not revert`);
    return error;
  }

  async function send(key: Hex, inbox: Hex, functionName: string, args: readonly unknown[]) {
    const { pub, wallet } = clients(key);
    const hash = await wallet.writeContract({ address: inbox, abi: inboxAbi, functionName, args });
    return pub.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  }

  const batchPosted = (r: TransactionReceipt, inbox: Hex) =>
    r.logs
      .filter((l) => l.address.toLowerCase() === inbox.toLowerCase())
      .map((l) => decodeEventLog({ abi: inboxAbi, data: l.data, topics: l.topics }))
      .filter((e) => e.eventName === 'BatchPosted')
      .map((e) => e.args as unknown as Record<string, unknown>);

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
    committeeDeployment = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: 60,
      committee: { publicKeys: committee.publicKeys, chainId: CHAIN_ID },
    });
    singleDeployment = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: 60,
    });
  });
  afterAll(async () => {
    if (gas.length) console.log(`Inbox gas (receipts, committee of 4, 3 signers a QC):\n${gas.join('\n')}`);
    await anvil?.stop();
  });

  it('deploys a CommitteeVerifier with the committee and an Inbox wired to it; without one, as before', async () => {
    const c = committeeDeployment;
    expect(Object.keys(c.contracts).sort()).toEqual([
      'Bridge',
      'CommitteeVerifier',
      'Inbox',
      'L1MessageQueue',
      'SingleKeyAuthoriser',
      'StateOracle',
    ]);
    expect(c.committee).toEqual({
      chainId: '42069',
      epoch: '0',
      quorum: 3,
      publicKeys: committee.publicKeys,
    });
    expect(await read(c.contracts.Inbox, 'verifier')).toBe(c.contracts.CommitteeVerifier);
    expect(await read(c.contracts.Inbox, 'chainId')).toBe(CHAIN_ID);
    const verifierAbi = committeeVerifierArtifact().abi as Abi;
    const info = (await clients(stranger.privateKey).pub.readContract({
      address: c.contracts.CommitteeVerifier!,
      abi: verifierAbi,
      functionName: 'committee',
      args: [EPOCH],
    })) as { size: number; quorum: number };
    expect([info.size, info.quorum]).toEqual([4, 3]);

    const s = singleDeployment;
    expect(Object.keys(s.contracts).sort()).toEqual([
      'Bridge',
      'Inbox',
      'L1MessageQueue',
      'SingleKeyAuthoriser',
      'StateOracle',
    ]);
    expect(s.committee).toBeUndefined();
    expect(await read(s.contracts.Inbox, 'verifier')).toBe(zeroAddress);
    expect(await read(s.contracts.Inbox, 'chainId')).toBe(0n);

    await expect(
      deployL1Contracts({
        rpcUrl: anvil.url,
        deployerKey: deployer.privateKey,
        sequencer: sequencer.address,
        finalisationDelaySeconds: 60,
        committee: { publicKeys: committee.publicKeys, quorum: 2, chainId: CHAIN_ID },
      }),
    ).rejects.toThrow(/more than two thirds/);
  });

  it('`seqnet deploy --committee FILE` deploys the verifier for the members of a committee file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqnet-deploy-committee-'));
    const file = join(dir, 'committee.json');
    writeFileSync(
      file,
      JSON.stringify({
        members: committee.publicKeys.map((k, i) => ({ blsPublicKey: k, peerId: `peer-${i}` })),
      }),
    );
    const run = (extra: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((done) => {
        let stderr = '';
        const p = spawn(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'deploy', '--l1-rpc', anvil.url, ...extra],
          { cwd: root, env: { ...process.env, SEQNET_DEPLOYER_KEY: deployer.privateKey } },
        );
        p.stderr.on('data', (c) => (stderr += c));
        p.once('exit', (code) => done({ code, stderr }));
      });
    const out = join(dir, 'deployment.json');
    const ok = await run(['--committee', file, '--chain-id', '777', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    const deployed = JSON.parse(readFileSync(out, 'utf8')) as L1Deployment;
    expect(deployed.committee).toEqual({
      chainId: '777',
      epoch: '0',
      quorum: 3,
      publicKeys: committee.publicKeys,
    });
    expect(await read(deployed.contracts.Inbox, 'verifier')).toBe(deployed.contracts.CommitteeVerifier);
    expect(await read(deployed.contracts.Inbox, 'chainId')).toBe(777n);
    writeFileSync(file, JSON.stringify({ members: [{ blsPublicKey: '0x1234', peerId: 'p' }] }));
    const bad = await run(['--committee', file]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/needs "members"/);
  }, 60_000);

  it('takes a certified batch from the authorised poster only; a key alone no longer posts; every bad certificate reverts with its named error', async () => {
    const inbox = committeeDeployment.contracts.Inbox;
    const chain = await blocksFrom(undefined, 4);
    const batch = chain.slice(0, 3);
    const last = batch[2];
    const lastHash = hashSequencedBlock(last);
    const child = hashSequencedBlock(chain[3]);
    const data = toHex(encodeBatch(batch));
    const good = proofOf(last, child, 10n);
    expect(verifyCommitProof(good, committee)).toBeNull();
    const l1Qcs = (p: CommitProof) => commitProofArgs(p, 4)[3];
    const args = (p: CommitProof, o: { first?: bigint; lastBlock?: bigint; hash?: Hex; data?: Hex } = {}) =>
      [
        o.first ?? 1n,
        o.lastBlock ?? 3n,
        o.hash ?? lastHash,
        last.l1MessageCursor,
        o.data ?? data,
        l1Qcs(p),
      ] as const;
    const post = (a: readonly unknown[]) => revertOf(stranger.privateKey, inbox, 'postCertifiedBatch', a);

    // With a committee, the authorised key alone cannot post: it needs the certificate.
    expect((await revertOf(sequencer.privateKey, inbox, 'postBatch', args(good).slice(0, 5))).name).toBe(
      'CertificateRequired',
    );

    // One forged signature (member 2's vote signed by another key), in the block's QC or the child's.
    expect(
      (await post(args(proofOf(last, child, 10n, [qc(10n, lastHash, [0, 1, 2], [2]), good.qcs[1]])))).name,
    ).toBe('BadSignature');
    expect(
      (await post(args(proofOf(last, child, 10n, [good.qcs[0], qc(11n, child, [1, 2, 3], [3])])))).name,
    ).toBe('BadSignature');
    // Votes signed for another rollup's chain id.
    const otherChain = [qc(10n, lastHash, [0, 1, 2], [], 7n), qc(11n, child, [1, 2, 3], [], 7n)];
    expect((await post(args(proofOf(last, child, 10n, otherChain)))).name).toBe('BadSignature');
    // A proof for another block: a certificate for block 2 posted as the proof of block 3, and a good
    // proof of block 3 posted with another lastBlockHash.
    const forBlock2 = proofOf(batch[1], lastHash, 9n);
    expect(await post(args(forBlock2))).toEqual({
      name: 'QcNotForBlock',
      args: [forBlock2.blockHash, lastHash],
    });
    expect((await post(args(good, { hash: hashOf('another block') }))).name).toBe('QcNotForBlock');
    // Too few signers (2 of 4, quorum 3), in either QC.
    expect(await post(args(proofOf(last, child, 10n, [qc(10n, lastHash, [0, 3]), good.qcs[1]])))).toEqual({
      name: 'NotEnoughSigners',
      args: [2n, 3n],
    });
    expect((await post(args(proofOf(last, child, 10n, [good.qcs[0], qc(11n, child, [2, 3])])))).name).toBe(
      'NotEnoughSigners',
    );
    // The block's own QC alone does not commit it in a committee of 4 (DECISIONS.md §2).
    expect((await post(args(proofOf(last, child, 10n, [good.qcs[0]])))).name).toBe('MissingChildQc');
    expect((await post(args(proofOf(last, child, 10n, [])))).name).toBe('NoCertificate');
    expect((await post(args(proofOf(last, child, 10n, [good.qcs[0], qc(12n, child, [1, 2, 3])])))).name).toBe(
      'ChildQcNotNextView',
    );
    // The Inbox's own checks, before any pairing.
    expect((await post(args(good, { data: '0x' }))).name).toBe('EmptyBatch');
    expect(await post(args(good, { first: 2n }))).toEqual({ name: 'UnexpectedFirstBlock', args: [1n, 2n] });
    expect((await post(args(good, { lastBlock: 0n }))).name).toBe('BadBlockRange');
    expect(
      (
        await revertOf(stranger.privateKey, inbox, 'postCertifiedBlobBatch', [
          1n,
          3n,
          lastHash,
          1n,
          l1Qcs(good),
        ])
      ).name,
    ).toBe('EmptyBatch');
    expect(await read(inbox, 'batchCount')).toBe(0n);

    // The good proof from an account nobody authorised is refused (it could claim any range or
    // data for a public certificate); from the authorised poster it is taken.
    expect((await post(args(good))).name).toBe('NotAuthorised');
    const receipt = await send(sequencer.privateKey, inbox, 'postCertifiedBatch', args(good));
    expect(receipt.status).toBe('success');
    expect(batchPosted(receipt, inbox)).toEqual([
      {
        index: 0n,
        firstBlock: 1n,
        lastBlock: 3n,
        lastBlockHash: lastHash,
        dataHash: keccak256(data),
        l1MessageCursor: last.l1MessageCursor,
        blobs: false,
      },
    ]);
    expect(await read(inbox, 'nextBlock')).toBe(4n);
    expect(await read(inbox, 'batch', [0n])).toMatchObject({
      firstBlock: 1n,
      lastBlock: 3n,
      lastBlockHash: lastHash,
      dataHash: keccak256(data),
      postedAtBlock: receipt.blockNumber,
    });
    // Derivation reads the data where it reads postBatch's (argument 4) and finds the blocks.
    const tx = await clients(stranger.privateKey).pub.getTransaction({ hash: receipt.transactionHash });
    const call = decodeFunctionData({ abi: inboxAbi, data: tx.input });
    expect(call.functionName).toBe('postCertifiedBatch');
    expect(call.args?.[4]).toBe(data);
    expect(decodeBatch(fromHex(call.args?.[4] as Hex), lastHash)).toEqual(batch);
    gas.push(`  postCertifiedBatch, 3 blocks (${(data.length - 2) / 2} bytes): ${receipt.gasUsed}`);

    // The same proof again: the range has moved on (and the cheap check comes before the pairing).
    expect(await post(args(good))).toEqual({ name: 'UnexpectedFirstBlock', args: [4n, 1n] });
    // In committee mode the key alone does not post, not even the next range.
    const next = await blocksFrom(last, 1);
    const single = await revertOf(sequencer.privateKey, inbox, 'postBatch', [
      4n,
      4n,
      hashSequencedBlock(next[0]),
      next[0].l1MessageCursor,
      toHex(encodeBatch(next)),
    ]);
    expect(single.name).toBe('CertificateRequired');
  });

  it('the StateOracle takes an output only with a quorum of the committee; its key alone no longer posts; bad certificates revert by name', async () => {
    const oracle = committeeDeployment.contracts.StateOracle;
    const oracleAbi = l1Artifacts().StateOracle.abi as Abi;
    const call = (key: Hex, functionName: string, args: readonly unknown[], address = oracle) =>
      errorOf(key, address, oracleAbi, functionName, args);
    const stateRoot = hashOf('state');
    const withdrawalsRoot = hashOf('withdrawals');
    const blockHash = hashOf('block 10');
    const root = outputRootOf(stateRoot, withdrawalsRoot, blockHash);
    expect(
      await clients(stranger.privateKey).pub.readContract({
        address: oracle,
        abi: oracleAbi,
        functionName: 'outputRootOf',
        args: [stateRoot, withdrawalsRoot, blockHash],
      }),
    ).toBe(root);
    // The digest members sign is the contract's, byte for byte.
    expect(
      await clients(stranger.privateKey).pub.readContract({
        address: committeeDeployment.contracts.CommitteeVerifier!,
        abi: committeeVerifierArtifact().abi as Abi,
        functionName: 'outputMessage',
        args: [CHAIN_ID, EPOCH, 10n, root],
      }),
    ).toBe(toHex(outputMessage(CHAIN_ID, EPOCH, 10n, root)));
    const good = outputCert(10n, root, [0, 1, 3]);
    expect(verifyOutputCertificate(good, CHAIN_ID, committee)).toBeNull();
    const args = (cert: ReturnType<typeof outputCert>, o: { l2Block?: bigint; stateRoot?: Hex } = {}) =>
      [
        o.l2Block ?? 10n,
        o.stateRoot ?? stateRoot,
        withdrawalsRoot,
        blockHash,
        outputCertificateForL1(cert, 4),
      ] as const;

    // The sequencer's key alone: refused, with a committee every output needs its certificate.
    expect(
      (await call(sequencer.privateKey, 'propose', [10n, stateRoot, withdrawalsRoot, blockHash]))?.name,
    ).toBe('CertificateRequired');
    // One forged signature; signatures for another chain id; too few signers; a certificate for
    // another output (another state root, another block); an epoch the verifier does not know.
    const forged = outputCert(10n, root, [0, 1, 3], [1]);
    expect(verifyOutputCertificate(forged, CHAIN_ID, committee)).toMatch(/does not verify/);
    expect((await call(stranger.privateKey, 'proposeCertified', args(forged)))?.name).toBe('BadSignature');
    expect(
      (await call(stranger.privateKey, 'proposeCertified', args(outputCert(10n, root, [0, 1, 3], [], 7n))))
        ?.name,
    ).toBe('BadSignature');
    expect(await call(stranger.privateKey, 'proposeCertified', args(outputCert(10n, root, [0, 1])))).toEqual({
      name: 'NotEnoughSigners',
      args: [2n, 3n],
    });
    expect(
      (await call(stranger.privateKey, 'proposeCertified', args(good, { stateRoot: hashOf('other') })))?.name,
    ).toBe('BadSignature');
    expect((await call(stranger.privateKey, 'proposeCertified', args(good, { l2Block: 11n })))?.name).toBe(
      'BadSignature',
    );
    // The good certificate with one field changed: an epoch the verifier does not know, a bitmap
    // with a bit past the committee.
    const tampered = async (change: Partial<ReturnType<typeof outputCertificateForL1>>) =>
      (
        await call(stranger.privateKey, 'proposeCertified', [
          10n,
          stateRoot,
          withdrawalsRoot,
          blockHash,
          { ...outputCertificateForL1(good, 4), ...change },
        ])
      )?.name;
    expect(await tampered({ epoch: 5n })).toBe('UnknownEpoch');
    expect(await tampered({ signers: '0x0b00' })).toBe('BadBitmap');

    // The good certificate: anyone may post it (it vouches for every field), and the output is kept.
    const { pub, wallet } = clients(stranger.privateKey);
    const hash = await wallet.writeContract({
      address: oracle,
      abi: oracleAbi,
      functionName: 'proposeCertified',
      args: args(good),
    });
    const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    expect(receipt.status).toBe('success');
    gas.push(`  StateOracle.proposeCertified (3 of 4 signers): ${receipt.gasUsed}`);
    expect(
      await pub.readContract({ address: oracle, abi: oracleAbi, functionName: 'output', args: [0n] }),
    ).toMatchObject({ outputRoot: root, l2Block: 10n });
    expect(await call(stranger.privateKey, 'proposeCertified', args(good))).toEqual({
      name: 'BlockNotAfterPrevious',
      args: [10n, 10n],
    });

    // Without a committee: certified outputs are refused, the single key proposes as before.
    const single = singleDeployment.contracts.StateOracle;
    expect((await call(stranger.privateKey, 'proposeCertified', args(good), single))?.name).toBe(
      'NoCommitteeVerifier',
    );
    expect(
      await call(sequencer.privateKey, 'propose', [10n, stateRoot, withdrawalsRoot, blockHash], single),
    ).toBeUndefined();
    expect(
      (await call(stranger.privateKey, 'propose', [10n, stateRoot, withdrawalsRoot, blockHash], single))
        ?.name,
    ).toBe('NotAuthorised');
  });

  it('without a committee: certified posts revert with NoCommitteeVerifier, postBatch works as before', async () => {
    const inbox = singleDeployment.contracts.Inbox;
    const chain = await blocksFrom(undefined, 4);
    const batch = chain.slice(0, 3);
    const lastHash = hashSequencedBlock(batch[2]);
    const data = toHex(encodeBatch(batch));
    const qcs = commitProofArgs(proofOf(batch[2], hashSequencedBlock(chain[3]), 10n), 4)[3];
    expect(
      (await revertOf(stranger.privateKey, inbox, 'postCertifiedBatch', [1n, 3n, lastHash, 1n, data, qcs]))
        .name,
    ).toBe('NoCommitteeVerifier');
    expect(
      (await revertOf(sequencer.privateKey, inbox, 'postCertifiedBatch', [1n, 3n, lastHash, 1n, data, qcs]))
        .name,
    ).toBe('NoCommitteeVerifier');
    expect((await revertOf(stranger.privateKey, inbox, 'postBatch', [1n, 3n, lastHash, 1n, data])).name).toBe(
      'NotAuthorised',
    );
    const r = await send(sequencer.privateKey, inbox, 'postBatch', [1n, 3n, lastHash, 1n, data]);
    expect(r.status).toBe('success');
    expect(batchPosted(r, inbox)).toEqual([
      {
        index: 0n,
        firstBlock: 1n,
        lastBlock: 3n,
        lastBlockHash: lastHash,
        dataHash: keccak256(data),
        l1MessageCursor: 1n,
        blobs: false,
      },
    ]);
    gas.push(`  postBatch (single key, no committee), the same 3 blocks: ${r.gasUsed}`);
  });

  it('the batcher with proofFor posts certified batches that end at directly-proved blocks (calldata, then blobs)', async () => {
    const d = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: 60,
      committee: { publicKeys: committee.publicKeys, chainId: CHAIN_ID },
    });
    const inbox = d.contracts.Inbox;
    // Blocks 1..8 now, 9 later. Blocks 1, 2 hold the proof of block 3 (committed together), 5 and 6
    // that of 7, 8 nothing that commits it yet; 3, 4 and 7 are committed by their own proofs.
    const blocks = await blocksFrom(undefined, 9);
    const sequenced = new Map<bigint, Uint8Array>();
    const proofs = new Map<bigint, Uint8Array>();
    const view = (h: bigint) => 100n + 2n * h;
    const direct = (h: bigint) => {
      const b = blocks[Number(h) - 1];
      const child = h < 9n ? hashSequencedBlock(blocks[Number(h)]) : hashOf('child of 9');
      return proofOf(b, child, view(h));
    };
    const through = (h: bigint, by: bigint) => ({ ...direct(by), height: h });
    const store = {
      getSequenced: (h: bigint) => sequenced.get(h),
      getProof: (h: bigint) => proofs.get(h),
    } as unknown as ChainStore;
    let head = 8n;
    for (const b of blocks.slice(0, 8)) sequenced.set(b.height, encodeSequencedBlock(b));
    const set = (h: bigint, p: CommitProof) => proofs.set(h, encodeCommitProof(p));
    set(1n, through(1n, 3n));
    set(2n, through(2n, 3n));
    set(3n, direct(3n));
    set(4n, direct(4n));
    set(5n, through(5n, 7n));
    set(6n, through(6n, 7n));
    set(7n, direct(7n));
    set(8n, through(8n, 9n)); // block 9 is not in the store yet
    const proofFor = storedCommitProofs(store);
    expect(provesBlock(proofFor(3n), blocks[2])).toBe(true);
    expect(provesBlock(proofFor(2n), blocks[1])).toBe(false);

    const batcher = (over: Partial<typeof batcherDefaults> = {}) =>
      new Batcher(
        { ...batcherDefaults, intervalMs: 100, ...over },
        {
          store,
          head: () => head,
          l1Url: anvil.url,
          inbox,
          inboxAbi,
          key: sequencer.privateKey, // authorised, and every batch carries the certificate
          logger: pino({ level: 'silent' }),
          proofFor,
        },
      );
    const { pub } = clients(stranger.privateKey);
    const posted: Array<{ first: bigint; last: bigint; fn: string; blobs: boolean }> = [];
    const postOnce = async (b: Batcher) => {
      const count = (await read(inbox, 'batchCount')) as bigint;
      const did = await b.postOnce();
      if (!did) return false;
      const i = ((await read(inbox, 'batchCount')) as bigint) - 1n;
      expect(i).toBe(count);
      const logs = await pub.getContractEvents({
        address: inbox,
        abi: inboxAbi,
        eventName: 'BatchPosted',
        fromBlock: 0n,
      });
      const log = logs.find((l) => (l.args as { index: bigint }).index === i)!;
      const a = log.args as { firstBlock: bigint; lastBlock: bigint; lastBlockHash: Hex; blobs: boolean };
      // It ends at a block whose own proof commits it.
      expect(a.lastBlockHash).toBe(hashSequencedBlock(blocks[Number(a.lastBlock) - 1]));
      expect(provesBlock(proofFor(a.lastBlock), blocks[Number(a.lastBlock) - 1])).toBe(true);
      const tx = await pub.getTransaction({ hash: log.transactionHash });
      expect(tx.from.toLowerCase()).toBe(sequencer.address.toLowerCase());
      const call = decodeFunctionData({ abi: inboxAbi, data: tx.input });
      if (!a.blobs)
        expect(decodeBatch(fromHex(call.args?.[4] as Hex), a.lastBlockHash)).toEqual(
          blocks.slice(Number(a.firstBlock) - 1, Number(a.lastBlock)),
        );
      const receipt = await pub.getTransactionReceipt({ hash: log.transactionHash });
      gas.push(
        `  batcher ${call.functionName}, blocks ${a.firstBlock}..${a.lastBlock}: ${receipt.gasUsed}${a.blobs ? ' (+ blob gas)' : ''}`,
      );
      posted.push({ first: a.firstBlock, last: a.lastBlock, fn: call.functionName, blobs: a.blobs });
      return true;
    };

    // maxBlocks 2 covers 1..2, neither committed by its own proof: the batch runs on to block 3.
    expect(await postOnce(batcher({ maxBlocks: 2 }))).toBe(true);
    // A batch too big for maxBytes shrinks to a block with its own proof (4, not 5 or 6).
    expect(await postOnce(batcher({ maxBytes: 1 }))).toBe(true);
    // Then 5..7; block 8 waits for a proof that commits it.
    expect(await postOnce(batcher())).toBe(true);
    expect(await postOnce(batcher())).toBe(false);
    // Block 9 arrives and commits 8 and itself: one blob batch 8..9.
    sequenced.set(9n, encodeSequencedBlock(blocks[8]));
    set(9n, direct(9n));
    head = 9n;
    expect(await postOnce(batcher({ da: 'blobs' }))).toBe(true);
    expect(posted).toEqual([
      { first: 1n, last: 3n, fn: 'postCertifiedBatch', blobs: false },
      { first: 4n, last: 4n, fn: 'postCertifiedBatch', blobs: false },
      { first: 5n, last: 7n, fn: 'postCertifiedBatch', blobs: false },
      { first: 8n, last: 9n, fn: 'postCertifiedBlobBatch', blobs: true },
    ]);
    expect(await read(inbox, 'nextBlock')).toBe(10n);

    // Against an Inbox without a committee, a batcher with proofFor says so.
    const fresh = await deployL1Contracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: 60,
    });
    const noCommittee = new Batcher(batcherDefaults, {
      store,
      head: () => head,
      l1Url: anvil.url,
      inbox: fresh.contracts.Inbox,
      inboxAbi,
      key: sequencer.privateKey,
      logger: pino({ level: 'silent' }),
      proofFor,
    });
    await expect(noCommittee.postOnce()).rejects.toThrow(/has no CommitteeVerifier/);
  }, 120_000);
});
