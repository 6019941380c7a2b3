/**
 * What checking a proposal that brings a new QC costs a member's main thread (every member, every
 * view under load; the second view of each lone tx at low rates): since stop 45 the leader's
 * signature and the QC in one multi-pairing (`BlsConsensusCrypto.verifyProposal`), against the two
 * checks one after the other before it — kept here as the baseline (the QC checked first, so that the
 * proposal's check finds it remembered and checks the signature alone). A committee of 4, fresh
 * checkers each time (nothing remembered), alternating in rounds; CPU time of this process (user +
 * system) and wall time per proposal.
 *
 *   npx tsx bench/bls-verify.ts [--checks 400] [--rounds 4]   → bench/results/bls-verify.json
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SecretKey } from '@chainsafe/blst';
import { BlsConsensusCrypto, blsSigner } from '../src/consensus/bls-crypto.js';
import type { Proposal } from '../src/consensus/core/types.js';
import { type Hex, toHex } from '../src/util/bytes.js';
import { seqnetVersion, writeResult } from './lib/results.js';
import { mediansOf, round3 } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    checks: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '4' },
    out: { type: 'string' },
  },
  strict: true,
});
const checks = Number(flags.checks);
const rounds = Number(flags.rounds);
if (!Number.isInteger(checks) || checks < 10)
  throw new Error(`--checks ${flags.checks}: a whole number ≥ 10`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${flags.rounds}: a whole number ≥ 1`);

const CHAIN_ID = 42069n;
const keys = Array.from({ length: 4 }, () => SecretKey.fromKeygen(randomBytes(32)));
const committee = { publicKeys: keys.map((k) => toHex(k.toPublicKey().toBytes())) as Hex[], quorum: 3 };
const instance = { epoch: 0n, root: toHex(randomBytes(32)) };

const fresh = () => new BlsConsensusCrypto(CHAIN_ID, committee, instance);

/** A proposal of view `view` carrying the QC of view − 1 (three members' votes), as a leader sends it. */
function proposalAt(view: bigint): Proposal {
  const parent = toHex(randomBytes(32));
  const hash = toHex(randomBytes(32));
  const qc = fresh().aggregate(
    [0, 2, 3].map((voter) => ({
      epoch: 0n,
      view: view - 1n,
      blockHash: parent,
      voter,
      signature: blsSigner(keys[voter], CHAIN_ID).signVote(0n, view - 1n, parent),
    })),
  );
  return {
    epoch: 0n,
    view,
    author: 1,
    block: { hash, parent, height: view, txCount: 0 },
    justify: qc,
    payload: new Uint8Array(),
    signature: blsSigner(keys[1], CHAIN_ID).signProposal(0n, view, hash),
  };
}

console.error(`[bls-verify] signing ${checks} proposals with new QCs…`);
const proposals = Array.from({ length: checks }, (_, i) => proposalAt(BigInt(i + 2)));
const ways: Array<[string, (p: Proposal) => boolean]> = [
  [
    'two checks (before)',
    (p) => {
      // The QC first: verifyProposal then finds it remembered and checks the signature alone.
      const c = fresh();
      return c.verifyQc(p.justify) && c.verifyProposal(p);
    },
  ],
  ['one multi-pairing (verifyProposal)', (p) => fresh().verifyProposal(p)],
];

function time(check: (p: Proposal) => boolean): { cpuUs: number; wallUs: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const p of proposals) if (!check(p)) throw new Error('a valid proposal did not verify');
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuUs: round3((cpu.user + cpu.system) / checks),
    wallUs: round3(((performance.now() - t0) * 1000) / checks),
  };
}

for (const [, check] of ways) for (const p of proposals.slice(0, 20)) check(p); // warm up
const runs: Array<{ round: number; way: string; cpuUsPerProposal: number; wallUsPerProposal: number }> = [];
for (let r = 0; r < rounds; r++)
  for (const [way, check] of r % 2 === 0 ? ways : [...ways].reverse()) {
    const t = time(check);
    const row = { round: r + 1, way, cpuUsPerProposal: t.cpuUs, wallUsPerProposal: t.wallUs };
    console.error(`[bls-verify] ${JSON.stringify(row)}`);
    runs.push(row);
  }

const before = mediansOf(runs, ways[0][0], ['cpuUsPerProposal', 'wallUsPerProposal']);
const now = mediansOf(runs, ways[1][0], ['cpuUsPerProposal', 'wallUsPerProposal']);
writeResult(flags.out ?? 'bench/results/bls-verify.json', {
  what: "checking a proposal that brings a new QC (committee of 4, nothing remembered): the leader's signature and the QC checked one after the other (before stop 45) against one multi-pairing (BlsConsensusCrypto.verifyProposal); this process's CPU time (user + system) and wall time per proposal, per round of `checks`, medians over rounds",
  when: new Date().toISOString(),
  version: seqnetVersion(new URL('..', import.meta.url).pathname),
  checks,
  rounds,
  before,
  now,
  cpuRatio: round3(now.cpuUsPerProposalMedian / before.cpuUsPerProposalMedian),
  wallRatio: round3(now.wallUsPerProposalMedian / before.wallUsPerProposalMedian),
  runs,
});
