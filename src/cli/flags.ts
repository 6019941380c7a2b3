import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { type DataAvailability, dataAvailabilityModes } from '../batcher/batcher.js';
import { devChainOptions } from '../execution/genesis.js';
import type { L1Deployment } from '../l1/deploy.js';
import { type MempoolOptions, mempoolDefaults } from '../mempool/options.js';
import type { NodeOptions } from '../node/options.js';
import { nodeDefaults } from '../node/options.js';
import { orderingPolicies } from '../ordering/index.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
};

/** A private key as the CLI takes it: 0x and 32 bytes of hex. */
export const isPrivateKey = (v: string): v is Hex => /^0x[0-9a-fA-F]{64}$/.test(v);

/** Reads a JSON file the user named (`what` says which, in the error when it cannot be read). */
export function readJsonFile(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Reads an L1 deployment JSON, with an error that says where one comes from. */
export function readDeploymentFile(file: string): L1Deployment {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as L1Deployment;
  } catch (err) {
    throw new Error(
      `cannot read the deployment ${file}: ${(err as Error).message}; pass the JSON that \`seqnet deploy\` wrote (or <data-dir>/l1-deployment.json of a devnet)`,
    );
  }
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Flags shared by `devnet` and `node`; each maps one to one onto a module's options. */
export function addNodeFlags(cmd: Command): Command {
  cmd
    .option('--data-dir <dir>', 'where the chain, mempool and keys live', '.data/devnet')
    .option('--config <file>', 'JSON file with these options (flags override it)')
    .option('--chain-id <id>', 'the rollup chain id', int('chain-id'), 42069)
    .option('--rpc-host <host>', 'JSON-RPC / dashboard listen address', '127.0.0.1')
    .option('--rpc-port <port>', 'JSON-RPC (HTTP + WebSocket) and dashboard port', int('rpc-port'), 9545)
    .option('--block-time <ms>', 'ms between blocks; 0 = seal as soon as txs arrive', int('block-time'), 250)
    .option(
      '--ordering <policy>',
      `block ordering policy: ${Object.keys(orderingPolicies).join(' | ')}`,
      'fcfs',
    )
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--da <mode>', `where batches go on L1: ${dataAvailabilityModes.join(' | ')}`, 'calldata')
    .option(
      '--misbehave.censor <addresses>',
      'TESTING ONLY: never include txs from these senders (comma-separated)',
    )
    .option(
      '--misbehave.omit-forced-txs',
      'TESTING ONLY: leave L1-forced txs out of blocks (a censoring builder)',
    );
  for (const key of Object.keys(mempoolDefaults) as Array<keyof MempoolOptions>) {
    cmd.option(`--mempool.${kebab(key)} <n>`, `mempool ${key} (default ${mempoolDefaults[key]})`);
  }
  return cmd;
}

export interface CommonFlags {
  dataDir: string;
  config?: string;
  chainId: number;
  rpcHost: string;
  rpcPort: number;
  blockTime: number;
  ordering: string;
  logLevel: string;
  da: string;
  [key: string]: unknown;
}

/** Turns parsed flags (and an optional JSON config file) into NodeOptions. */
export function nodeOptionsFromFlags(flags: CommonFlags, cmd: Command): NodeOptions {
  const file = flags.config
    ? (JSON.parse(readFileSync(flags.config, 'utf8')) as Record<string, unknown>)
    : {};
  const pick = <T>(name: string, flagValue: T): T => {
    const fromCli = cmd.getOptionValueSource(name) === 'cli';
    return fromCli || file[name] === undefined ? flagValue : (file[name] as T);
  };
  if (!orderingPolicies[pick('ordering', flags.ordering)]) {
    throw new Error(
      `unknown --ordering "${flags.ordering}"; choose one of: ${Object.keys(orderingPolicies).join(', ')}`,
    );
  }
  const da = pick('da', flags.da) as DataAvailability;
  if (!dataAvailabilityModes.includes(da))
    throw new Error(`unknown --da "${da}"; choose one of: ${dataAvailabilityModes.join(', ')}`);
  const mempool: MempoolOptions = { ...mempoolDefaults };
  const fileMempool = (file.mempool ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(mempoolDefaults) as Array<keyof MempoolOptions>) {
    const raw =
      (flags as Record<string, unknown>)[`mempool.${kebab(key)}`] ??
      (flags as Record<string, unknown>)[`mempool.${key}`] ??
      fileMempool[key];
    if (raw === undefined) continue;
    const text = String(raw);
    if (!/^\d+$/.test(text))
      throw new Error(`--mempool.${kebab(key)} must be a non-negative integer, got "${text}"`);
    (mempool as unknown as Record<string, number | bigint>)[key] =
      key === 'rpcTxFeeCap' ? BigInt(text) : Number(text);
  }
  return {
    dataDir: pick('dataDir', flags.dataDir),
    chain: devChainOptions({ chainId: BigInt(pick('chainId', flags.chainId)) }),
    mempool,
    sequencer: {
      ...nodeDefaults.sequencer,
      blockTimeMs: pick('blockTime', flags.blockTime),
      misbehave: misbehaviour(flags),
    },
    rpc: { ...nodeDefaults.rpc, host: pick('rpcHost', flags.rpcHost), port: pick('rpcPort', flags.rpcPort) },
    ordering: pick('ordering', flags.ordering),
    da,
  };
}

function misbehaviour(flags: CommonFlags): { censorSenders?: string[]; omitForcedTxs?: boolean } | undefined {
  const censor = flags['misbehave.censor'] as string | undefined;
  const omit = flags['misbehave.omitForcedTxs'] === true || flags['misbehave.omit-forced-txs'] === true;
  if (!censor && !omit) return undefined;
  const senders = censor ? censor.split(',').map((a) => a.trim()) : undefined;
  for (const a of senders ?? []) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw new Error(`--misbehave.censor: "${a}" is not an address`);
  }
  return { censorSenders: senders, omitForcedTxs: omit };
}
