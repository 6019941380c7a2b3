import type { Common } from '@ethereumjs/common';
import { RpcError, serverError } from '../errors.js';
import type { AddOutcome } from '../mempool/mempool.js';
import { mempoolDefaults } from '../mempool/options.js';
import { decodeAndCheck } from '../mempool/validate.js';
import { type Hex, toHex } from '../util/bytes.js';
import type { TxIntake } from './context.js';

/** How long a forwarded tx waits for the other node's answer. */
const FORWARD_TIMEOUT_MS = 10_000;

/**
 * Forwards raw txs to a node that orders or posts them, as op-geth's `--rollup.sequencerhttp`: for a
 * node that has no mempool of its own to offer (a read-only follower; a `based` / `free` node without
 * an L1 key). The other node's answer (hash or geth error) goes back as is; without a URL every tx
 * is refused with `refusal`, which says what to do instead.
 */
export class ForwardingIntake implements TxIntake {
  /** Next nonce per sender after the txs forwarded from here, so wallets see their pending nonce. */
  private readonly forwarded = new Map<Hex, bigint>();

  constructor(
    private readonly common: Common,
    private readonly blockGasLimit: bigint,
    private readonly sequencerRpc: string | undefined,
    private readonly refusal: string,
  ) {}

  async add(raw: Uint8Array): Promise<AddOutcome> {
    if (!this.sequencerRpc) throw serverError(this.refusal);
    // The stateless checks here, with the sequencer's words: bad input never leaves this node.
    const { tx, sender } = decodeAndCheck(raw, this.common, mempoolDefaults, this.blockGasLimit);
    let body: { result?: Hex; error?: { code: number; message: string; data?: unknown } };
    try {
      const res = await fetch(this.sequencerRpc, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'eth_sendRawTransaction',
          params: [toHex(raw)],
        }),
        // A target that hangs must not hold the caller's request (and its socket) for ever.
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw serverError(
        `the sequencer at ${this.sequencerRpc} is unreachable: ${(err as Error).message}; try again`,
      );
    }
    if (body.error) throw new RpcError(body.error.code, body.error.message, body.error.data);
    if (!body.result) throw serverError('the sequencer answered without a tx hash');
    const next = tx.nonce + 1n;
    if (next > (this.forwarded.get(sender) ?? 0n)) this.forwarded.set(sender, next);
    return { hash: body.result, status: 'pending' };
  }

  get(): undefined {
    return undefined;
  }

  pendingNonce(sender: Hex, stateNonce: bigint): bigint {
    const forwarded = this.forwarded.get(sender);
    if (forwarded === undefined || forwarded <= stateNonce) {
      this.forwarded.delete(sender);
      return stateNonce;
    }
    return forwarded;
  }

  onNewPending(): () => void {
    return () => {};
  }

  /** Nothing is held here: txs go straight on to the sequencer. */
  inspect(): [] {
    return [];
  }
}
