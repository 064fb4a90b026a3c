/**
 * The multipart/form-data parser (src/http/multipart-parser.ts) on hand-made bodies: every
 * split of a body into chunks gives the same parts, delimiter-like bytes inside a file stay
 * content, and malformed bodies are errors. Where busboy (the parser it replaced) accepts the
 * same bytes, both must give the same parts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import busboy from 'busboy';
import { prng } from '../../helpers/fuzz';
import { boundaryOf, MAX_PART_HEADER_BYTES, MultipartError, MultipartParser } from '../../../src/http/multipart-parser';

interface Part {
  name: string;
  filename: string | undefined;
  isFile: boolean;
  data: string;
}

/** Parse `body` given as `chunks` (copies, so that no view outlives its chunk unnoticed). */
function parse(chunks: Buffer[], boundary: string, maxParts = Infinity): Part[] {
  const parts: Part[] = [];
  let open: { part: Part; pieces: Buffer[] } | undefined;
  const parser = new MultipartParser(
    boundary,
    {
      partStart: (info) => {
        assert.equal(open, undefined, 'a part starts while another is open');
        open = { part: { name: info.name, filename: info.filename, isFile: info.isFile, data: '' }, pieces: [] };
      },
      partData: (data) => {
        assert.ok(open, 'data outside a part');
        assert.ok(data.length > 0, 'no empty pieces');
        open.pieces.push(Buffer.from(data));
      },
      partEnd: () => {
        assert.ok(open);
        open.part.data = Buffer.concat(open.pieces).toString('latin1');
        parts.push(open.part);
        open = undefined;
      },
    },
    maxParts,
  );
  for (const c of chunks) parser.write(Buffer.from(c));
  parser.end();
  return parts;
}

/** busboy's reading of the same bytes, in the same shape. */
function viaBusboy(body: Buffer, boundary: string): Promise<Part[]> {
  return new Promise((resolve, reject) => {
    const parts: Part[] = [];
    const bb = busboy({ headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, defParamCharset: 'utf8', preservePath: true, limits: { fields: 1000, parts: 1000 } });
    bb.on('field', (name, value) => parts.push({ name, filename: undefined, isFile: false, data: Buffer.from(value, 'utf8').toString('latin1') }));
    bb.on('file', (name, stream, info) => {
      const pieces: Buffer[] = [];
      const part: Part = { name, filename: info.filename, isFile: true, data: '' };
      parts.push(part);
      stream.on('data', (d: Buffer) => pieces.push(d));
      stream.on('end', () => (part.data = Buffer.concat(pieces).toString('latin1')));
    });
    bb.on('close', () => resolve(parts));
    bb.on('error', reject);
    bb.end(body);
  });
}

const B = 'X-boundary-42';
const file = (name: string, filename: string, data: string | Buffer) =>
  Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(data as string, 'latin1'), Buffer.from('\r\n')]);
const field = (name: string, value: string) => Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
const close = Buffer.from(`--${B}--\r\n`);

// Content that looks like the delimiter without being one, and CR/LF at the content's edges.
const tricky = `\r\n--X-boundary-4\r\n--X-boundary-43 --${B}\r\n\r\n-\r\n--X\r`;
const sample = Buffer.concat([Buffer.from('preamble, ignored\r\n'), field('reponame', 'main'), file('f', 'a.tar', tricky), field('empty', ''), file('sig', 'a.sig', '\r\n'), close, Buffer.from('epilogue, ignored')]);

test('the same parts as busboy, whatever the split into two chunks', async () => {
  const expected = await viaBusboy(sample, B);
  assert.equal(expected.length, 4);
  assert.deepEqual(parse([sample], B), expected);
  for (let at = 0; at <= sample.length; at++) {
    assert.deepEqual(parse([sample.subarray(0, at), sample.subarray(at)], B), expected, `split at ${at}`);
  }
});

test('byte by byte and in seeded random chunk sizes, including empty chunks', async () => {
  const expected = await viaBusboy(sample, B);
  assert.deepEqual(parse([...sample].map((b) => Buffer.from([b])), B), expected);
  const r = prng(15);
  for (let round = 0; round < 200; round++) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < sample.length; ) {
      const n = Math.floor(r() * 40);
      chunks.push(sample.subarray(at, at + n));
      at += n;
    }
    assert.deepEqual(parse(chunks, B), expected, `round ${round}`);
  }
});

test('random binary files (CR, LF and dashes frequent) match busboy', async () => {
  const r = prng(7);
  const alphabet = Buffer.from(`\r\n-${B}\x00\xff`, 'latin1');
  for (let round = 0; round < 100; round++) {
    const data = Buffer.from(Array.from({ length: Math.floor(r() * 3000) }, () => alphabet[Math.floor(r() * alphabet.length)]!));
    // Keep the delimiter itself out: a body containing it is another body.
    const content = Buffer.from(data.toString('latin1').split(`\r\n--${B}`).join('\r\n-'), 'latin1');
    const body = Buffer.concat([file('f', 'x.bin', content), field('n', String(round)), close]);
    const expected = await viaBusboy(body, B);
    assert.equal(expected[0]!.data, content.toString('latin1'));
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; ) {
      const n = 1 + Math.floor(r() * 200);
      chunks.push(body.subarray(at, at + n));
      at += n;
    }
    assert.deepEqual(parse(chunks, B), expected, `round ${round}`);
  }
});

test('file names: quoted with escapes, raw UTF-8, RFC 5987 filename* (which wins), none', async () => {
  const head = (disposition: string) => Buffer.from(`--${B}\r\nContent-Disposition: ${disposition}\r\n\r\nx\r\n`);
  const body = Buffer.concat([
    head('form-data; name="a"; filename="sp ace \\"q\\".tar"'),
    head('form-data; name="b"; filename="ünï-1.0.tar"'),
    head(`form-data; name="c"; filename="fallback.tar"; filename*=UTF-8''%E2%82%AC-1.0.tar`),
    head('form-data; name=d; filename=token.tar'),
    head('form-data; name="e"'),
    Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="g"\r\nContent-Type: application/octet-stream\r\n\r\nbin\r\n`),
    close,
  ]);
  const parts = parse([body], B);
  assert.deepEqual(
    parts.map((p) => [p.name, p.filename, p.isFile]),
    [
      ['a', 'sp ace "q".tar', true],
      ['b', 'ünï-1.0.tar', true],
      ['c', '€-1.0.tar', true],
      ['d', 'token.tar', true],
      ['e', undefined, false],
      ['g', undefined, true],
    ],
  );
  const theirs = await viaBusboy(body, B);
  assert.deepEqual(
    theirs.map((p) => [p.name, p.filename]),
    parts.map((p) => [p.name, p.filename]),
  );
});

test('transport padding after a boundary, and a body that starts with the boundary', () => {
  const body = Buffer.from(`--${B} \t\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--${B}--`);
  assert.deepEqual(parse([body], B), [{ name: 'a', filename: undefined, isFile: false, data: 'v' }]);
});

test('many fields', async () => {
  const body = Buffer.concat([...Array.from({ length: 300 }, (_, i) => field(`k${i}`, `v${i}`)), close]);
  const ours = parse([body], B);
  assert.equal(ours.length, 300);
  assert.deepEqual(ours, await viaBusboy(body, B));
  assert.throws(() => parse([body], B, 299), (e: Error) => e instanceof MultipartError && /too many parts/.test(e.message));
});

const rejects = (chunks: Buffer[], message: RegExp) => assert.throws(() => parse(chunks, B), (e: Error) => e instanceof MultipartError && e.status === 400 && message.test(e.message), String(message));

test('malformed bodies are errors that say what is wrong', () => {
  const truncated = Buffer.concat([field('a', 'v'), file('f', 'x', 'data')]);
  rejects([truncated], /ended before its closing boundary/);
  rejects([truncated.subarray(0, truncated.length - 10)], /ended before its closing boundary/);
  rejects([Buffer.from('no boundary at all')], /ended before its closing boundary/);
  rejects([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv`)], /ended before/);
  rejects([Buffer.from(`--${B}\r\n`), Buffer.from(`Content-Disposition: form-data; name="a"\r\n`)], /ended before/);
  rejects([Buffer.from(`--${B}junk\r\n`)], /other than CRLF/);
  rejects([Buffer.from(`--${B}\r\nContent-Type: text/plain\r\n\r\nv\r\n--${B}--`)], /no Content-Disposition/);
  rejects([Buffer.from(`--${B}\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n--${B}--`)], /not form-data/);
  rejects([Buffer.from(`--${B}\r\nContent-Disposition: form-data; filename="a"\r\n\r\nv\r\n--${B}--`)], /no name/);
  rejects([Buffer.from(`--${B}\r\nno colon here\r\n\r\nv\r\n--${B}--`)], /header line has no name/);
  rejects([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"; filename*=UTF-8''%zz\r\n\r\nv\r\n--${B}--`)], /bad percent escape/);
  rejects([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"; filename*=KOI8-R''x\r\n\r\nv\r\n--${B}--`)], /charset "KOI8-R"/);
});

test('a part header block over 16 KiB is refused, in one chunk or many, without waiting for its end', () => {
  const huge = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Junk: ${'j'.repeat(MAX_PART_HEADER_BYTES)}`);
  rejects([huge], /headers are larger than 16384 bytes/);
  rejects([...Array.from({ length: Math.ceil(huge.length / 1000) }, (_, i) => huge.subarray(i * 1000, i * 1000 + 1000))], /headers are larger/);
  // Just under the limit is fine.
  const ok = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Junk: ${'j'.repeat(MAX_PART_HEADER_BYTES - 100)}\r\n\r\nv\r\n--${B}--`);
  assert.equal(parse([ok], B)[0]!.data, 'v');
});

test('the boundary parameter: token or quoted, missing or too long is an error', () => {
  assert.equal(boundaryOf('multipart/form-data; boundary=abc'), 'abc');
  assert.equal(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b:c"'), 'a b:c');
  assert.equal(boundaryOf('multipart/form-data;BOUNDARY=----WebKitFormBoundaryx7'), '----WebKitFormBoundaryx7');
  assert.throws(() => boundaryOf('multipart/form-data'), /without a boundary/);
  assert.throws(() => boundaryOf('multipart/form-data; boundary='), /without a boundary/);
  assert.throws(() => boundaryOf(`multipart/form-data; boundary=${'b'.repeat(71)}`), /at most 70/);
});
