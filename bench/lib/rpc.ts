import { Agent, request } from 'node:http';
import { WebSocket } from 'ws';

export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Reply {
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
  method?: string;
  params?: { subscription: string; result: unknown };
}

function unwrap<T>(reply: Reply): T {
  if (reply.error) throw new JsonRpcError(reply.error.code, reply.error.message);
  return reply.result as T;
}

/**
 * JSON-RPC over HTTP/1.1 with a keep-alive agent. node:http rather than fetch: it costs the client less
 * CPU, and the client shares this machine's two cores with the chain under test.
 */
export class HttpRpc {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private nextId = 1;

  constructor(url: string, maxSockets: number) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  private post(body: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: '/',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.setTimeout(60_000, () => req.destroy(new Error('HTTP request timed out after 60 s')));
      req.end(body);
    });
  }

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    const text = await this.post(JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }));
    return unwrap<T>(JSON.parse(text) as Reply);
  }

  /** One HTTP batch; results in call order; throws on the first error. */
  async batch<T>(calls: Array<[method: string, params: unknown[]]>): Promise<T[]> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const body = calls.map(([method, params], i) => ({ jsonrpc: '2.0', id: first + i, method, params }));
    const replies = JSON.parse(await this.post(JSON.stringify(body))) as Reply[];
    const byId = new Map(replies.map((r) => [r.id, r]));
    return calls.map((_, i) => {
      const r = byId.get(first + i);
      if (!r) throw new Error(`batch reply without id ${first + i}`);
      return unwrap<T>(r);
    });
  }

  /**
   * Opens `sockets` keep-alive connections before a timed run, as a long-running client would have.
   * A burst of fresh connections otherwise adds up to seconds to the first acks, on anvil too.
   */
  async warm(sockets: number): Promise<void> {
    await Promise.all(Array.from({ length: sockets }, () => this.call<Hex>('eth_chainId')));
  }

  close(): void {
    this.agent.destroy();
  }
}

type Hex = `0x${string}`;

type Pending = { resolve: (r: Reply) => void; reject: (e: Error) => void };

/** Minimal JSON-RPC over WebSocket: calls plus subscription notifications. */
export class WsRpc {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, (result: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(data.toString()));
    ws.on('close', () => this.failAll(new Error('WebSocket closed')));
    ws.on('error', (err) => this.failAll(err));
  }

  static connect(url: string): Promise<WsRpc> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('open', () => resolve(new WsRpc(ws)));
      ws.once('error', reject);
    });
  }

  private onMessage(text: string): void {
    const msg = JSON.parse(text) as Reply;
    if (msg.method === 'eth_subscription' && msg.params) {
      this.handlers.get(msg.params.subscription)?.(msg.params.result);
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    p.resolve(msg);
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
    return unwrap<T>(reply);
  }

  /** `eth_subscribe(kind, ...params)`; `onResult` gets each notification's result. */
  async subscribe(kind: string, onResult: (result: unknown) => void, ...params: unknown[]): Promise<string> {
    const id = await this.call<string>('eth_subscribe', [kind, ...params]);
    this.handlers.set(id, onResult);
    return id;
  }

  close(): void {
    this.handlers.clear();
    this.ws.close();
  }
}
