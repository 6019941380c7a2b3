/**
 * What a node says when it cannot bind its RPC port, and how a caller that picked the port recognises
 * that (test and bench clusters pick free ports, then the nodes bind them: another process can take
 * one in between, and they start again with new ports).
 */
export const rpcPortInUseMessage = (host: string, port: number): string =>
  `the RPC port ${host}:${port} is in use (another seqnet node or devnet?): stop it or pass another --rpc-port`;

/** A port taken: the node's own words for its RPC port, EADDRINUSE from libp2p's and anvil's listeners. */
export const PORT_TAKEN = /EADDRINUSE|address already in use|port \S+ is in use/i;
