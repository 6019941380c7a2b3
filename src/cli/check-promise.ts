import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Abi, createPublicClient, http } from 'viem';
import {
  checkInclusionPromise,
  type InclusionPromiseJson,
  verifyInclusionPromise,
} from '../batcher/inclusion-promise.js';
import { blobFetcher } from '../derive/batch-retrieval.js';
import { openInboxArtifact } from '../l1/deploy.js';

interface CheckPromiseFlags {
  l1Rpc: string;
  promise: string;
}

/**
 * `seqnet check-promise`: a user holding a `based` submitter's inclusion promise checks it without a
 * node — the signature offline, then L1: kept (a batch from the poster carries the tx by the deadline),
 * broken (the deadline passed without one), or pending. Exit 0 kept or pending, 2 broken or not the
 * poster's signature, 1 bad input.
 */
export function registerCheckPromise(program: Command): void {
  program
    .command('check-promise')
    .description(
      "check a based submitter's inclusion promise (seqnet_getPreconfirmation's answer from a node run with --preconf, as JSON): its signature offline, then whether the poster's batch carried the tx to L1 by the deadline",
    )
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .requiredOption('--promise <file>', "the promise: seqnet_getPreconfirmation's result")
    .action(async (flags: CheckPromiseFlags) => {
      let promise: InclusionPromiseJson;
      try {
        promise = JSON.parse(readFileSync(flags.promise, 'utf8')) as InclusionPromiseJson;
      } catch (err) {
        throw new Error(`cannot read the promise ${flags.promise}: ${(err as Error).message}`);
      }
      if (promise === null || typeof promise !== 'object' || promise.kind !== 'inclusion')
        throw new Error(
          `${flags.promise} is not an inclusion promise (kind "inclusion"): a committee's preconfirmation is a commit proof, checked by \`seqnet slash --preconfirmation\``,
        );
      const signed = await verifyInclusionPromise(promise);
      const pub = createPublicClient({ transport: http(flags.l1Rpc, { retryCount: 0, timeout: 10_000 }) });
      const l1ChainId = BigInt(await pub.getChainId());
      if (l1ChainId !== BigInt(promise.l1ChainId))
        throw new Error(
          `the promise is for L1 chain ${BigInt(promise.l1ChainId)}, and ${flags.l1Rpc} is chain ${l1ChainId}: pass the L1 the rollup posts to`,
        );
      const abi = openInboxArtifact().abi as Abi;
      const outcome = await checkInclusionPromise(pub, abi, promise, blobFetcher(flags.l1Rpc, abi));
      const report = {
        transactionHash: promise.transactionHash,
        poster: promise.poster,
        signature: signed ? 'valid' : 'not the poster’s',
        deadlineL1Block: Number(BigInt(promise.deadlineL1Block)),
        ...(outcome.status === 'kept'
          ? {
              status: 'kept',
              l1Block: Number(outcome.l1Block),
              l1Tx: outcome.l1Tx,
              batchIndex: Number(outcome.batchIndex),
            }
          : { status: outcome.status, l1Head: Number(outcome.l1Head) }),
      };
      console.log(JSON.stringify(report, null, 2));
      if (!signed) {
        console.error('seqnet: the signature is not the poster’s: this promise binds no one');
        process.exitCode = 2;
      } else if (outcome.status === 'broken') {
        console.error(
          `seqnet: broken: no batch from ${promise.poster} carried the tx to L1 by block ${report.deadlineL1Block} (not slashable: DECISIONS.md §5 slashes equivocation only)`,
        );
        process.exitCode = 2;
      }
    });
}
