import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccounts } from '../../src/execution/genesis.js';
import { type DevnetProcess, startDevnet } from '../helpers/devnet.js';
import { withdrawToL1 } from '../helpers/withdrawal.js';

describe('withdrawal L2 → L1', () => {
  let devnet: DevnetProcess;
  let info: { l1: { rpc: string; contracts: Record<string, Hex> } };
  beforeAll(async () => {
    devnet = await startDevnet({ l1: true, blockTime: 0 });
    info = JSON.parse(readFileSync(join(devnet.dataDir, 'devnet.json'), 'utf8'));
  });
  afterAll(async () => {
    await devnet?.stop();
  });

  it('withdraws on L2 and finalises on L1 after the delay, with a proof against the single sequencer output', async () => {
    const { outputsVia } = await withdrawToL1({
      l2Url: devnet.url,
      l2ChainId: 42069,
      proofUrl: devnet.url,
      l1Rpc: info.l1.rpc,
      contracts: info.l1.contracts,
      userKey: devAccounts(4)[3].privateKey,
    });
    // No committee: the single sequencer's key proposes outputs.
    expect(new Set(outputsVia)).toEqual(new Set(['propose']));
  });
});
