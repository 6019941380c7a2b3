import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { commitProofToJson } from '../consensus/certificate.js';
import { RpcCode, RpcError, serverError } from '../errors.js';
import type { ChainRewind, PreconfirmedBlock, SealedBlock } from '../node/events.js';
import { type Hex, toHex } from '../util/bytes.js';
import { rpcPortInUseMessage } from '../util/ports.js';
import { proofCommittee, type RpcContext, type RpcHandler } from './context.js';
import { FilterRegistry, filterMethods } from './filters.js';
import { blockLogs, formatHeader, formatTx, type RpcLog } from './format.js';
import { callMethods } from './methods/call.js';
import { chainMethods } from './methods/chain.js';
import { feeMethods } from './methods/fees.js';
import { type LogFilter, logMethods, matchesLog, parseLogFilter } from './methods/logs.js';
import { stateMethods } from './methods/state.js';
import { txMethods } from './methods/tx.js';
import { txpoolMethods } from './methods/txpool.js';
import { bool, expectArgs, object } from './params.js';

const methods: Record<string, RpcHandler> = {
  ...chainMethods,
  ...stateMethods,
  ...txMethods,
  ...txpoolMethods,
  ...callMethods,
  ...feeMethods,
  ...logMethods,
};

type JsonRpcResponse = {
  jsonrpc: '2.0';
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
};

const dashboardHtml = readFileSync(
  fileURLToPath(new URL('../../dashboard/index.html', import.meta.url)),
  'utf8',
);

interface Subscription {
  kind: 'newHeads' | 'logs' | 'newPendingTransactions' | 'preconfirmations';
  filter?: LogFilter;
  fullTx?: boolean;
  /** `preconfirmations` with `true`: each notification carries the sequenced blocks up to its proof's. */
  withBlocks?: boolean;
}

/** One WebSocket client: its subscriptions live and die with it. */
class Connection {
  readonly subs = new Map<string, Subscription>();
  constructor(readonly ws: WebSocket) {}
}

function errorResponse(id: unknown, err: unknown): JsonRpcResponse {
  if (err instanceof RpcError) {
    return {
      jsonrpc: '2.0',
      id,
      error: { code: err.code, message: err.message, ...(err.data !== undefined ? { data: err.data } : {}) },
    };
  }
  return {
    jsonrpc: '2.0',
    id,
    error: { code: RpcCode.Internal, message: (err as Error)?.message ?? 'internal error' },
  };
}

function validId(id: unknown): boolean {
  return id === undefined || id === null || typeof id === 'string' || typeof id === 'number';
}

/**
 * JSON-RPC 2.0 over HTTP and WebSocket on one port (geth's behaviour for batches, limits and errors),
 * plus the dashboard at `/`, Prometheus metrics at `/metrics` and `/health`.
 */
export class RpcServer {
  private http?: Server;
  private wss?: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private nextSubId = 1;
  private unsubscribeChain: Array<() => void> = [];
  /** Polling filters: not tied to a connection (HTTP clients poll them). */
  private readonly filters: FilterRegistry;
  private readonly filterHandlers: Record<string, RpcHandler>;
  private filterSweep?: NodeJS.Timeout;

  constructor(
    private readonly ctx: RpcContext,
    private readonly logger: Logger,
  ) {
    const o = ctx.options;
    this.filters = new FilterRegistry({
      timeoutMs: o.filterTimeoutMs,
      maxFilters: o.maxFilters,
      maxChanges: o.maxFilterChanges,
    });
    this.filterHandlers = filterMethods(this.filters);
  }

  async start(): Promise<AddressInfo> {
    const { host, port } = this.ctx.options;
    this.http = createServer((req, res) => void this.onHttp(req, res));
    this.http.keepAliveTimeout = 60_000;
    this.wss = new WebSocketServer({ server: this.http, maxPayload: this.ctx.options.maxBodyBytes });
    this.wss.on('connection', (ws) => this.onWs(ws));
    // The WebSocket server re-emits the HTTP server's errors; the listen below reports them.
    this.wss.on('error', () => {});
    const onBlock = (b: SealedBlock) => this.publishBlock(b);
    const onRewind = (r: ChainRewind) => this.publishRemovedLogs(r);
    const onPending = (h: Hex) => this.publishPending(h);
    const onPreconfirmed = (p: PreconfirmedBlock) => this.publishPreconfirmed(p);
    this.ctx.events.on('block', onBlock);
    this.ctx.events.on('preconfirmed', onPreconfirmed);
    this.ctx.events.on('rewind', onRewind);
    const offPending = this.ctx.mempool.onNewPending(onPending);
    this.filterSweep = setInterval(
      () => this.filters.sweep(),
      Math.min(60_000, Math.max(10, this.ctx.options.filterTimeoutMs / 5)),
    );
    this.filterSweep.unref();
    this.unsubscribeChain = [
      () => clearInterval(this.filterSweep),
      () => this.ctx.events.off('block', onBlock),
      () => this.ctx.events.off('preconfirmed', onPreconfirmed),
      () => this.ctx.events.off('rewind', onRewind),
      offPending,
    ];
    await new Promise<void>((resolve, reject) => {
      this.http!.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new Error(rpcPortInUseMessage(host, port)) : err),
      );
      this.http!.listen(port, host, () => resolve());
    });
    return this.http.address() as AddressInfo;
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribeChain) off();
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => {
      if (!this.http) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/metrics' && this.ctx.metrics) {
        const body = await this.ctx.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.ctx.metrics.registry.contentType });
        res.end(body);
        return;
      }
      if (path === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, head: Number(this.ctx.executor.head.header.number) }));
        return;
      }
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(dashboardHtml);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, corsHeaders);
      res.end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.ctx.options.maxBodyBytes) {
      // Read and discard the body so the client, still sending it, gets the 413 instead of a broken
      // pipe; bodies far past the limit are cut off.
      const absurd = declared > 4 * this.ctx.options.maxBodyBytes;
      res.writeHead(413, { 'content-type': 'text/plain', ...(absurd ? { connection: 'close' } : {}) });
      res.end(`content length too large (${declared}>${this.ctx.options.maxBodyBytes})\n`);
      if (absurd) req.destroy();
      else req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.ctx.options.maxBodyBytes) {
        tooLarge = true;
        // Keep reading (and discarding) so the 413 reaches the client; give up on endless bodies.
        if (size > 4 * this.ctx.options.maxBodyBytes) {
          req.destroy();
          return;
        }
        continue;
      }
      chunks.push(chunk as Buffer);
    }
    if (tooLarge) {
      res.writeHead(413, { 'content-type': 'text/plain' });
      res.end(`content length too large (>${this.ctx.options.maxBodyBytes})\n`);
      return;
    }
    const out = await this.handleText(Buffer.concat(chunks).toString('utf8'), undefined);
    const body = out === undefined ? '' : encodeJson(out);
    // With a length, Node sends the response in one write, not chunked (header, chunk, terminator).
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...corsHeaders,
    });
    res.end(body);
  }

  private onWs(ws: WebSocket): void {
    const conn = new Connection(ws);
    this.connections.add(conn);
    this.ctx.metrics?.wsConnections.inc();
    ws.on('message', async (data) => {
      const out = await this.handleText(data.toString(), conn);
      if (out !== undefined && ws.readyState === WebSocket.OPEN) ws.send(encodeJson(out));
    });
    ws.on('close', () => {
      this.connections.delete(conn);
      this.ctx.metrics?.wsConnections.dec();
    });
    ws.on('error', (err) => this.logger.debug({ err }, 'websocket error'));
  }

  /** Parses one HTTP body or WS message: a call or a batch. */
  async handleText(
    text: string,
    conn: Connection | undefined,
  ): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { jsonrpc: '2.0', id: null, error: { code: RpcCode.ParseError, message: 'parse error' } };
    }
    if (Array.isArray(body)) {
      if (body.length === 0)
        return { jsonrpc: '2.0', id: null, error: { code: RpcCode.InvalidRequest, message: 'empty batch' } };
      if (body.length > this.ctx.options.maxBatch) {
        return {
          jsonrpc: '2.0',
          id: null,
          error: { code: RpcCode.InvalidRequest, message: 'batch too large' },
        };
      }
      const results = await Promise.all(body.map((call) => this.handleCall(call, conn)));
      return results.filter((r): r is JsonRpcResponse => r !== undefined);
    }
    return this.handleCall(body, conn);
  }

  private async handleCall(
    call: unknown,
    conn: Connection | undefined,
  ): Promise<JsonRpcResponse | undefined> {
    if (typeof call !== 'object' || call === null || Array.isArray(call)) {
      return {
        jsonrpc: '2.0',
        id: null,
        error: { code: RpcCode.InvalidRequest, message: 'invalid request' },
      };
    }
    const { id, method, params, jsonrpc } = call as Record<string, unknown>;
    if (!validId(id))
      return {
        jsonrpc: '2.0',
        id: null,
        error: { code: RpcCode.InvalidRequest, message: 'invalid request' },
      };
    if (jsonrpc !== '2.0' || typeof method !== 'string') {
      return {
        jsonrpc: '2.0',
        id: id ?? null,
        error: { code: RpcCode.InvalidRequest, message: 'invalid request' },
      };
    }
    if (params !== undefined && params !== null && !Array.isArray(params)) {
      return errorResponse(id ?? null, new RpcError(RpcCode.InvalidParams, 'non-array args'));
    }
    const args = (params as unknown[] | undefined) ?? [];
    const isNotification = id === undefined;
    const handler = this.handlerOf(method);
    this.ctx.metrics?.rpcRequests.inc({
      method: handler || method.startsWith('eth_') ? method : 'other',
    });
    try {
      let result: unknown;
      if (method === 'eth_subscribe' || method === 'eth_unsubscribe') {
        if (!conn) throw new RpcError(RpcCode.MethodNotFound, 'notifications not supported');
        result = method === 'eth_subscribe' ? this.subscribe(conn, args) : this.unsubscribe(conn, args);
      } else {
        if (!handler)
          throw new RpcError(RpcCode.MethodNotFound, `the method ${method} does not exist/is not available`);
        result = await handler(args, this.ctx);
      }
      return isNotification ? undefined : { jsonrpc: '2.0', id, result: result ?? null };
    } catch (err) {
      if (!(err instanceof RpcError)) this.logger.error({ err, method }, 'internal error in RPC handler');
      const resp = errorResponse(id ?? null, err);
      this.ctx.metrics?.rpcErrors.inc({
        method: handler ? method : 'other',
        code: String(resp.error!.code),
      });
      return isNotification ? undefined : resp;
    }
  }

  /** Own keys only: `toString` or `constructor` are not methods of this API. */
  private handlerOf(method: string): RpcHandler | undefined {
    if (Object.hasOwn(methods, method)) return methods[method];
    if (Object.hasOwn(this.filterHandlers, method)) return this.filterHandlers[method];
    return undefined;
  }

  private subscribe(conn: Connection, params: unknown[]): string {
    expectArgs(params, 1, 2);
    if (conn.subs.size >= this.ctx.options.maxSubscriptionsPerConnection) {
      throw new RpcError(
        RpcCode.LimitExceeded,
        `too many subscriptions (max ${this.ctx.options.maxSubscriptionsPerConnection})`,
      );
    }
    const kind = params[0];
    let sub: Subscription;
    if (kind === 'newHeads') sub = { kind };
    else if (kind === 'logs')
      sub = { kind, filter: parseLogFilter(params[1] === undefined ? {} : object(params[1], 1), 1) };
    else if (kind === 'newPendingTransactions') sub = { kind, fullTx: params[1] === true };
    else if (kind === 'preconfirmations') {
      // Only a node that sequences holds commit proofs: based / free order by L1, a follower derives.
      if (this.ctx.openPreconfirmations || this.ctx.committee.publicKeys.length === 0)
        throw serverError(
          'this node holds no commit proofs (the chain is derived from L1 here): subscribe on a sequencer or committee member; for a based inclusion promise, call seqnet_getPreconfirmation',
        );
      sub = { kind, withBlocks: bool(params[1], 1) };
    } else throw new RpcError(RpcCode.MethodNotFound, `no "${String(kind)}" subscription in eth namespace`);
    const id = `0x${(this.nextSubId++).toString(16).padStart(32, '0')}`;
    conn.subs.set(id, sub);
    return id;
  }

  private unsubscribe(conn: Connection, params: unknown[]): boolean {
    expectArgs(params, 1, 1);
    if (typeof params[0] !== 'string')
      throw new RpcError(RpcCode.InvalidParams, 'invalid argument 0: subscription id must be a string');
    return conn.subs.delete(params[0]);
  }

  private notify(conn: Connection, subscription: string, result: unknown): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(
      JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result } }),
    );
  }

  private publishBlock(sealed: SealedBlock): void {
    let logs: RpcLog[] | undefined;
    const logsOnce = () => (logs ??= blockLogs(sealed.block, sealed.receipts));
    if (this.filters.size > 0) this.filters.onBlock(toHex(sealed.block.hash()), logsOnce);
    if (this.connections.size === 0) return;
    let header: Record<string, unknown> | undefined;
    for (const conn of this.connections) {
      for (const [id, sub] of conn.subs) {
        if (sub.kind === 'newHeads') {
          header ??= formatHeader(sealed.block);
          this.notify(conn, id, header);
        } else if (sub.kind === 'logs') {
          for (const log of logsOnce()) if (matchesLog(sub.filter!, log)) this.notify(conn, id, log);
        }
      }
    }
  }

  /**
   * A block whose commit proof exists (on a committee member, before it executes the block): its txs,
   * in order, and the proof, checkable offline against the committee's keys as
   * `seqnet_getPreconfirmation`'s is.
   */
  private publishPreconfirmed(p: PreconfirmedBlock): void {
    let result: Record<string, unknown> | undefined;
    let withBlocks: Record<string, unknown> | undefined;
    for (const conn of this.connections)
      for (const [id, sub] of conn.subs)
        if (sub.kind === 'preconfirmations') {
          result ??= {
            blockNumber: `0x${p.height.toString(16)}`,
            sequencedBlockHash: p.blockHash,
            transactions: p.txHashes,
            proof: commitProofToJson(p.proof),
            committee: proofCommittee(this.ctx, p.proof),
          };
          if (sub.withBlocks) {
            withBlocks ??= { ...result, sequencedBlocks: p.sequencedBlocks.map((b) => this.hexOf(b)) };
            this.notify(conn, id, withBlocks);
          } else this.notify(conn, id, result);
        }
  }

  /**
   * Hex of an encoded block, kept while the block is: blocks committed together through one proof are
   * pushed with each of their descendants up to it (a synced chunk of 64: 64 notifications).
   */
  private readonly blockHex = new WeakMap<Uint8Array, Hex>();
  private hexOf(block: Uint8Array): Hex {
    let hex = this.blockHex.get(block);
    if (!hex) {
      hex = toHex(block);
      this.blockHex.set(block, hex);
    }
    return hex;
  }

  /**
   * After an L2 rewind, as geth after a reorg: each `logs` subscription gets the logs of the removed
   * blocks it matched again, newest first, with `removed: true` (the new blocks' logs follow as they
   * come). `newHeads` gets only the new chain's heads. Log filters get the same, at their next poll.
   */
  private publishRemovedLogs(rewind: ChainRewind): void {
    if (this.connections.size === 0 && this.filters.size === 0) return;
    const removed = rewind.removed
      .toReversed()
      .flatMap(({ block, receipts }) => blockLogs(block, receipts).toReversed())
      .map((log) => ({ ...log, removed: true }));
    this.filters.onRemovedLogs(removed);
    for (const conn of this.connections)
      for (const [id, sub] of conn.subs)
        if (sub.kind === 'logs')
          for (const log of removed) if (matchesLog(sub.filter!, log)) this.notify(conn, id, log);
  }

  private publishPending(hash: Hex): void {
    if (this.filters.size > 0) this.filters.onPendingTx(hash, () => this.pendingTxView(hash));
    for (const conn of this.connections) {
      for (const [id, sub] of conn.subs) {
        if (sub.kind !== 'newPendingTransactions') continue;
        this.notify(conn, id, sub.fullTx ? this.pendingTxView(hash) : hash);
      }
    }
  }

  /** A pending tx as eth_getTransactionByHash shows it; its hash once it left the pool. */
  private pendingTxView(hash: Hex): unknown {
    const t = this.ctx.mempool.get(hash);
    return t ? formatTx(t.tx, t.sender) : hash;
  }
}

const corsHeaders = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'content-type',
  'access-control-allow-methods': 'POST, GET, OPTIONS',
};

/**
 * A response as JSON; bigints as hex quantities. A replacer slows JSON.stringify down for every value,
 * so a single response whose result is a plain string (eth_sendRawTransaction's hash) goes without.
 */
function encodeJson(out: JsonRpcResponse | JsonRpcResponse[]): string {
  if (
    !Array.isArray(out) &&
    out.error === undefined &&
    (typeof out.result === 'string' || out.result === null)
  )
    return JSON.stringify(out);
  return JSON.stringify(out, jsonReplacer);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value;
}
