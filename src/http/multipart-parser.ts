/**
 * A push parser for multipart/form-data bodies (RFC 7578 on top of RFC 2046 section 5.1.1).
 * Why not busboy: its boundary search (streamsearch) runs a JS loop over the bytes and every
 * part is a Readable of its own; here the delimiter "\r\n--<boundary>" is found with
 * Buffer.indexOf (native memmem) and part data goes out as subarrays of the input chunks, never
 * copied. Only a delimiter split across two chunks costs a copy of at most its own length.
 *
 * The body is read as if it began with CRLF, so the first delimiter (which has none before it)
 * is found like the others; everything before it is the preamble and everything after the
 * close delimiter "--<boundary>--" the epilogue, both ignored (RFC 2046).
 */

export class MultipartError extends Error {
  constructor(
    message: string,
    /** 413 for a size limit, 400 for everything else. */
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
  }
}

export interface PartInfo {
  /** Content-Disposition `name`. */
  name: string;
  /** Content-Disposition `filename*` (RFC 5987) or `filename`; undefined for a plain field. */
  filename: string | undefined;
  /** True for a file part: it has a filename parameter or is application/octet-stream. */
  isFile: boolean;
  contentType: string | undefined;
}

export interface PartHandler {
  /** A part's headers were read; its data follows. */
  partStart(info: PartInfo): void;
  /** A piece of the current part's content, a view of the input chunk (valid as long as the caller keeps the chunk). */
  partData(data: Buffer): void;
  /** The current part's content is complete. */
  partEnd(): void;
}

/** Node's own limit for a request's headers; busboy uses the same for a part's. */
export const MAX_PART_HEADER_BYTES = 16 * 1024;
/** Whitespace allowed after a boundary before its CRLF (RFC 2046 "transport-padding"), bounded. */
const MAX_PADDING = 256;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary parameter of a multipart/form-data Content-Type, or an error that says what is wrong. */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(contentType);
  const boundary = m ? (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!) : undefined;
  if (!boundary) throw new MultipartError('multipart/form-data without a boundary parameter in its Content-Type');
  // RFC 2046: 1 to 70 characters. Longer ones are refused rather than searched for.
  if (boundary.length > 70) throw new MultipartError(`the multipart boundary is ${boundary.length} characters long; at most 70 are allowed (RFC 2046)`);
  return boundary;
}

type State = 'body' | 'afterDelimiter' | 'headers' | 'epilogue';

export class MultipartParser {
  private readonly delimiter: Buffer;
  /** Reading data (the preamble before the first part), searching for the next delimiter. */
  private state: State = 'body';
  private inPart = false;
  /** The end of the previous chunk that may be the start of a delimiter (shorter than one). */
  private carry: Buffer = CRLF;
  /** After a delimiter: the bytes of its line so far (padding, then CRLF or "--"). */
  private line = Buffer.alloc(0);
  /** A part's header block so far, beginning with the CRLF that ended the delimiter line. */
  private head: Buffer[] = [];
  private headBytes = 0;
  private parts = 0;

  constructor(
    boundary: string,
    private readonly handler: PartHandler,
    private readonly maxParts = Infinity,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** True once the close delimiter was read. */
  get done(): boolean {
    return this.state === 'epilogue';
  }

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && this.state !== 'epilogue') {
      if (this.state === 'body') pos = this.body(chunk, pos);
      else if (this.state === 'afterDelimiter') pos = this.afterDelimiter(chunk, pos);
      else pos = this.headers(chunk, pos);
    }
  }

  /** The body is complete: anything but a read close delimiter is a truncated body. */
  end(): void {
    if (this.state !== 'epilogue') throw new MultipartError('malformed multipart request: the body ended before its closing boundary (truncated upload?)');
  }

  private data(piece: Buffer): void {
    if (this.inPart && piece.length > 0) this.handler.partData(piece);
  }

  private delimiterFound(): void {
    if (this.inPart) this.handler.partEnd();
    this.inPart = false;
    this.state = 'afterDelimiter';
    this.line = Buffer.alloc(0);
  }

  private body(chunk: Buffer, pos: number): number {
    const d = this.delimiter;
    if (this.carry.length > 0) {
      // A delimiter starting in the carried tail ends in the first d.length - 1 bytes of this chunk.
      const carry = this.carry;
      const probe = Buffer.concat([carry, chunk.subarray(pos, pos + d.length - 1)]);
      const at = probe.indexOf(d);
      this.carry = Buffer.alloc(0);
      if (at >= 0 && at < carry.length) {
        this.data(carry.subarray(0, at));
        this.delimiterFound();
        return pos + at + d.length - carry.length;
      }
      if (pos + d.length - 1 > chunk.length && probe.length < d.length + carry.length - 1) {
        // This chunk is too short to decide: carry on with it appended.
        return this.keepTail(probe, 0, chunk.length);
      }
      this.data(carry);
    }
    const at = chunk.indexOf(d, pos);
    if (at >= 0) {
      this.data(chunk.subarray(pos, at));
      this.delimiterFound();
      return at + d.length;
    }
    return this.keepTail(chunk, pos, chunk.length);
  }

  /** Hand out `buf[pos..]` except a tail that may begin a delimiter, which is carried (copied). */
  private keepTail(buf: Buffer, pos: number, consumed: number): number {
    const d = this.delimiter;
    let cr = buf.indexOf(13, Math.max(pos, buf.length - d.length + 1));
    while (cr >= 0 && !d.subarray(0, buf.length - cr).equals(buf.subarray(cr))) cr = buf.indexOf(13, cr + 1);
    const keep = cr >= 0 ? cr : buf.length;
    this.data(buf.subarray(pos, keep));
    this.carry = Buffer.from(buf.subarray(keep));
    return consumed;
  }

  private afterDelimiter(chunk: Buffer, pos: number): number {
    // Only the few bytes of the delimiter line are gathered: CRLF (a part follows) or "--" (the end).
    const take = Math.min(chunk.length - pos, MAX_PADDING + 2 - this.line.length);
    const line = Buffer.concat([this.line, chunk.subarray(pos, pos + take)]);
    if (line.length >= 2 && line[0] === 0x2d && line[1] === 0x2d) {
      this.state = 'epilogue';
      return chunk.length;
    }
    if (line.length === 1 && line[0] === 0x2d) {
      this.line = line; // the second '-' is in the next chunk
      return pos + take;
    }
    let i = 0;
    while (i < line.length && (line[i] === 0x20 || line[i] === 0x09)) i++;
    if (i < line.length && line[i] !== 0x0d) throw new MultipartError('malformed multipart request: a boundary is followed by something other than CRLF or "--"');
    if (i + 1 < line.length) {
      if (line[i + 1] !== 0x0a) throw new MultipartError('malformed multipart request: a boundary line ends in CR without LF');
      // The CRLF that ends the delimiter line starts the header block: an empty block is then "\r\n\r\n" too.
      const used = i + 2 - this.line.length;
      this.state = 'headers';
      this.head = [CRLF];
      this.headBytes = 2;
      return pos + used;
    }
    if (line.length >= MAX_PADDING + 2) throw new MultipartError('malformed multipart request: a boundary line is too long');
    this.line = line;
    return pos + take;
  }

  private headers(chunk: Buffer, pos: number): number {
    // Search the tail of what came before (up to 3 bytes) together with this chunk's start.
    const prevTail = Math.min(3, this.headBytes);
    const joined = Buffer.concat([...this.head, chunk.subarray(pos, pos + MAX_PART_HEADER_BYTES + 4)]);
    const at = joined.indexOf(HEADER_END, this.headBytes - prevTail);
    if (at < 0) {
      if (joined.length > MAX_PART_HEADER_BYTES) throw new MultipartError(`malformed multipart request: a part's headers are larger than ${MAX_PART_HEADER_BYTES} bytes`, 400);
      this.head = [joined];
      this.headBytes = joined.length;
      return chunk.length;
    }
    if (at > MAX_PART_HEADER_BYTES) throw new MultipartError(`malformed multipart request: a part's headers are larger than ${MAX_PART_HEADER_BYTES} bytes`, 400);
    const used = at + 4 - this.headBytes;
    const block = joined.subarray(2, at).toString('utf8');
    this.head = [];
    this.headBytes = 0;
    if (++this.parts > this.maxParts) throw new MultipartError(`too many parts in the multipart request (at most ${this.maxParts})`);
    this.handler.partStart(partInfo(block));
    this.inPart = true;
    this.state = 'body';
    this.carry = Buffer.alloc(0);
    return pos + used;
  }
}

/** Name, file name and type of a part from its header block (header lines joined by CRLF). */
export function partInfo(block: string): PartInfo {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`malformed multipart request: a part header line has no name: ${JSON.stringify(line.slice(0, 80))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition');
  if (disposition === undefined) throw new MultipartError('malformed multipart request: a part has no Content-Disposition header');
  const { type, params } = parseParams(disposition);
  if (type !== 'form-data') throw new MultipartError(`malformed multipart request: a part's Content-Disposition is "${type}", not form-data`);
  const name = params.get('name');
  if (name === undefined) throw new MultipartError('malformed multipart request: a part has no name in its Content-Disposition');
  const filename = params.has('filename*') ? decodeExtValue(params.get('filename*')!) : params.get('filename');
  const contentType = headers.get('content-type')?.split(';')[0]!.trim().toLowerCase();
  return { name, filename, isFile: filename !== undefined || contentType === 'application/octet-stream', contentType };
}

/** `type; a=b; c="d \" e"`: a token, then parameters as tokens or quoted strings (RFC 7230 quoted-pair). */
function parseParams(value: string): { type: string; params: Map<string, string> } {
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const params = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/gy;
  re.lastIndex = semi < 0 ? value.length : semi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    const key = m[1]!.toLowerCase();
    if (!params.has(key)) params.set(key, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim());
  }
  return { type, params };
}

/** RFC 5987 ext-value: charset'language'percent-encoded bytes (UTF-8 or ISO-8859-1). */
function decodeExtValue(value: string): string {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!m) throw new MultipartError('malformed multipart request: filename* is not charset\'language\'value (RFC 5987)');
  const charset = m[1]!.toLowerCase();
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') throw new MultipartError(`malformed multipart request: filename* charset "${m[1]}" is not supported (UTF-8 or ISO-8859-1)`);
  if (/%(?![0-9a-f]{2})/i.test(m[2]!)) throw new MultipartError('malformed multipart request: filename* has a bad percent escape');
  const bytes = Buffer.from(m[2]!.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  return bytes.toString(charset === 'utf-8' ? 'utf8' : 'latin1');
}
