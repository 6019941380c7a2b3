import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pollRpc } from '../util/poll-rpc.js';

export interface AnvilOptions {
  host: string;
  port: number;
  chainId: number;
  /** Seconds between L1 blocks; 0 = automine (a block per tx). */
  blockTime: number;
  /**
   * Slots per epoch (anvil's default 32): its `safe` block is one epoch below the head, `finalized`
   * two, as on Ethereum.
   */
  slotsInAnEpoch?: number;
  /** Load and save L1 state here so a devnet restart resumes. */
  statePath?: string;
  extraArgs?: string[];
}

/** Finds anvil: the `@foundry-rs/anvil-linux-amd64` package's binary, else `anvil` on PATH. */
export function anvilBinary(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
    const bin = join(dirname(pkg), 'bin', 'anvil');
    if (existsSync(bin)) return bin;
  } catch {
    // optional dependency not installed on this platform
  }
  return 'anvil';
}

/** The embedded dev L1: a real anvil process (Prague: BLS precompiles, blobs). */
export class Anvil {
  private constructor(
    readonly process: ChildProcess,
    readonly url: string,
  ) {}

  static async start(opts: AnvilOptions): Promise<Anvil> {
    const args = [
      '--host',
      opts.host,
      '--port',
      String(opts.port),
      '--chain-id',
      String(opts.chainId),
      '--hardfork',
      'prague',
      ...(opts.blockTime > 0 ? ['--block-time', String(opts.blockTime)] : []),
      ...(opts.slotsInAnEpoch ? ['--slots-in-an-epoch', String(opts.slotsInAnEpoch)] : []),
      ...(opts.statePath ? ['--state', opts.statePath] : []),
      ...(opts.extraArgs ?? []),
    ];
    const bin = anvilBinary();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = `http://${opts.host}:${opts.port}`;
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d.toString();
    });
    child.stdout?.resume();
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(
          new Error(
            `could not start anvil (${bin}): ${err.message}; run npm ci, or put foundry's anvil on PATH`,
          ),
        ),
      );
      child.once('exit', (code) =>
        reject(new Error(`anvil exited with code ${code}: ${stderr.trim().slice(-500)}`)),
      );
    });
    await Promise.race([waitForRpc(url, 20_000), exited]);
    return new Anvil(child, url);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const done = new Promise((resolve) => this.process.once('exit', resolve));
    // SIGINT lets anvil write its --state file.
    this.process.kill('SIGINT');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(timer);
  }
}

export async function waitForRpc(url: string, timeoutMs: number): Promise<void> {
  if (await pollRpc(url, 'eth_chainId', [], (res) => res.ok, timeoutMs)) return;
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}
