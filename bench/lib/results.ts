import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Writes a benchmark's figures as JSON to `path` (its folder made if needed) and prints them. */
export function writeResult(path: string, result: unknown): void {
  const out = resolve(path);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  console.error(`written to ${path}`);
}

/** The seqnet commit a checkout at `root` runs (and whether its src/ has uncommitted changes). */
export function seqnetVersion(root: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', 'src'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    return `seqnet@${head}${dirty ? ' + uncommitted src/ changes' : ''}`;
  } catch {
    return 'unknown';
  }
}
