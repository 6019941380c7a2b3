import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type Abi,
  type AbiFunction,
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeEventLog,
  type Hex,
  http,
  parseEther,
  toFunctionSelector,
  zeroAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil } from '../../src/l1/anvil.js';
import { deployL1Contracts, type L1Deployment, l1Artifacts, openInboxArtifact } from '../../src/l1/deploy.js';
import {
  type Withdrawal,
  withdrawalLeaf,
  withdrawalProof,
  withdrawalsRoot,
} from '../../src/l1/withdrawals.js';
import { runSeqnet } from '../helpers/cli.js';
import { freePort } from '../helpers/devnet.js';

const root = resolve(import.meta.dirname, '../..');
const artifacts = l1Artifacts();
const abi = (name: keyof typeof artifacts) => artifacts[name].abi as Abi;
const [deployer, sequencer, alice, bob] = devAccounts(4);
const DELAY = 3600;

describe('L1 contracts on anvil', () => {
  let anvil: Anvil;
  let d: L1Deployment;
  let url: string;
  const clients = (key: Hex) => {
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
      test: createTestClient({ chain, transport, mode: 'anvil' }),
    };
  };
  /** Simulates a call and returns the custom error's name it reverts with. */
  async function revertName(
    key: Hex,
    address: Hex,
    name: keyof typeof artifacts,
    functionName: string,
    args: unknown[],
    value?: bigint,
  ) {
    const { pub } = clients(key);
    try {
      await pub.simulateContract({
        address,
        abi: abi(name),
        functionName,
        args,
        value,
        account: privateKeyToAccount(key),
      });
    } catch (err) {
      const data = (err as { cause?: { data?: { errorName?: string; args?: unknown[] } } }).cause?.data;
      return { name: data?.errorName, args: data?.args };
    }
    throw new Error(`${functionName} did not revert`);
  }

  beforeAll(async () => {
    const port = await freePort();
    anvil = await Anvil.start({ host: '127.0.0.1', port, chainId: 31337, blockTime: 0 });
    url = anvil.url;
    const lines: string[] = [];
    d = await deployL1Contracts({
      rpcUrl: url,
      deployerKey: deployer.privateKey,
      sequencer: sequencer.address,
      finalisationDelaySeconds: DELAY,
      onProgress: (l) => lines.push(l),
    });
    expect(lines.at(-1)).toMatch(/deployed by block/);
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  it('queues deposits and forced txs as ordered L1 messages, with named errors for bad input', async () => {
    const { pub, wallet } = clients(alice.privateKey);
    const hash = await wallet.writeContract({
      address: d.contracts.Bridge,
      abi: abi('Bridge'),
      functionName: 'depositETH',
      args: [bob.address],
      value: parseEther('2'),
    });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    const messages = receipt.logs
      .filter((l) => l.address.toLowerCase() === d.contracts.L1MessageQueue.toLowerCase())
      .map((l) => decodeEventLog({ abi: abi('L1MessageQueue'), data: l.data, topics: l.topics }));
    expect(messages).toHaveLength(1);
    expect(messages[0].eventName).toBe('L1Message');
    expect(messages[0].args).toMatchObject({
      index: 0n,
      kind: 0,
      from: alice.address,
      to: bob.address,
      value: parseEther('2'),
    });
    expect(await pub.getBalance({ address: d.contracts.Bridge })).toBe(parseEther('2'));

    const forced = await wallet.writeContract({
      address: d.contracts.L1MessageQueue,
      abi: abi('L1MessageQueue'),
      functionName: 'forceTransaction',
      args: ['0x02f86b'],
    });
    await pub.waitForTransactionReceipt({ hash: forced });
    expect(
      await pub.readContract({
        address: d.contracts.L1MessageQueue,
        abi: abi('L1MessageQueue'),
        functionName: 'messageCount',
      }),
    ).toBe(2n);

    expect(
      (await revertName(alice.privateKey, d.contracts.Bridge, 'Bridge', 'depositETH', [bob.address], 0n))
        .name,
    ).toBe('ZeroDeposit');
    expect(
      (await revertName(alice.privateKey, d.contracts.Bridge, 'Bridge', 'depositETH', [zeroAddress], 1n))
        .name,
    ).toBe('ZeroAddress');
    const notGwei = await revertName(
      alice.privateKey,
      d.contracts.Bridge,
      'Bridge',
      'depositETH',
      [bob.address],
      1n,
    );
    expect(notGwei).toEqual({ name: 'DepositNotWholeGwei', args: [1n] });
    expect(
      (
        await revertName(alice.privateKey, d.contracts.L1MessageQueue, 'L1MessageQueue', 'forceTransaction', [
          '0x',
        ])
      ).name,
    ).toBe('EmptyTransaction');
    const huge = `0x${'00'.repeat(128 * 1024 + 1)}` as Hex;
    expect(
      await revertName(alice.privateKey, d.contracts.L1MessageQueue, 'L1MessageQueue', 'forceTransaction', [
        huge,
      ]),
    ).toEqual({
      name: 'TransactionTooLarge',
      args: [BigInt(128 * 1024 + 1), BigInt(128 * 1024)],
    });
    expect(
      (
        await revertName(alice.privateKey, d.contracts.L1MessageQueue, 'L1MessageQueue', 'enqueueDeposit', [
          alice.address,
          bob.address,
          1n,
        ])
      ).name,
    ).toBe('OnlyBridge');
    expect(
      (
        await revertName(deployer.privateKey, d.contracts.L1MessageQueue, 'L1MessageQueue', 'initialise', [
          bob.address,
        ])
      ).name,
    ).toBe('AlreadyInitialised');
    expect(
      (
        await revertName(alice.privateKey, d.contracts.L1MessageQueue, 'L1MessageQueue', 'initialise', [
          bob.address,
        ])
      ).name,
    ).toBe('NotDeployer');
  });

  it('takes batches only from the authorised sequencer, in contiguous block ranges', async () => {
    const { pub, wallet } = clients(sequencer.privateKey);
    const h = `0x${'11'.repeat(32)}` as Hex;
    expect(
      (await revertName(alice.privateKey, d.contracts.Inbox, 'Inbox', 'postBatch', [1n, 3n, h, 0n, '0x01']))
        .name,
    ).toBe('NotAuthorised');
    expect(
      (await revertName(sequencer.privateKey, d.contracts.Inbox, 'Inbox', 'postBatch', [1n, 3n, h, 0n, '0x']))
        .name,
    ).toBe('EmptyBatch');
    expect(
      (
        await revertName(sequencer.privateKey, d.contracts.Inbox, 'Inbox', 'postBatch', [
          2n,
          3n,
          h,
          0n,
          '0x01',
        ])
      ).args,
    ).toEqual([1n, 2n]);
    const tx = await wallet.writeContract({
      address: d.contracts.Inbox,
      abi: abi('Inbox'),
      functionName: 'postBatch',
      args: [1n, 3n, h, 0n, '0xc0ffee'],
    });
    expect((await pub.waitForTransactionReceipt({ hash: tx })).status).toBe('success');
    expect(
      (
        await revertName(sequencer.privateKey, d.contracts.Inbox, 'Inbox', 'postBatch', [
          4n,
          3n,
          h,
          0n,
          '0x01',
        ])
      ).name,
    ).toBe('BadBlockRange');
    expect(
      (await revertName(sequencer.privateKey, d.contracts.Inbox, 'Inbox', 'postBlobBatch', [4n, 5n, h, 0n]))
        .name,
    ).toBe('EmptyBatch');
    const stored = (await pub.readContract({
      address: d.contracts.Inbox,
      abi: abi('Inbox'),
      functionName: 'batch',
      args: [0n],
    })) as { lastBlock: bigint };
    expect(stored.lastBlock).toBe(3n);
    expect((await revertName(alice.privateKey, d.contracts.Inbox, 'Inbox', 'batch', [9n])).args).toEqual([
      9n,
      1n,
    ]);
    expect(
      (
        await revertName(
          alice.privateKey,
          d.contracts.SingleKeyAuthoriser,
          'SingleKeyAuthoriser',
          'setSequencer',
          [alice.address],
        )
      ).name,
    ).toBe('NotOwner');
  });

  it('finalises a withdrawal with a Merkle proof against a certified output after the delay, once', async () => {
    const { pub, wallet, test } = clients(sequencer.privateKey);
    const withdrawals: Withdrawal[] = [0, 1, 2].map((i) => ({
      nonce: BigInt(i),
      from: alice.address,
      to: bob.address,
      value: parseEther('0.5') + BigInt(i),
    }));
    const leaves = withdrawals.map(withdrawalLeaf);
    const root = withdrawalsRoot(leaves);
    const stateRoot = `0x${'aa'.repeat(32)}` as Hex;
    const blockHash = `0x${'bb'.repeat(32)}` as Hex;
    const propose = await wallet.writeContract({
      address: d.contracts.StateOracle,
      abi: abi('StateOracle'),
      functionName: 'propose',
      args: [10n, stateRoot, root, blockHash],
    });
    await pub.waitForTransactionReceipt({ hash: propose });
    expect(
      (
        await revertName(sequencer.privateKey, d.contracts.StateOracle, 'StateOracle', 'propose', [
          10n,
          stateRoot,
          root,
          blockHash,
        ])
      ).name,
    ).toBe('BlockNotAfterPrevious');
    expect(
      (
        await revertName(alice.privateKey, d.contracts.StateOracle, 'StateOracle', 'propose', [
          11n,
          stateRoot,
          root,
          blockHash,
        ])
      ).name,
    ).toBe('NotAuthorised');

    const w = withdrawals[2];
    const args = (proof: Hex[], sr = stateRoot) => [0n, sr, root, blockHash, w, 2n, proof];
    const proof = withdrawalProof(leaves, 2);
    expect(
      (await revertName(bob.privateKey, d.contracts.Bridge, 'Bridge', 'finaliseWithdrawal', args(proof)))
        .name,
    ).toBe('OutputNotFinal');
    await test.increaseTime({ seconds: DELAY + 1 });
    await test.mine({ blocks: 1 });
    expect(
      (
        await revertName(
          bob.privateKey,
          d.contracts.Bridge,
          'Bridge',
          'finaliseWithdrawal',
          args(proof, blockHash),
        )
      ).name,
    ).toBe('BadOutput');
    expect(
      (
        await revertName(
          bob.privateKey,
          d.contracts.Bridge,
          'Bridge',
          'finaliseWithdrawal',
          args(withdrawalProof(leaves, 1)),
        )
      ).name,
    ).toBe('BadProof');

    const before = await pub.getBalance({ address: bob.address });
    const anyone = clients(alice.privateKey).wallet;
    const fin = await anyone.writeContract({
      address: d.contracts.Bridge,
      abi: abi('Bridge'),
      functionName: 'finaliseWithdrawal',
      args: args(proof),
    });
    expect((await pub.waitForTransactionReceipt({ hash: fin })).status).toBe('success');
    expect(await pub.getBalance({ address: bob.address })).toBe(before + w.value);
    expect(
      (await revertName(alice.privateKey, d.contracts.Bridge, 'Bridge', 'finaliseWithdrawal', args(proof)))
        .name,
    ).toBe('AlreadyFinalised');
  });

  it('`seqnet deploy` deploys them to any L1 and writes the deployment', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'seqnet-deploy-')), 'deployment.json');
    const args = [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'deploy',
      '--l1-rpc',
      url,
      '--sequencer',
      sequencer.address,
      '--finalisation-delay',
      '120',
      '--out',
      out,
    ];
    const env = { ...process.env, SEQNET_DEPLOYER_KEY: alice.privateKey };
    const code = await new Promise<number | null>((done) => {
      const p = spawn(process.execPath, args, {
        cwd: root,
        env,
        stdio: 'ignore',
      });
      p.once('exit', done);
    });
    expect(code).toBe(0);
    const deployed = JSON.parse(readFileSync(out, 'utf8')) as L1Deployment;
    expect(deployed.deployer).toBe(alice.address);
    expect(deployed.finalisationDelaySeconds).toBe(120);
    const { pub } = clients(alice.privateKey);
    const auth = deployed.contracts.SingleKeyAuthoriser;
    expect(
      await pub.readContract({ address: auth, abi: abi('SingleKeyAuthoriser'), functionName: 'sequencer' }),
    ).toBe(sequencer.address);
    // A bad key is refused before anything is sent.
    const bad = await new Promise<number | null>((done) => {
      const p = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'deploy', '--l1-rpc', url, '--private-key', '0x1234'],
        { cwd: root, stdio: 'ignore' },
      );
      p.once('exit', done);
    });
    expect(bad).toBe(1);
  });

  it('`seqnet deploy --mode free` deploys an OpenInbox that anyone posts to, with named errors', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'seqnet-deploy-open-')), 'deployment.json');
    const refused = await runSeqnet([
      'deploy',
      '--l1-rpc',
      url,
      '--private-key',
      bob.privateKey,
      '--mode',
      'fifo',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/unknown --mode "fifo": use based or free/);
    const r = await runSeqnet([
      'deploy',
      '--l1-rpc',
      url,
      '--private-key',
      bob.privateKey,
      '--mode',
      'free',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const deployed = JSON.parse(readFileSync(out, 'utf8')) as L1Deployment;
    expect(deployed.openMode).toBe('free');
    const inbox = deployed.contracts.Inbox;
    const open = openInboxArtifact().abi as Abi;
    const { pub } = clients(alice.privateKey);
    const fail = async (args: unknown[], functionName = 'postBatch') => {
      try {
        await pub.simulateContract({
          address: inbox,
          abi: open,
          functionName,
          args,
          account: privateKeyToAccount(alice.privateKey),
        });
      } catch (err) {
        const data = (err as { cause?: { data?: { errorName?: string; args?: unknown[] } } }).cause?.data;
        return { name: data?.errorName, args: data?.args };
      }
      throw new Error(`${functionName} did not revert`);
    };
    const h = `0x${'22'.repeat(32)}` as Hex;
    expect((await fail([1n, 1n, h, 0n, '0x'])).name).toBe('EmptyBatch');
    expect(await fail([3n, 2n, h, 0n, '0x01'])).toEqual({ name: 'BadBlockRange', args: [3n, 2n] });
    // A blob batch without blobs: nothing to record.
    expect((await fail([1n, 1n, h, 0n], 'postBlobBatch')).name).toBe('EmptyBatch');
    expect(await fail([3n, 2n, h, 0n], 'postBlobBatch')).toEqual({ name: 'BadBlockRange', args: [3n, 2n] });
    // Anyone posts, any range, as often as they like: nothing on chain decides which batch counts.
    for (const who of [alice, bob, alice]) {
      const { wallet } = clients(who.privateKey);
      const tx = await wallet.writeContract({
        address: inbox,
        abi: open,
        functionName: 'postBatch',
        args: [1n, 1n, h, 0n, '0xc0ffee'],
      });
      const receipt = await pub.waitForTransactionReceipt({ hash: tx });
      expect(receipt.status).toBe('success');
      const posted = receipt.logs.map((l) => decodeEventLog({ abi: open, data: l.data, topics: l.topics }));
      expect(posted[0].eventName).toBe('BatchPosted');
    }
    expect(await pub.readContract({ address: inbox, abi: open, functionName: 'batchCount' })).toBe(3n);
    // Its postBatch and postBlobBatch are the committee Inbox's, selector for selector: derivation
    // reads both alike.
    const selector = (a: Abi, name: string) =>
      toFunctionSelector(a.find((e) => e.type === 'function' && e.name === name) as AbiFunction);
    for (const name of ['postBatch', 'postBlobBatch'])
      expect(selector(open, name)).toEqual(selector(abi('Inbox'), name));
  });
});
