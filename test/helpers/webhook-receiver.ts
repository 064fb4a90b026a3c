/** A real HTTP webhook receiver on loopback: records every request; can answer errors or stall. */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, any>;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedHook[];
  /** Answer the next `n` requests with `status` (default 500). */
  failNext(n: number, status?: number): void;
  /**
   * Hold every request from now on unanswered (body read, nothing sent) until `release()`,
   * which answers them and the later ones normally. `held` counts the requests held open
   * now (one the sender gave up on and closed is no longer counted).
   */
  hold(): void;
  release(): void;
  readonly held: number;
  /** Wait until `n` requests arrived (or throw after `ms`). */
  waitFor(n: number, ms?: number): Promise<ReceivedHook[]>;
  stop(): Promise<void>;
}

/** The check a receiver does: HMAC-SHA256 of the raw body with the shared secret, constant-time compare. */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  const expected = `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
  return typeof header === 'string' && header.length === expected.length && crypto.timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

export async function startReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  let failures = 0;
  let failStatus = 500;
  let holding = false;
  const parked = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (holding) {
        const answer = () => {
          parked.delete(answer);
          respond();
        };
        parked.add(answer);
        res.on('close', () => parked.delete(answer));
        return;
      }
      respond();
    });
    const respond = () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus).end('not now');
        return;
      }
      let json: Record<string, any> = {};
      try {
        json = JSON.parse(body);
      } catch {
        /* recorded as is */
      }
      received.push({ headers: req.headers, body, json, at: Date.now() });
      res.writeHead(204).end();
    };
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/hook`,
    port: actual,
    received,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const answer of [...parked]) answer();
    },
    get held() {
      return parked.size;
    },
    failNext(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    async waitFor(n, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`receiver got ${received.length} of ${n} deliveries: ${received.map((r) => r.json.type).join(', ')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return received;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
