export { P2pError, P2pErrorCode } from './errors.js';
export {
  decodeNodeKey,
  generateNodeKey,
  loadNodeKey,
  loadOrCreateNodeKey,
  nodeKeyPath,
  peerIdOf,
  saveNodeKey,
} from './keys.js';
export {
  createNetwork,
  type DirectHandler,
  type GossipHandler,
  type Network,
  type NetworkOptions,
  type Verdict,
} from './network.js';
export { type P2pOptions, p2pDefaults, protocols, topics } from './options.js';
export {
  decodeTxBatch,
  encodeTxBatch,
  type TxBatchHandler,
  TxGossip,
  type TxGossipOptions,
  txGossipDefaults,
} from './tx-gossip.js';
