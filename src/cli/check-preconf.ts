import type { Command } from 'commander';
import {
  type PreconfirmationEvidence,
  preconfirmationEvidenceFromJson,
  verifyPreconfirmation,
} from '../consensus/preconfirmation.js';
import { committeeReader } from '../l1/slash.js';
import { decodeSequencedBlock } from '../types/sequenced-block.js';
import { readDeploymentFile, readJsonFile } from './flags.js';

interface CheckPreconfFlags {
  l1Rpc: string;
  l1Deployment: string;
  preconfirmation: string;
}

/**
 * `seqnet check-preconf`: a user holding a committee's preconfirmation with its blocks
 * (`seqnet_getPreconfirmation(txHash, true)`) checks it without a node, against the committee that the
 * CommitteeVerifier on L1 holds for the proof's epoch — not the keys whoever served it names. Exit 0
 * valid, 2 invalid, 1 bad input.
 */
export function registerCheckPreconf(program: Command): void {
  program
    .command('check-preconf')
    .description(
      "check a committee's preconfirmation (seqnet_getPreconfirmation(txHash, true)'s answer, as JSON) offline: the tx is at its index in its block, the blocks link up to the one the commit proof commits, and the proof verifies against the committee the CommitteeVerifier on L1 holds",
    )
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint (to read the committee)')
    .requiredOption('--l1-deployment <file>', 'the L1 deployment JSON (its CommitteeVerifier)')
    .requiredOption(
      '--preconfirmation <file>',
      "the preconfirmation: seqnet_getPreconfirmation's result, asked with true as its second argument",
    )
    .action(async (flags: CheckPreconfFlags) => {
      const deployment = readDeploymentFile(flags.l1Deployment);
      const verifier = deployment?.contracts?.CommitteeVerifier;
      if (!verifier)
        throw new Error(
          `${flags.l1Deployment} names no CommitteeVerifier: based and free deployments have no committee (check a based promise with \`seqnet check-promise\`)`,
        );
      let evidence: PreconfirmationEvidence;
      try {
        evidence = preconfirmationEvidenceFromJson(readJsonFile(flags.preconfirmation, 'preconfirmation'));
      } catch (err) {
        throw new Error(
          `${flags.preconfirmation} is not a preconfirmation with its blocks: ${(err as Error).message}`,
        );
      }
      const epoch = evidence.proof.qcs[0].epoch;
      const committee = await committeeReader(
        flags.l1Rpc,
        verifier,
      )(epoch).catch((err: Error) => {
        throw new Error(
          `cannot read epoch ${epoch}'s committee from the CommitteeVerifier ${verifier} at ${flags.l1Rpc}: ${err.message.split('\n')[0]}`,
        );
      });
      const why = verifyPreconfirmation(evidence, committee);
      const heightOf = (raw: Uint8Array) => {
        try {
          return Number(decodeSequencedBlock(raw).height);
        } catch {
          return undefined;
        }
      };
      console.log(
        JSON.stringify(
          {
            transactionHash: evidence.transactionHash,
            transactionIndex: evidence.transactionIndex,
            blockNumber: evidence.sequencedBlocks[0] && heightOf(evidence.sequencedBlocks[0]),
            sequencedBlockHash: evidence.sequencedBlockHash,
            proofHeight: Number(evidence.proof.height),
            blocks: evidence.sequencedBlocks.length,
            epoch: Number(epoch),
            committee: { size: committee.publicKeys.length, quorum: committee.quorum, source: verifier },
            status: why === null ? 'valid' : 'invalid',
            ...(why === null ? {} : { reason: why }),
          },
          null,
          2,
        ),
      );
      if (why !== null) {
        console.error(`seqnet: not a valid preconfirmation of this committee: ${why}`);
        process.exitCode = 2;
      }
    });
}
