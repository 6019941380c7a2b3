/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof DIR`): self and total time per
 * function, over the whole profile or the last `--last S` seconds (the open-loop run comes last).
 *
 *   npx tsx bench/profile.ts DIR/CPU…cpuprofile [--last 6] [--top 40] [--timeline]
 *     [--callers REGEX] [--callees REGEX] [--focus NAMES] [--cat TEXT]
 *
 * A devnet's node processes (bench/modes.ts, `npm run devnet`) are profiled by a preload, as
 * `--cpu-prof` is refused in NODE_OPTIONS: SEQNET_CPU_PROFILE_DIR=DIR NODE_OPTIONS="--require
 * $PWD/bench/cpu-profile-preload.cjs" npx tsx bench/modes.ts --modes pos --quick (one file a process,
 * written when it exits; a SIGKILLed one writes none).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    last: { type: 'string' },
    top: { type: 'string', default: '40' },
    timeline: { type: 'boolean', default: false },
    /** Also totals by the name of a function on the stack, e.g. --focus produceBlock,add */
    focus: { type: 'string' },
    /** Caller chains of functions whose name matches this regexp. */
    callers: { type: 'string' },
    /**
     * Inclusive time of what the outermost frame matching this regexp calls, per callee (the regexp
     * is tested on "name file:line", e.g. --callees '^check .*driver/driver.ts').
     */
    callees: { type: 'string' },
    /** Self time only of samples in categories whose name contains this. */
    cat: { type: 'string' },
  },
});

const prof = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const times: number[] = [];
let t = prof.startTime;
for (const d of prof.timeDeltas) {
  t += d;
  times.push(t);
}
const from = values.last ? prof.endTime - Number(values.last) * 1e6 : prof.startTime;

const short = (f: CallFrame) => {
  const file = f.url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, '~/')
    .replace(/.*\/main\//, '');
  return `${f.functionName || '(anon)'} ${file}:${f.lineNumber + 1}`;
};
const idle = new Set(['(idle)', '(program)', '(garbage collector)']);
const self = new Map<string, number>();
const total = new Map<string, number>();
let n = 0;
let busy = 0;
const perSecond = new Map<number, number>();
/** Where a sample's time goes, by the first rule (in order) that a frame on its stack matches. */
const rules: Array<[string, (f: CallFrame) => boolean]> = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['gc', (f) => f.functionName === '(garbage collector)'],
  ['intake: decode + signature (decodeAndCheck)', (f) => f.functionName === 'decodeAndCheck'],
  ['intake: account read (nonceAndBalance)', (f) => f.functionName === 'nonceAndBalance'],
  ['intake: journal append', (f) => f.functionName === 'append' && f.url.includes('journal')],
  ['intake: mempool other', (f) => f.url.includes('src/mempool/')],
  ['block: state root (trie)', (f) => f.url.includes('@ethereumjs/mpt') || f.functionName === 'getStateRoot'],
  ['block: EVM runTx', (f) => f.functionName === '_runTx' || f.functionName === 'runTx'],
  ['block: tx/receipt roots', (f) => f.functionName === 'orderedTrieRoot'],
  ['block: lmdb write', (f) => f.url.includes('/lmdb/write') || f.functionName === 'putBlock'],
  ['block: announce (publishBlock)', (f) => f.functionName === 'publishBlock'],
  ['block: serialize/hash', (f) => f.functionName === 'serialize' || f.functionName === 'hash'],
  ['block: sequencer other', (f) => f.url.includes('src/node/') || f.url.includes('src/execution/')],
  [
    'rpc: eth_getBlockByNumber etc.',
    (f) => f.url.includes('src/rpc/format') || f.url.includes('methods/chain'),
  ],
  ['http: response write', (f) => f.url.includes('_http_outgoing') || f.functionName === 'writev'],
  ['rpc: server other', (f) => f.url.includes('src/rpc/')],
  ['http: parser / sockets', (f) => f.url.startsWith('node:')],
  ['lmdb read', (f) => f.url.includes('/lmdb/')],
  ['metrics', (f) => f.url.includes('prom-client')],
  ['ws', (f) => f.url.includes('/ws/')],
];
const catCache = new Map<number, string>();
function categorise(id: number): string {
  const hit = catCache.get(id);
  if (hit) return hit;
  const stack: CallFrame[] = [];
  for (let i: number | undefined = id; i !== undefined; i = parent.get(i)) stack.push(byId.get(i)!.callFrame);
  let cat = 'other';
  for (const [name, test] of rules)
    if (stack.some(test)) {
      cat = name;
      break;
    }
  catCache.set(id, cat);
  return cat;
}
const categories = new Map<string, number>();
const focusNames = values.focus?.split(',') ?? [];
const focus = new Map<string, number>();
for (let i = 0; i < prof.samples.length; i++) {
  if (times[i] < from) continue;
  const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000;
  n += dt;
  const node = byId.get(prof.samples[i])!;
  const cat = categorise(node.id);
  categories.set(cat, (categories.get(cat) ?? 0) + dt);
  if (values.cat && !cat.includes(values.cat)) continue;
  const key = short(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + dt);
  if (node.callFrame.functionName !== '(idle)') {
    busy += dt;
    const sec = Math.floor((times[i] - prof.startTime) / 1e6);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + dt);
  }
  const seen = new Set<string>();
  const seenFocus = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const f = byId.get(id)!.callFrame;
    const k = short(f);
    if (!seen.has(k)) {
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
    if (focusNames.includes(f.functionName) && !seenFocus.has(f.functionName)) {
      seenFocus.add(f.functionName);
      focus.set(f.functionName, (focus.get(f.functionName) ?? 0) + dt);
    }
  }
}
const top = Number(values.top);
console.log('\nby category (first rule that matches a frame on the stack)');
for (const [k, v] of [...categories].sort((a, b) => b[1] - a[1]))
  console.log(`${v.toFixed(0).padStart(8)} ms ${((v / n) * 100).toFixed(1).padStart(5)} %  ${k}`);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${v.toFixed(0).padStart(8)} ms ${((v / n) * 100).toFixed(1).padStart(5)} %  ${k}`);
};
console.log(`window ${(n / 1000).toFixed(2)} s, busy (not idle) ${(busy / 1000).toFixed(2)} s`);
print('self time', self);
print('total time (inclusive)', new Map([...total].filter(([k]) => !idle.has(k.split(' ')[0]))));
if (focusNames.length) print('focus (inclusive, by function name)', focus);
if (values.timeline)
  for (const [s, v] of [...perSecond].sort((a, b) => a[0] - b[0]))
    console.log(`t=${s}s busy ${v.toFixed(0)} ms`);
/** Each sample in the window with its stack (leaf first) and its time in ms. */
function eachStack(visit: (stack: CallFrame[], dt: number) => void): void {
  for (let i = 0; i < prof.samples.length; i++) {
    if (times[i] < from) continue;
    const stack: CallFrame[] = [];
    for (let id: number | undefined = prof.samples[i]; id !== undefined; id = parent.get(id))
      stack.push(byId.get(id)!.callFrame);
    visit(stack, (prof.timeDeltas[i + 1] ?? 0) / 1000);
  }
}
if (values.callers) {
  // Who calls functions whose name matches --callers (inclusive time per distinct caller chain of 4).
  const re = new RegExp(values.callers);
  const chains = new Map<string, number>();
  eachStack((stack, dt) => {
    const at = stack.findIndex((f) => re.test(f.functionName));
    if (at < 0) return;
    const key = stack
      .slice(at, at + 5)
      .map((f) => f.functionName || '(anon)')
      .join(' < ');
    chains.set(key, (chains.get(key) ?? 0) + dt);
  });
  print(`callers of /${values.callers}/`, chains);
}
if (values.callees) {
  const re = new RegExp(values.callees);
  const callees = new Map<string, number>();
  eachStack((stack, dt) => {
    // Outermost match first: a recursive or re-entered function counts once, under its first call.
    let at = -1;
    for (let k = stack.length - 1; k >= 0; k--)
      if (re.test(short(stack[k]))) {
        at = k;
        break;
      }
    if (at < 0) return;
    const key = at === 0 ? '(self)' : short(stack[at - 1]);
    callees.set(key, (callees.get(key) ?? 0) + dt);
  });
  print(`callees of /${values.callees}/`, callees);
}
