/**
 * A hand-written HTTP/1.1 request over a plain socket, for what fetch cannot do: announce a
 * body and send only part of it, stall, or send headers fetch refuses. Resolves with the
 * response the server sent (if any) once the server closes the connection or `waitMs` passes.
 */
import net from 'node:net';

export interface RawResponse {
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** Did the server close the connection (rather than our waitMs running out)? */
  closedByServer: boolean;
  /** Milliseconds from the first byte sent to the end of the exchange. */
  elapsedMs: number;
}

export async function rawRequest(baseUrl: string, head: string, body: Buffer | string, waitMs: number): Promise<RawResponse> {
  const u = new URL(baseUrl);
  const socket = net.connect(Number(u.port), u.hostname);
  const chunks: Buffer[] = [];
  const started = Date.now();
  const closedByServer = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    socket.on('connect', () => {
      socket.write(head.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '\r\n\r\n'));
      if (body.length) socket.write(body);
    });
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  const elapsedMs = Date.now() - started;
  socket.destroy();
  return parseResponse(Buffer.concat(chunks), closedByServer, elapsedMs);
}

/**
 * Sends `pieces` one at a time, `gapMs` apart, as a slow client does (nothing is rewritten:
 * each piece goes out as given, CRLFs included), until they are all sent, the server closes
 * the connection, or `waitMs` passes.
 */
export async function trickleRequest(baseUrl: string, pieces: (string | Buffer)[], gapMs: number, waitMs: number): Promise<RawResponse> {
  const u = new URL(baseUrl);
  const socket = net.connect(Number(u.port), u.hostname);
  const chunks: Buffer[] = [];
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const closedByServer = await new Promise<boolean>((resolve) => {
    const deadline = setTimeout(() => resolve(false), waitMs);
    let next = 0;
    const send = () => {
      if (socket.destroyed || next >= pieces.length) return;
      socket.write(pieces[next++]!);
      timer = setTimeout(send, gapMs);
    };
    socket.on('connect', send);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve(true);
    });
  });
  clearTimeout(timer);
  const elapsedMs = Date.now() - started;
  socket.destroy();
  return parseResponse(Buffer.concat(chunks), closedByServer, elapsedMs);
}

function parseResponse(raw: Buffer, closedByServer: boolean, elapsedMs: number): RawResponse {
  const text = raw.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { status: null, headers: {}, body: '', closedByServer, elapsedMs };
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4), closedByServer, elapsedMs };
}
