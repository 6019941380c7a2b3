/**
 * The committee selection both election contracts run (`TopN.select` in
 * contracts/l1/election/Checkpoints.sol), on anvil, against a plain sort: the `size` largest values at
 * least `minimum`, largest first, the lower index first among equals. Small value ranges make ties
 * common, which is where a heap's order goes wrong first.
 */
import fc from 'fast-check';
import type { Abi, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { Anvil } from '../../src/l1/anvil.js';
import { l1Clients } from '../../src/l1/clients.js';
import { compileContract } from '../../src/l1/solc.js';
import { freePort } from '../helpers/devnet.js';

const harness = compileContract('test/TopNHarness.sol', 'TopNHarness');

/** What the contract must return: indices by value descending, then index ascending. */
function reference(values: bigint[], minimum: bigint, size: number): bigint[] {
  return values
    .map((v, i) => ({ v, i }))
    .filter(({ v }) => v >= minimum)
    .sort((a, b) => (a.v === b.v ? a.i - b.i : a.v > b.v ? -1 : 1))
    .slice(0, size)
    .map(({ i }) => BigInt(i));
}

describe('TopN.select (the staked and elected committees) on anvil', () => {
  let anvil: Anvil;
  let pub: Awaited<ReturnType<typeof l1Clients>>['pub'];
  let address: Hex;
  const select = (values: bigint[], minimum: bigint, size: number) =>
    pub.readContract({
      address,
      abi: harness.abi as Abi,
      functionName: 'select',
      args: [values, minimum, BigInt(size)],
    }) as Promise<readonly bigint[]>;

  beforeAll(async () => {
    anvil = await Anvil.start({ host: '127.0.0.1', port: await freePort(), chainId: 31337, blockTime: 0 });
    const clients = await l1Clients(anvil.url, devAccounts(1)[0].privateKey);
    pub = clients.pub;
    const hash = await clients.wallet.deployContract({
      abi: harness.abi as Abi,
      bytecode: harness.bytecode,
      args: [],
    });
    address = (await pub.waitForTransactionReceipt({ hash })).contractAddress as Hex;
  }, 60_000);
  afterAll(async () => {
    await anvil?.stop();
  });

  it('picks what a sort picks, in its order, for random values, minimums and sizes (ties common)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 0n, max: 6n }), { maxLength: 40 }),
        fc.bigInt({ min: 0n, max: 4n }),
        fc.nat({ max: 45 }),
        async (values, minimum, size) => {
          expect([...(await select(values, minimum, size))]).toEqual(reference(values, minimum, size));
        },
      ),
      { numRuns: 300, seed: 20261207 },
    );
  });

  it('the edges: nothing to pick, a size of 0, all equal, a full registry of distinct stakes', async () => {
    expect(await select([], 1n, 4)).toEqual([]);
    expect(await select([5n, 6n], 1n, 0)).toEqual([]);
    expect(await select([0n, 0n, 3n], 1n, 4)).toEqual([2n]);
    expect([...(await select([2n, 2n, 2n, 2n, 2n], 1n, 3))]).toEqual([0n, 1n, 2n]);
    const big = Array.from({ length: 1024 }, (_, i) => BigInt((i * 7919) % 1031));
    expect([...(await select(big, 1n, 128))]).toEqual(reference(big, 1n, 128));
  });
});
