import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RpcError } from '../../src/errors.js';
import { createTxCommon } from '../../src/execution/executor.js';
import { devAccounts } from '../../src/execution/genesis.js';
import { ForwardingIntake } from '../../src/rpc/forwarding-intake.js';
import { signFeeMarketTx } from '../helpers/raw-tx.js';

const common = createTxCommon(42069n);
const tx = signFeeMarketTx(devAccounts(1)[0].privateKey, {
  nonce: 0n,
  gas: 21_000n,
  maxFee: 10n ** 10n,
  maxTip: 1n,
  value: 1n,
});

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

/** A port that nothing listens on: taken, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('ForwardingIntake: txs for a node that posts nothing itself', () => {
  it('without a URL refuses every tx with the reason it was given (-32000), also a valid one', async () => {
    const intake = new ForwardingIntake(
      common,
      30_000_000n,
      undefined,
      'this based node posts no batches: …',
    );
    const err = await rejection(intake.add(tx));
    expect(err.code).toBe(-32000);
    expect(err.message).toBe('this based node posts no batches: …');
    expect(intake.pendingNonce(devAccounts(1)[0].address, 0n)).toBe(0n);
  });

  it("checks input before forwarding (geth's words) and says when the node it forwards to is unreachable", async () => {
    const intake = new ForwardingIntake(
      common,
      30_000_000n,
      `http://127.0.0.1:${await closedPort()}`,
      'unused',
    );
    // Bad input never leaves this node: refused here, not by the node it would go to.
    expect((await rejection(intake.add(new Uint8Array([0x02, 0xc0])))).message).toBe(
      'rlp: too few elements for types.DynamicFeeTx',
    );
    const down = await rejection(intake.add(tx));
    expect(down.code).toBe(-32000);
    expect(down.message).toMatch(/unreachable: .*; try again/);
    // Nothing was forwarded: the pending nonce stays the state's.
    expect(intake.pendingNonce(devAccounts(1)[0].address, 0n)).toBe(0n);
  });
});
