import { createServer, type Server } from 'node:http';
import { freePort } from './devnet.js';

/**
 * An HTTP proxy in front of the L1: it can be taken down (the node sees an L1 RPC outage), and it
 * tells `onRequest` the JSON-RPC methods of each HTTP request (a batch's all, sorted).
 */
export async function startL1Proxy(
  target: string,
  onRequest?: (methods: string[]) => void,
): Promise<{ url: string; setDown(down: boolean): void; server: Server }> {
  let down = false;
  const server = createServer(async (req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (onRequest) {
      const parsed = JSON.parse(body.toString()) as { method: string } | Array<{ method: string }>;
      onRequest((Array.isArray(parsed) ? parsed : [parsed]).map((r) => r.method).sort());
    }
    try {
      const upstream = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } catch {
      req.socket.destroy();
    }
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${port}`, setDown: (d) => (down = d), server };
}
