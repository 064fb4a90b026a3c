/**
 * Timeouts of the HTTP server, shared by `main.ts` and the test servers.
 *
 * Uploads can be gigabytes over slow links, so a short whole-request deadline would cut honest
 * clients. The defence against slow bodies is instead an idle timeout per request body: a body
 * that sends nothing for BODY_IDLE_TIMEOUT_SECONDS is answered 408 and its connection closed
 * (a streaming upload's temp file is then removed by the multipart receiver's 'aborted'
 * handling). REQUEST_TIMEOUT_SECONDS (default 6 h: 4 GiB at 200 KB/s) stays as an outer bound
 * for a client that trickles a byte now and then. The idle timer only runs while the body is
 * being received: once it has ended, a long publish (`wait=1`) keeps the socket quiet as long
 * as it takes.
 */
import type http from 'node:http';
import { hasBody } from './json-body';

export interface TimeoutConfig {
  REQUEST_TIMEOUT_SECONDS: number;
  BODY_IDLE_TIMEOUT_SECONDS: number;
}

/** Headers are a few hundred bytes in one packet: 30 s ends slowloris-style header trickles. */
const HEADERS_TIMEOUT_MS = 30_000;
/**
 * Longer than the usual client/proxy idle timeouts (60 s), so the server is not the side that
 * closes an idle keep-alive connection just as a client reuses it (ECONNRESET in pip, apt).
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export function applyServerTimeouts(server: http.Server, config: TimeoutConfig): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  // Node requires requestTimeout >= headersTimeout when it is set (0 disables it).
  server.requestTimeout = config.REQUEST_TIMEOUT_SECONDS === 0 ? 0 : Math.max(config.REQUEST_TIMEOUT_SECONDS * 1000, HEADERS_TIMEOUT_MS);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const idleMs = Math.round(config.BODY_IDLE_TIMEOUT_SECONDS * 1000);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!hasBody(req) || res.writableEnded) return;
    const onIdle = () => {
      if (!res.headersSent) {
        const body = JSON.stringify({ error: `the request body sent nothing for ${config.BODY_IDLE_TIMEOUT_SECONDS} s (BODY_IDLE_TIMEOUT_SECONDS)`, code: 'request_timeout' });
        res.writeHead(408, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
        // Once the answer is out, end the request stream: its consumer (multipart receiver,
        // body parser) sees 'aborted' and cleans up. A finished response alone does not tell
        // it: Node emits 'aborted' only for requests still waiting for their response.
        res.end(body, () => req.destroy());
      } else {
        req.destroy();
      }
    };
    // IncomingMessage.setTimeout arms the socket's inactivity timer; with a 'timeout' listener
    // Node calls it instead of destroying the socket (lib/_http_server.js socketOnTimeout).
    req.setTimeout(idleMs, onIdle);
    let done = false;
    const stop = () => {
      if (done) return;
      done = true;
      req.removeListener('timeout', onIdle);
      // Once the response is finished Node owns the socket's timer again (keep-alive timeout).
      if (!res.writableFinished) req.socket.setTimeout(server.timeout);
    };
    req.once('end', stop);
    res.once('finish', stop);
    res.once('close', stop);
  });
}
