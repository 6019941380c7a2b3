import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ContractArtifact {
  abi: unknown[];
  bytecode: `0x${string}`;
  /** Runtime code, for predeploys placed in genesis. */
  deployedBytecode: `0x${string}`;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = join(root, '.cache', 'contracts');

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  contracts: Record<
    string,
    Record<
      string,
      { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
    >
  >;
}

/**
 * Compiles a Solidity file under contracts/ (with its imports, resolved under contracts/) with
 * solc-js and caches the artifact by the hash of every source read, so repeated runs do not pay the
 * compile (~1–2 s).
 */
export function compileContract(relPath: string, contractName: string): ContractArtifact {
  return compileContracts(relPath, [contractName])[contractName];
}

/**
 * Artifacts this process has compiled or read, by file and names. A node asks for ABIs on every L1
 * poll (the committee installer, the certificate watcher, the election readers): reading every source,
 * hashing it and parsing the cached JSON took ~2 ms of the main thread each time, ~1 % of a pos-epochs
 * member's CPU (a profile of `bench/modes.ts`). The sources do not change under a running process.
 */
const compiled = new Map<string, Record<string, ContractArtifact>>();

/** As compileContract, for several contracts of one file and its imports (artifacts: read-only). */
export function compileContracts(relPath: string, names: string[]): Record<string, ContractArtifact> {
  const memoKey = `${relPath}\0${names.join(',')}`;
  const known = compiled.get(memoKey);
  if (known) return known;
  const out = compileFromSources(relPath, names);
  compiled.set(memoKey, out);
  return out;
}

function compileFromSources(relPath: string, names: string[]): Record<string, ContractArtifact> {
  const sources = collectSources(relPath);
  const hash = createHash('sha256');
  for (const [p, src] of Object.entries(sources).sort()) hash.update(p).update(src);
  const key = hash.update(names.join(',')).update('v2').digest('hex').slice(0, 16);
  const cached = join(cacheDir, `${names.join('-').slice(0, 60)}-${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as Record<string, ContractArtifact>;
  const require = createRequire(import.meta.url);
  const solc = require('solc') as { compile(input: string): string };
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([p, content]) => [p, { content }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'prague',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const out: Record<string, ContractArtifact> = {};
  for (const name of names) {
    const file = Object.keys(output.contracts).find((f) => output.contracts[f][name]);
    if (!file) throw new Error(`${name} not found in ${relPath} or its imports`);
    const c = output.contracts[file][name];
    out[name] = {
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    };
  }
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cached, JSON.stringify(out));
  return out;
}

/** The file and everything it imports (relative imports only), keyed by path under contracts/. */
function collectSources(relPath: string, acc: Record<string, string> = {}): Record<string, string> {
  if (acc[relPath] !== undefined) return acc;
  const content = readFileSync(join(root, 'contracts', relPath), 'utf8');
  acc[relPath] = content;
  for (const m of content.matchAll(/import\s+(?:\{[^}]*\}\s+from\s+)?"(\.\.?\/[^"]+)"/g)) {
    collectSources(join(dirname(relPath), m[1]), acc);
  }
  return acc;
}
