/**
 * What installing an epoch's committee on L1 from the StakeRegistry costs (issue 5: committees that
 * change), against the owner's `setCommittee` of the same keys (the trusted way it replaces), for
 * registries of 4 to 128 stakers and committees of 4 and 16; and the gas of reading it,
 * `committeeAt(pinned)` from the stake history in current state. Each staker registers, then adds
 * stake in a later block (two checkpoints each). On anvil (Prague, automine).
 *
 *   npx tsx bench/committee-install.ts                  # → bench/results/committee-install.json
 *   npx tsx bench/committee-install.ts --only 256/16    # one case (stakers/committee), printed only
 */
import { SecretKey } from '@chainsafe/blst';
import { type Abi, type Hex, hexToBytes, keccak256, parseEther, parseEventLogs, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { quorumFor } from '../src/consensus/certificate.js';
import { pinnedBlockFor } from '../src/election/epochs.js';
import { devAccounts } from '../src/execution/genesis.js';
import { Anvil } from '../src/l1/anvil.js';
import { g1ToEip2537 } from '../src/l1/bls-encoding.js';
import { customErrorOf, l1Clients } from '../src/l1/clients.js';
import { committeeVerifierArtifact } from '../src/l1/deploy.js';
import {
  DEFAULT_MAX_STAKERS,
  deployElectionContracts,
  electionArtifacts,
  registrationArgs,
} from '../src/l1/election.js';
import { freePort } from './lib/chains.js';
import { writeResult } from './lib/results.js';
import { median } from './lib/stats.js';

/**
 * `stakers` addresses try to register; `maxStakers` is the registry's slots (the default 256 when left
 * out). Past the slots a newcomer gets in only by out-staking the smallest (evicting it).
 */
const CASES: Array<{ stakers: number; committee: number; maxStakers?: number; governance?: true }> = [
  { stakers: 4, committee: 4 },
  { stakers: 16, committee: 4 },
  { stakers: 64, committee: 4 },
  { stakers: 128, committee: 4 },
  { stakers: 16, committee: 16 },
  { stakers: 64, committee: 16 },
  { stakers: 128, committee: 16 },
  { stakers: 256, committee: 16, governance: true },
  { stakers: 400, committee: 16, maxStakers: 256 },
  { stakers: 256, committee: 64 },
  // The most slots a deployment with committees of 16 may have (defaultMaxStakers' budget: the
  // Governance's install over every slot must fit one L1 transaction).
  { stakers: 650, committee: 16, maxStakers: 650, governance: true },
];
const MIN_STAKE = parseEther('1');
const deployer = devAccounts(1)[0];

const anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
try {
  const { pub } = await l1Clients(anvil.url, deployer.privateKey);
  const chainId = await pub.getChainId();
  const wallet = async (key: Hex) => (await l1Clients(anvil.url, key)).wallet;
  const waitOk = async (hash: Hex) => {
    const r = await pub.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    if (r.status !== 'success') throw new Error(`tx ${hash} reverted`);
    return r;
  };
  const registryAbi = electionArtifacts().StakeRegistry.abi as Abi;
  const governanceAbi = electionArtifacts().Governance.abi as Abi;
  const verifier = committeeVerifierArtifact();
  const verifierAbi = verifier.abi as Abi;
  const firstKeys = [0, 1, 2, 3].map((i) =>
    toHex(g1ToEip2537(SecretKey.fromKeygen(new Uint8Array(32).fill(200 + i)).toPublicKey())),
  );
  const deployVerifier = async () =>
    (
      await waitOk(
        await (await wallet(deployer.privateKey)).deployContract({
          abi: verifierAbi,
          bytecode: verifier.bytecode,
          args: [0n, firstKeys, 3n],
        }),
      )
    ).contractAddress as Hex;

  const results = [];
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt === -1 ? undefined : process.argv[onlyAt + 1];
  for (const { stakers, committee, maxStakers, governance } of CASES) {
    if (only !== undefined && only !== `${stakers}/${committee}`) continue;
    const start = await pub.getBlockNumber({ cacheTime: 0 });
    const clock = { genesisBlock: start + 10n, epochLength: 10n };
    const c = await deployElectionContracts({
      rpcUrl: anvil.url,
      deployerKey: deployer.privateKey,
      chainId: 42069n,
      clock,
      minStake: MIN_STAKE,
      unbondingDelay: 5n,
      maxCommitteeSize: committee,
      ...(maxStakers !== undefined && { maxStakers }),
      governanceToken: '0x0000000000000000000000000000000000000001',
      governanceCommitteeSize: 2,
      votingPeriod: 10n,
      auction: { minBid: parseEther('0.1'), minIncrementBps: 500, closeBlocks: 5n },
    });
    const keys = Array.from({ length: stakers }, (_, i) =>
      keccak256(toHex(`bench staker ${stakers}/${committee}/${i}`)),
    );
    const registerGas: number[] = [];
    const evictingRegisterGas: number[] = [];
    let refused = 0;
    const progress = Math.max(1, Math.floor(stakers / 4));
    for (const [i, key] of keys.entries()) {
      if (i % progress === 0)
        console.error(`[committee-install] ${stakers}/${committee}: registering ${i}/${stakers}…`);
      const address = privateKeyToAccount(key).address;
      await pub.request({
        method: 'anvil_setBalance' as never,
        params: [address, toHex(parseEther('1000'))] as never,
      });
      const bls = SecretKey.fromKeygen(
        hexToBytes(keccak256(toHex(`bench bls ${stakers}/${committee}/${i}`))),
      );
      const reg = registrationArgs(bls, chainId, c.StakeRegistry, address);
      const amount = MIN_STAKE * BigInt(1 + (i % 9));
      const call = {
        address: c.StakeRegistry,
        abi: registryAbi,
        functionName: 'register',
        args: [reg.key, reg.pop, amount],
        value: amount,
        account: privateKeyToAccount(key),
      } as const;
      try {
        await pub.simulateContract(call);
      } catch (err) {
        // Every slot taken and this stake no more than the smallest: refused, nothing sent.
        if (customErrorOf(err)?.name !== 'StakerSetFull') throw err;
        refused++;
        continue;
      }
      const r = await waitOk(await (await wallet(key)).writeContract(call));
      const evicted = parseEventLogs({ abi: registryAbi, logs: r.logs, eventName: 'Evicted' }).length > 0;
      (evicted ? evictingRegisterGas : registerGas).push(Number(r.gasUsed));
    }
    // A second checkpoint each (those still bonded), in later blocks.
    for (const [i, key] of keys.entries()) {
      const [bonded] = (await pub.readContract({
        address: c.StakeRegistry,
        abi: registryAbi,
        functionName: 'slotOf',
        args: [privateKeyToAccount(key).address],
      })) as [boolean, number];
      if (!bonded) continue;
      const amount = MIN_STAKE * BigInt(1 + ((i * 5) % 7));
      await waitOk(
        await (await wallet(key)).writeContract({
          address: c.StakeRegistry,
          abi: registryAbi,
          functionName: 'addStake',
          args: [amount],
          value: amount,
        }),
      );
    }
    // An epoch pinned after every stake change: the whole registry counts.
    const now = await pub.getBlockNumber({ cacheTime: 0 });
    const epoch = (now - clock.genesisBlock) / clock.epochLength + 2n;
    const pinned = pinnedBlockFor(clock, epoch);
    if (now <= pinned)
      await pub.request({ method: 'anvil_mine' as never, params: [toHex(pinned - now + 1n)] as never });
    const read = { address: c.StakeRegistry, abi: registryAbi } as const;
    const readHistory = await pub.estimateContractGas({
      ...read,
      functionName: 'committeeAt',
      args: [pinned],
    });
    const [, memberKeys] = (await pub.readContract({
      ...read,
      functionName: 'committeeAt',
      args: [pinned],
    })) as [Hex[], Hex[], bigint[]];
    const byOwner = await deployVerifier();
    const setGas = (
      await waitOk(
        await (await wallet(deployer.privateKey)).writeContract({
          address: byOwner,
          abi: verifierAbi,
          functionName: 'setCommittee',
          args: [epoch, memberKeys, BigInt(quorumFor(memberKeys.length))],
        }),
      )
    ).gasUsed;
    const fromRegistry = await deployVerifier();
    await waitOk(
      await (await wallet(deployer.privateKey)).writeContract({
        address: fromRegistry,
        abi: verifierAbi,
        functionName: 'setCommitteeSource',
        args: [c.StakeRegistry],
      }),
    );
    const installGas = (
      await waitOk(
        await (await wallet(devAccounts(3)[2].privateKey)).writeContract({
          address: fromRegistry,
          abi: verifierAbi,
          functionName: 'installCommittee',
          args: [epoch],
        }),
      )
    ).gasUsed;
    const installed = (await pub.readContract({
      address: fromRegistry,
      abi: verifierAbi,
      functionName: 'publicKeys',
      args: [epoch],
    })) as Hex[];
    if (JSON.stringify(installed) !== JSON.stringify(memberKeys))
      throw new Error('the installed committee is not the registry committee');
    // The Governance elects among the same slots: every staker stands (no votes, so nobody is elected,
    // but each slot costs what it costs a vote-holding candidate but the vote lookup's second read).
    let readGovernanceCommitteeAtGas: number | null = null;
    if (governance) {
      for (const key of keys)
        await waitOk(
          await (await wallet(key)).writeContract({
            address: c.Governance,
            abi: governanceAbi,
            functionName: 'registerCandidate',
            args: [],
          }),
        );
      readGovernanceCommitteeAtGas = Number(
        await pub.estimateContractGas({
          address: c.Governance,
          abi: governanceAbi,
          functionName: 'committeeAt',
          args: [await pub.getBlockNumber({ cacheTime: 0 })],
        }),
      );
    }
    const row = {
      stakers,
      maxStakers: maxStakers ?? DEFAULT_MAX_STAKERS,
      registered: registerGas.length + evictingRegisterGas.length,
      refusedFull: refused,
      evictions: evictingRegisterGas.length,
      registerGasMedian: median(registerGas),
      evictingRegisterGasMax: evictingRegisterGas.length ? Math.max(...evictingRegisterGas) : null,
      committee: memberKeys.length,
      installCommitteeGas: Number(installGas),
      ownerSetCommitteeGas: Number(setGas),
      installOverOwner: Number((Number(installGas) / Number(setGas)).toFixed(2)),
      readCommitteeAtGas: Number(readHistory),
      ...(governance && { readGovernanceCommitteeAtGas }),
    };
    console.error(`[committee-install] ${JSON.stringify(row)}`);
    results.push(row);
  }
  if (only === undefined)
    writeResult('bench/results/committee-install.json', {
      what: 'gas of installing an epoch committee from the StakeRegistry (CommitteeVerifier.installCommittee, anyone) vs the owner setting the same keys (setCommittee), and of reading it from the stake history (committeeAt); whole-tx gas on anvil (Prague); every bonded staker has 2 checkpoints; `stakers` addresses tried to register into `maxStakers` slots (past them only by out-staking the smallest, which is evicted: evictingRegisterGas)',
      when: new Date().toISOString(),
      cases: results,
    });
} finally {
  await anvil.stop();
}
