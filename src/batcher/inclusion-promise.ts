import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import {
  type Abi,
  type Hex,
  isAddress,
  isHex,
  keccak256,
  type PublicClient,
  parseSignature,
  recoverTypedDataAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { BATCH_POSTED, type BatchDataFetcher, calldataFetcher } from '../derive/batch-retrieval.js';
import { decodeTxBatch } from './codec.js';

/**
 * `based` preconfirmations (issue 5: "preconfirmations come from opted-in proposers only"). No
 * committee orders a based chain, so no commit proof exists before L1 does; a submitter that opts in
 * (`seqnet node --preconf`) promises instead, for each tx it accepts, that a batch it posts carrying
 * the tx lands on L1 by a deadline. The promise is an EIP-712 signature by the submitter's
 * L1 key (the key that posts, so the promise names who must keep it), and anyone can check it
 * offline (`verifyInclusionPromise`) and later against L1 alone (`checkInclusionPromise`).
 *
 * It promises *inclusion* of the tx's bytes in the poster's batch, not a position or a result: L1
 * inclusion order decides where the batch's block lands among other submitters' batches, and the tx
 * executes there if it is still valid (DECISIONS.md §5: breaking a promise is not slashed).
 */

/** L1 blocks from the L1 head at the promise to its deadline (~2.4 min on Ethereum, 12 s on the devnet). */
export const INCLUSION_PROMISE_WINDOW = 12n;

export const INCLUSION_PROMISE_TYPES = {
  InclusionPromise: [
    { name: 'l2ChainId', type: 'uint64' },
    { name: 'txHash', type: 'bytes32' },
    { name: 'issuedAtL1Block', type: 'uint64' },
    { name: 'deadlineL1Block', type: 'uint64' },
  ],
} as const;

/** The EIP-712 domain: the L1 and the OpenInbox the batch is promised to. */
export function inclusionPromiseDomain(l1ChainId: bigint, inbox: Hex) {
  return {
    name: 'seqnet inclusion promise',
    version: '1',
    chainId: l1ChainId,
    verifyingContract: inbox,
  } as const;
}

/** What `seqnet_getPreconfirmation` serves on an opted-in `based` node (quantities as hex). */
export interface InclusionPromiseJson {
  kind: 'inclusion';
  transactionHash: Hex;
  l2ChainId: Hex;
  l1ChainId: Hex;
  /** The OpenInbox. */
  inbox: Hex;
  /** The L1 account that promises, and whose batch must carry the tx. */
  poster: Hex;
  /** The L1 block the submitter had seen last when it promised (its safe head on arrival, else the head). */
  issuedAtL1Block: Hex;
  /** The batch is on L1 at or below this block. */
  deadlineL1Block: Hex;
  /** EIP-712 signature by `poster` over the fields above. */
  signature: Hex;
}

interface Made {
  issuedAt: bigint;
  deadline: bigint;
  signature?: Hex;
}

/**
 * The promises one submitter made: recorded when a tx is promised (a map write and, with a journal,
 * one write(2); no signing on the intake or posting path), signed the first time someone asks for one.
 *
 * The journal (JSON lines, as the mempool's journal: no fsync, so a promise survives the process being
 * killed, not a power cut — nor would the tx it is for) lets a restarted submitter serve the promises
 * it made and carry their txs first (`restored`).
 */
export class InclusionPromises {
  private readonly made = new Map<Hex, Made>();
  private readonly account;
  private fd?: number;
  private appended = 0;
  /** Promises read back from the journal at start. */
  readonly restored: Hex[] = [];

  constructor(
    private readonly opts: {
      key: Hex;
      l2ChainId: bigint;
      l1ChainId: bigint;
      inbox: Hex;
      /** Promises kept in memory (the oldest are forgotten; their holders have them). */
      limit?: number;
      /** Where the promises are journaled (a restarted submitter reads them back). */
      journal?: string;
    },
  ) {
    this.account = privateKeyToAccount(opts.key);
    if (opts.journal) {
      for (const line of existsSync(opts.journal) ? readFileSync(opts.journal, 'utf8').split('\n') : []) {
        try {
          const r = JSON.parse(line) as { p: Hex; h: Hex; i: string; d: string };
          // Another key's promises (the node's L1 key changed) are not this poster's to serve.
          if (r.p === this.account.address && /^0x[0-9a-f]{64}$/i.test(r.h) && !this.made.has(r.h)) {
            this.made.set(r.h, { issuedAt: BigInt(r.i), deadline: BigInt(r.d) });
            this.restored.push(r.h);
          }
        } catch {
          // a torn last line (killed mid-write), or an empty one
        }
      }
      this.rewrite();
    }
  }

  /** Rewrites the journal with the promises remembered (fsync, rename), dropping the forgotten ones. */
  private rewrite(): void {
    const path = this.opts.journal;
    if (!path) return;
    const tmp = `${path}.new`;
    const fd = openSync(tmp, 'w');
    for (const [h, m] of this.made) writeSync(fd, this.line(h, m));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(path, 'a');
    this.appended = 0;
  }

  private line(h: Hex, m: Made): string {
    return `${JSON.stringify({ p: this.account.address, h, i: String(m.issuedAt), d: String(m.deadline) })}\n`;
  }

  /** Closes the journal. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The L1 the promises are signed for (their EIP-712 domain). */
  get l1ChainId(): bigint {
    return this.opts.l1ChainId;
  }

  get size(): number {
    return this.made.size;
  }

  /** Whether this submitter promised `txHash` (and still remembers it). */
  has(txHash: Hex): boolean {
    return this.made.has(txHash);
  }

  /**
   * Promises these txs now (on arrival, or as they go into a batch), at L1 block `l1Head`. A tx promised before keeps its first
   * promise (one posted again after its batch was passed over is still bound by it). Returns how many
   * were promised now.
   */
  promise(txHashes: readonly Hex[], l1Head: bigint): number {
    let fresh = '';
    let count = 0;
    for (const h of txHashes)
      if (!this.made.has(h)) {
        const m = { issuedAt: l1Head, deadline: l1Head + INCLUSION_PROMISE_WINDOW };
        this.made.set(h, m);
        fresh += this.line(h, m);
        count++;
      }
    const limit = this.opts.limit ?? 100_000;
    for (const h of this.made.keys()) {
      if (this.made.size <= limit) break;
      this.made.delete(h);
    }
    if (this.fd !== undefined && count > 0) {
      writeSync(this.fd, fresh);
      this.appended += count;
      if (this.appended > 2 * limit) this.rewrite();
    }
    return count;
  }

  /** The signed promise for `txHash`, or undefined when this submitter made none. */
  async get(txHash: Hex): Promise<InclusionPromiseJson | undefined> {
    const made = this.made.get(txHash);
    if (!made) return undefined;
    const { l2ChainId, l1ChainId, inbox } = this.opts;
    made.signature ??= await this.account.signTypedData({
      domain: inclusionPromiseDomain(l1ChainId, inbox),
      types: INCLUSION_PROMISE_TYPES,
      primaryType: 'InclusionPromise',
      message: { l2ChainId, txHash, issuedAtL1Block: made.issuedAt, deadlineL1Block: made.deadline },
    });
    return {
      kind: 'inclusion',
      transactionHash: txHash,
      l2ChainId: quantity(l2ChainId),
      l1ChainId: quantity(l1ChainId),
      inbox,
      poster: this.account.address,
      issuedAtL1Block: quantity(made.issuedAt),
      deadlineL1Block: quantity(made.deadline),
      signature: made.signature,
    };
  }
}

const quantity = (n: bigint): Hex => `0x${n.toString(16)}`;

/** A promise's fields, checked and parsed; throws with what is wrong. */
function parsePromise(p: InclusionPromiseJson) {
  const field = (name: keyof InclusionPromiseJson, ok: (v: unknown) => boolean) => {
    if (!ok(p[name])) throw new Error(`inclusion promise: bad or missing "${name}"`);
    return p[name] as Hex;
  };
  const isQuantity = (v: unknown) => typeof v === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(v);
  const isHash = (v: unknown) => typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v);
  if (p?.kind !== 'inclusion') throw new Error('inclusion promise: "kind" is not "inclusion"');
  const signature = field('signature', (v) => isHex(v) && (v as string).length === 132);
  parseSignature(signature);
  return {
    txHash: field('transactionHash', isHash),
    l2ChainId: BigInt(field('l2ChainId', isQuantity)),
    l1ChainId: BigInt(field('l1ChainId', isQuantity)),
    inbox: field('inbox', (v) => typeof v === 'string' && isAddress(v)),
    poster: field('poster', (v) => typeof v === 'string' && isAddress(v)),
    issuedAt: BigInt(field('issuedAtL1Block', isQuantity)),
    deadline: BigInt(field('deadlineL1Block', isQuantity)),
    signature,
  };
}

/**
 * Offline: whether `poster` signed this promise (EIP-712 recovery). Throws on a malformed promise;
 * false when the signature is someone else's or the fields were changed.
 */
export async function verifyInclusionPromise(p: InclusionPromiseJson): Promise<boolean> {
  const f = parsePromise(p);
  const signer = await recoverTypedDataAddress({
    domain: inclusionPromiseDomain(f.l1ChainId, f.inbox),
    types: INCLUSION_PROMISE_TYPES,
    primaryType: 'InclusionPromise',
    message: {
      l2ChainId: f.l2ChainId,
      txHash: f.txHash,
      issuedAtL1Block: f.issuedAt,
      deadlineL1Block: f.deadline,
    },
    signature: f.signature,
  });
  return signer.toLowerCase() === f.poster.toLowerCase();
}

export type InclusionPromiseOutcome =
  | { status: 'kept'; l1Block: bigint; l1Tx: Hex; batchIndex: bigint }
  | { status: 'broken'; l1Head: bigint }
  | { status: 'pending'; l1Head: bigint };

/**
 * Against L1 alone: kept when a batch that `poster` posted to the inbox between the promise
 * and its deadline carries the tx; broken when the deadline has passed without one; pending before.
 */
export async function checkInclusionPromise(
  pub: PublicClient,
  inboxAbi: Abi,
  p: InclusionPromiseJson,
  /** Reads blob batches (`blobFetcher`); without it only calldata batches are looked in. */
  blobs?: BatchDataFetcher,
): Promise<InclusionPromiseOutcome> {
  const f = parsePromise(p);
  const l1Head = await pub.getBlockNumber();
  const toBlock = l1Head < f.deadline ? l1Head : f.deadline;
  const logs =
    toBlock < f.issuedAt
      ? []
      : await pub.getLogs({ address: f.inbox, event: BATCH_POSTED, fromBlock: f.issuedAt, toBlock });
  const calldata = calldataFetcher(inboxAbi);
  for (const log of logs) {
    if (log.blockNumber === null || log.transactionHash === null) continue;
    const fetch = log.args.blobs ? blobs : calldata;
    if (!fetch) continue;
    const tx = await pub.getTransaction({ hash: log.transactionHash });
    if (tx.from.toLowerCase() !== f.poster.toLowerCase()) continue;
    const index = log.args.index ?? 0n;
    const data = await fetch(pub, {
      txHash: log.transactionHash,
      index,
      dataHash: log.args.dataHash ?? '0x',
    });
    let txs: Uint8Array[];
    try {
      txs = decodeTxBatch(data);
    } catch {
      continue;
    }
    if (txs.some((raw) => keccak256(raw) === f.txHash))
      return { status: 'kept', l1Block: log.blockNumber, l1Tx: log.transactionHash, batchIndex: index };
  }
  return l1Head >= f.deadline ? { status: 'broken', l1Head } : { status: 'pending', l1Head };
}
