import type { Command } from 'commander';
import { loadOrCreateKeys } from '../node/keys.js';
import { loadOrCreateNodeKey, nodeKeyPath } from '../p2p/keys.js';

/** `seqnet keys`: makes (or shows) a node's BLS signing key and libp2p key; prints what the committee file needs. */
export function registerKeys(program: Command): void {
  program
    .command('keys')
    .description(
      "create a node's keys in its data dir (BLS for votes, Ed25519 for libp2p) and print its public identity",
    )
    .option('--data-dir <dir>', 'the node data dir the keys live in', '.data/devnet')
    .action(async (flags: { dataDir: string }) => {
      const bls = loadOrCreateKeys(flags.dataDir);
      const p2p = await loadOrCreateNodeKey(nodeKeyPath(flags.dataDir));
      console.log(
        JSON.stringify(
          { blsPublicKey: bls.blsPublicKey, peerId: p2p.peerId, dataDir: flags.dataDir },
          null,
          2,
        ),
      );
      console.error(
        `[keys] ${p2p.created ? 'created' : 'found'} keys in ${flags.dataDir}/keys (keep them private; mode 0600). Put the line above in every member's committee file.`,
      );
    });
}
