/**
 * An A/B of the committee bench between two versions of the code, in alternating runs on this
 * machine. On two shared cores one quick run of bench/committee.ts can differ from the next run of
 * the same code by a third (a lone tx's proof p50 49.4–70.3 ms over 16 runs of one version, stop 46):
 * a change is judged by the medians of several pairs and by how many pairs it won, never by one run.
 *
 *   npx tsx bench/ab.ts --before REV [--after REV] [--pairs 4] [--out FILE] [-- ARGS…]
 *
 * `before` is checked out at REV in a temporary git worktree that uses this checkout's
 * node_modules; `after` is this checkout as it is (uncommitted changes included), or REV in a
 * second worktree. ARGS go to bench/committee.ts (default: --quick --sizes 4 --no-recovery --rates
 * 5,50 --open-seconds 12). The pairs run ABBA (before first in pairs 1, 3, …; after first in 2, 4, …),
 * so that a drift of the machine's load over the session cancels. Writes bench/results/ab.json (or
 * --out): each run's figures and its result file, and per figure the values by pair, the medians,
 * their ratio and in how many pairs `after` was lower. Run nothing else meanwhile.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { committeeFigures, compareFigures, type Figures, firstOfPair } from './lib/ab.js';

const root = resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    before: { type: 'string' },
    after: { type: 'string' },
    pairs: { type: 'string', default: '4' },
    out: { type: 'string', default: join(root, 'bench/results/ab.json') },
  },
});
const pairs = Number(values.pairs);
if (!values.before || !Number.isInteger(pairs) || pairs < 1) {
  console.error(
    'usage: npx tsx bench/ab.ts --before REV [--after REV] [--pairs N ≥ 1] [--out FILE] [-- ARGS for bench/committee.ts]',
  );
  process.exit(2);
}
const benchArgs = positionals.length
  ? positionals
  : ['--quick', '--sizes', '4', '--no-recovery', '--rates', '5,50', '--open-seconds', '12'];

const git = (args: string[], cwd = root): string => {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
};
const revOf = (rev: string): string => git(['rev-parse', '--verify', `${rev}^{commit}`]);
/** Whether this checkout's code differs from HEAD (new files too; results and docs do not count). */
const codeChanged = (): boolean =>
  git(['status', '--porcelain', '--', 'src', 'bench/*.ts', 'bench/lib', 'contracts', 'package.json']) !== '';

const work = mkdtempSync(join(tmpdir(), 'seqnet-ab-'));
const worktrees: string[] = [];
/** A detached worktree of `rev` that runs with this checkout's node_modules. */
function worktreeAt(name: string, rev: string): string {
  const dir = join(work, name);
  git(['worktree', 'add', '--detach', '--quiet', dir, rev]);
  worktrees.push(dir);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
function cleanUp(): void {
  for (const dir of worktrees.splice(0)) {
    try {
      git(['worktree', 'remove', '--force', dir]);
    } catch (err) {
      console.error(`could not remove the worktree ${dir}: ${(err as Error).message}`);
    }
  }
}
process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});

const versions = {
  before: { rev: revOf(values.before), dir: '' },
  after: values.after
    ? { rev: revOf(values.after), dir: '' }
    : {
        rev: `${git(['rev-parse', 'HEAD'])}${codeChanged() ? ' + uncommitted changes' : ''}`,
        dir: root,
      },
};
versions.before.dir = worktreeAt('before', versions.before.rev);
if (values.after) versions.after.dir = worktreeAt('after', versions.after.rev);

/** One run of bench/committee.ts in `dir`; its log goes to a file beside its result. */
function runBench(dir: string, outFile: string): Promise<Figures> {
  return new Promise((done, fail) => {
    const log = `${outFile.replace(/\.json$/, '')}.log`;
    const child = spawn('npx', ['tsx', 'bench/committee.ts', ...benchArgs, '--out', outFile], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', fail);
    child.on('close', (code) => {
      writeFileSync(log, Buffer.concat(chunks));
      if (code !== 0 || !existsSync(outFile))
        return fail(new Error(`bench/committee.ts exited with ${code} in ${dir}; its output: ${log}`));
      done(committeeFigures(JSON.parse(readFileSync(outFile, 'utf8'))));
    });
  });
}

const headline = (f: Figures): string =>
  Object.entries(f)
    .filter(([k]) => k.endsWith('proofP50Ms'))
    .map(([k, v]) => `${k.replace(' · proofP50Ms', '')}: proof p50 ${v} ms`)
    .join(', ');

const startedAt = new Date();
const results: Array<{ before: Figures; after: Figures }> = [];
const runs: Array<{ pair: number; version: 'before' | 'after'; result: string; startedAt: string }> = [];
try {
  console.log(
    `A/B of bench/committee.ts ${benchArgs.join(' ')}: before ${versions.before.rev}, after ${versions.after.rev}; ${pairs} pairs (results and logs in ${work})`,
  );
  for (let i = 0; i < pairs; i++) {
    const first = firstOfPair(i);
    const order: Array<'before' | 'after'> = first === 'before' ? ['before', 'after'] : ['after', 'before'];
    const pair: Partial<Record<'before' | 'after', Figures>> = {};
    for (const version of order) {
      const result = join(work, `${version}-${i + 1}.json`);
      const t0 = Date.now();
      process.stdout.write(`  pair ${i + 1}/${pairs}, ${version}… `);
      runs.push({ pair: i + 1, version, result, startedAt: new Date().toISOString() });
      pair[version] = await runBench(versions[version].dir, result);
      console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s; ${headline(pair[version])}`);
    }
    results.push({ before: pair.before ?? {}, after: pair.after ?? {} });
  }
} finally {
  cleanUp();
}

const comparison = compareFigures(results);
console.log(
  '\nfigure                                             before median  after median  ratio  after lower',
);
for (const c of comparison)
  console.log(
    `${c.figure.padEnd(50)} ${String(c.beforeMedian ?? '—').padStart(13)} ${String(c.afterMedian ?? '—').padStart(13)} ${String(c.ratio ?? '—').padStart(6)}  ${c.afterLower}/${c.pairsWithBoth}`,
  );
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(
  values.out,
  `${JSON.stringify(
    {
      benchmark: 'ab',
      date: startedAt.toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
      bench: ['bench/committee.ts', ...benchArgs],
      before: versions.before.rev,
      after: versions.after.rev,
      pairs,
      order: 'ABBA: before first in pairs 1, 3, …; after first in 2, 4, …',
      runs,
      comparison,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${values.out}; each run's result and log are kept in ${work}`);
