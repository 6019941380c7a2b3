import '../polyfill.js';
import { Command } from 'commander';
import { registerCheckPreconf } from './check-preconf.js';
import { registerCheckPromise } from './check-promise.js';
import { registerDeploy } from './deploy.js';
import { registerDevnet } from './devnet.js';
import { registerForceTx } from './force-tx.js';
import { registerKeys } from './keys.js';
import { registerNode } from './node.js';
import { registerSlash } from './slash.js';
import { registerStake } from './stake.js';
import { registerVerify } from './verify.js';

const program = new Command()
  .name('seqnet')
  .description('seqnet: a decentralised sequencer network for Ethereum L2 rollups')
  .version('0.1.0');
registerDevnet(program);
registerNode(program);
registerDeploy(program);
registerVerify(program);
registerKeys(program);
registerStake(program);
registerSlash(program);
registerForceTx(program);
registerCheckPromise(program);
registerCheckPreconf(program);

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`seqnet: ${err.message}`);
  process.exit(1);
});
