import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

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
