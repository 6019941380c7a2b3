import { once } from 'node:events';
import WebSocket from 'ws';

/** One `eth_subscription` notification, tagged with the kind it was subscribed as. */
export interface Notification {
  kind: string;
  result: unknown;
}

/**
 * A plain JSON-RPC WebSocket client (the `ws` library) for subscription kinds viem and ethers do not
 * type, such as seqnet's `preconfirmations`. Notifications are kept in arrival order, so a test can
 * read the order one connection saw them in.
 */
export class RawSubscriber {
  readonly seen: Notification[] = [];
  private readonly kindOf = new Map<string, string>();
  private readonly answers = new Map<
    number,
    (m: { result?: unknown; error?: { code: number; message: string } }) => void
  >();
  private nextId = 1;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as {
        id?: number;
        method?: string;
        params?: { subscription: string; result: unknown };
        result?: unknown;
        error?: { code: number; message: string };
      };
      if (m.method === 'eth_subscription' && m.params)
        this.seen.push({ kind: this.kindOf.get(m.params.subscription) ?? '?', result: m.params.result });
      else if (m.id !== undefined) this.answers.get(m.id)?.(m);
    });
  }

  static async open(url: string): Promise<RawSubscriber> {
    const ws = new WebSocket(url);
    await once(ws, 'open');
    return new RawSubscriber(ws);
  }

  /** `eth_subscribe(kind)`: the subscription id, or the node's error as `{ code, message }`. */
  async subscribe(kind: string): Promise<{ id?: string; error?: { code: number; message: string } }> {
    const id = this.nextId++;
    const answer = new Promise<{ result?: unknown; error?: { code: number; message: string } }>((resolve) =>
      this.answers.set(id, resolve),
    );
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_subscribe', params: [kind] }));
    const m = await answer;
    this.answers.delete(id);
    if (m.error) return { error: m.error };
    this.kindOf.set(m.result as string, kind);
    return { id: m.result as string };
  }

  close(): void {
    this.ws.close();
  }
}
