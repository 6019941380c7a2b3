import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ContractArtifact {
  abi: unknown[];
  bytecode: `0x${string}`;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = join(root, '.cache', 'contracts');

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

/**
 * Compiles a Solidity file under contracts/ with solc-js and caches the artifact by source hash,
 * so repeated test runs do not pay the ~2 s compile.
 */
export function compileContract(relPath: string, contractName: string): ContractArtifact {
  const path = join(root, 'contracts', relPath);
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256').update(source).update(contractName).digest('hex').slice(0, 16);
  const cached = join(cacheDir, `${contractName}-${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as ContractArtifact;
  const require = createRequire(import.meta.url);
  const solc = require('solc') as { compile(input: string): string };
  const input = {
    language: 'Solidity',
    sources: { [relPath]: { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'prague',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const c = output.contracts[relPath]?.[contractName];
  if (!c) throw new Error(`${contractName} not found in ${relPath}`);
  const artifact: ContractArtifact = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cached, JSON.stringify(artifact));
  return artifact;
}
