import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Hex } from 'viem';
import type { ForceTxResult } from '../../src/cli/force-tx.js';

const root = resolve(import.meta.dirname, '../..');

/** Runs `seqnet ARGS…` (src/cli/main.ts) to its end: exit code, stdout and stderr. */
export function runSeqnet(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d.toString();
    });
    p.stderr.on('data', (d) => {
      err += d.toString();
    });
    p.once('exit', (code) => done({ code, out, err }));
  });
}

/**
 * `seqnet force-tx` as a censored user runs it, against a devnet's L1 (its data dir's deployment file)
 * and one of its nodes: a transfer of 0.001 ETH to itself, signed with `key`, which pays the L1 gas too.
 * Its JSON result when it exits 0.
 */
export async function forceSelfTransfer(o: {
  l1Rpc: string;
  dataDir: string;
  key: Hex;
  address: Hex;
  rpc: string;
}): Promise<{ result?: ForceTxResult; err: string; code: number | null }> {
  const r = await runSeqnet([
    'force-tx',
    '--l1-rpc',
    o.l1Rpc,
    '--l1-deployment',
    join(o.dataDir, 'l1-deployment.json'),
    '--private-key',
    o.key,
    '--rpc',
    o.rpc,
    '--to',
    o.address,
    '--value',
    '0.001',
  ]);
  return { ...(r.code === 0 && { result: JSON.parse(r.out) as ForceTxResult }), err: r.err, code: r.code };
}
