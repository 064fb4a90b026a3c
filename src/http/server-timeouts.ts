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
import http from 'node:http';
import type net from 'node:net';
import { hasBody } from './json-body';

export interface TimeoutConfig {
  /** Headers are a few hundred bytes in one packet: 30 s (default) ends slowloris-style header trickles. */
  HEADERS_TIMEOUT_SECONDS: number;
  REQUEST_TIMEOUT_SECONDS: number;
  BODY_IDLE_TIMEOUT_SECONDS: number;
}
/**
 * Longer than the usual client/proxy idle timeouts (60 s), so the server is not the side that
 * closes an idle keep-alive connection just as a client reuses it (ECONNRESET in pip, apt).
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const headersMs = (config: TimeoutConfig) => Math.round(config.HEADERS_TIMEOUT_SECONDS * 1000);

/**
 * The HTTP server with every timeout applied. Node checks the header and whole-request
 * deadlines only every `connectionsCheckingInterval` (default 30 s, lib/_http_server.js
 * checkConnections), so a deadline would fire up to that much late: check every second (or
 * sooner for sub-second test timeouts); the check walks only connections mid-request.
 */
export function createHttpServer(app: http.RequestListener, config: TimeoutConfig): http.Server {
  const server = http.createServer({ connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.round(headersMs(config) / 4))) }, app);
  applyServerTimeouts(server, config);
  return server;
}

/**
 * What Node answers itself to a request it cannot parse or that ran out of time (408, 431, 413,
 * 400; lib/_http_server.js socketOnError), but as the JSON error body every other answer has.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: net.Socket, config: TimeoutConfig): void {
  // Only on a connection that has not written anything yet: a response may be half out.
  if (socket.writable && socket.bytesWritten === 0 && err.code !== 'ECONNRESET') {
    const [status, reason, code, error] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', `the request did not arrive in time (headers within ${config.HEADERS_TIMEOUT_SECONDS} s: HEADERS_TIMEOUT_SECONDS; all of it within ${config.REQUEST_TIMEOUT_SECONDS} s: REQUEST_TIMEOUT_SECONDS)`]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large']
          : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
            ? [413, 'Payload Too Large', 'chunk_extensions_too_large', 'the chunk extensions are too large']
            : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
    const body = JSON.stringify({ error, code });
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

export function applyServerTimeouts(server: http.Server, config: TimeoutConfig): void {
  server.headersTimeout = headersMs(config);
  // Node requires requestTimeout >= headersTimeout when it is set (0 disables it).
  server.requestTimeout = config.REQUEST_TIMEOUT_SECONDS === 0 ? 0 : Math.max(config.REQUEST_TIMEOUT_SECONDS * 1000, headersMs(config));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => answerClientError(err, socket, config));
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
