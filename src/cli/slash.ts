import type { Command } from 'commander';
import type { Hex } from 'viem';
import { commitProofFromJson } from '../consensus/certificate.js';
import { slashConflictingPreconfirmations, slashContradictedPreconfirmation } from '../l1/slash.js';
import { isPrivateKey, readDeploymentFile, readJsonFile } from './flags.js';

interface SlashFlags {
  l1Rpc: string;
  l1Deployment: string;
  preconfirmation: string;
  privateKey?: string;
  against?: string;
}

/**
 * `seqnet slash`: a user holding a preconfirmation that L1 contradicts gets the double signers
 * slashed (DECISIONS.md §5), without running a node.
 */
export function registerSlash(program: Command): void {
  program
    .command('slash')
    .description(
      "check a preconfirmation (seqnet_getPreconfirmation's answer, as JSON) against the commit proofs of the batches on L1; a certificate there for the same view on another block slashes every member that signed both (Slasher.slashConflictingCertificates)",
    )
    .requiredOption('--l1-rpc <url>', 'L1 JSON-RPC endpoint')
    .requiredOption(
      '--l1-deployment <file>',
      'the L1 deployment JSON (Inbox, CommitteeVerifier, election contracts)',
    )
    .requiredOption(
      '--preconfirmation <file>',
      "the preconfirmation: seqnet_getPreconfirmation's result (or just its proof)",
    )
    .option(
      '--against <file>',
      'another preconfirmation (JSON, as --preconfirmation): compare the two with each other instead of with the batches on L1',
    )
    .option(
      '--private-key <hex>',
      'the L1 key that reports and receives the reward (or env SEQNET_REPORTER_KEY)',
    )
    .action(async (flags: SlashFlags) => {
      const key = flags.privateKey ?? process.env.SEQNET_REPORTER_KEY;
      if (!key || !isPrivateKey(key))
        throw new Error(
          'pass the reporter L1 key as --private-key 0x… (32 bytes hex) or in SEQNET_REPORTER_KEY',
        );
      const deployment = readDeploymentFile(flags.l1Deployment);
      const readProof = (file: string) => {
        const json = readJsonFile(file, 'preconfirmation') as { proof?: unknown } | null;
        try {
          return commitProofFromJson(json && typeof json === 'object' && 'proof' in json ? json.proof : json);
        } catch (err) {
          throw new Error(`${file} is not a preconfirmation: ${(err as Error).message}`);
        }
      };
      const proof = readProof(flags.preconfirmation);
      const print = (outcome: object): void =>
        console.log(JSON.stringify(outcome, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
      if (flags.against) {
        const pair = await slashConflictingPreconfirmations({
          l1Url: flags.l1Rpc,
          deployment,
          proofs: [proof, readProof(flags.against)],
          key: key as Hex,
        });
        print(pair);
        if (pair.verdict === 'no-conflict')
          console.error('the two preconfirmations certify no two blocks in one view: nothing to slash');
        if (pair.verdict === 'contradicted-other-view')
          console.error(
            `the two preconfirmations certify different blocks at height ${pair.height}, in different views: broken, but only one view's double signing is slashable (DECISIONS.md §5)`,
          );
        return;
      }
      const outcome = await slashContradictedPreconfirmation({
        l1Url: flags.l1Rpc,
        deployment,
        proof,
        key: key as Hex,
        onProgress: (read, batches) => console.error(`reading the batches on L1: ${read} of ${batches}…`),
      });
      print(outcome);
      if (outcome.verdict === 'no-conflict')
        console.error(
          `no certificate on L1 names another block in this preconfirmation's views (${outcome.checkedQcs} posted QCs checked): nothing to slash`,
        );
      if (outcome.verdict === 'contradicted-other-view')
        console.error(
          `batch ${outcome.batchIndex} on L1 certifies another block at this height, in other views: the preconfirmation is broken, but only one view's double signing is slashable (DECISIONS.md §5)`,
        );
    });
}
