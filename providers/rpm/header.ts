/**
 * A bounded reader of one rpm header structure (docs/formats/rpm.md#package-file item 3,
 * rpm's docs/manual/format_header.md): `8e ad e8 01`, 4 reserved bytes, u32 entry count n,
 * u32 data size d, n 16-byte index entries (tag, type, offset, count), then d bytes of data.
 * Every entry is checked against the data area before anything is read from it, so a mutated
 * header fails with a message instead of reading out of bounds.
 */
import { InvalidPackageError } from '../../src/core/errors';
import { TYPE } from './tags';

export const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
export const PREAMBLE_SIZE = 16;
export const ENTRY_SIZE = 16;

/** Byte size of one element of the fixed-size types. */
const ELEMENT_SIZE: Record<number, number> = { [TYPE.CHAR]: 1, [TYPE.INT8]: 1, [TYPE.INT16]: 2, [TYPE.INT32]: 4, [TYPE.INT64]: 8, [TYPE.BIN]: 1 };

interface Entry {
  type: number;
  offset: number;
  count: number;
}

export interface HeaderLimits {
  /** Most index entries (rpm itself allows 65535, HEADER_TAGS_MAX). */
  maxEntries: number;
  /** Most bytes of data. */
  maxDataBytes: number;
}

/** n and d from the 16-byte preamble; throws when the magic is wrong or a cap is passed. */
export function readPreamble(buf: Buffer, what: string, limits: HeaderLimits): { entries: number; dataSize: number; total: number } {
  if (buf.length < PREAMBLE_SIZE) throw new InvalidPackageError(`the rpm is truncated: the ${what} ends before its 16-byte preamble`);
  if (!buf.subarray(0, 4).equals(HEADER_MAGIC)) throw new InvalidPackageError(`the ${what} does not start with the header magic 8e ad e8 01`);
  const entries = buf.readUInt32BE(8);
  const dataSize = buf.readUInt32BE(12);
  if (entries === 0) throw new InvalidPackageError(`the ${what} has no entries`);
  if (entries > limits.maxEntries) throw new InvalidPackageError(`the ${what} claims ${entries} entries; at most ${limits.maxEntries} are accepted`);
  if (dataSize > limits.maxDataBytes) throw new InvalidPackageError(`the ${what} claims ${dataSize} bytes of data; at most ${limits.maxDataBytes} are accepted`);
  return { entries, dataSize, total: PREAMBLE_SIZE + entries * ENTRY_SIZE + dataSize };
}

export class RpmHeader {
  private readonly index = new Map<number, Entry>();
  private readonly data: Buffer;

  /** `buf` is the whole structure, preamble included (PREAMBLE_SIZE + 16n + d bytes). */
  constructor(
    buf: Buffer,
    readonly what: string,
    limits: HeaderLimits,
  ) {
    const { entries, dataSize, total } = readPreamble(buf, what, limits);
    if (buf.length < total) throw new InvalidPackageError(`the rpm is truncated: the ${what} needs ${total} bytes, the file has ${buf.length} left`);
    const dataStart = PREAMBLE_SIZE + entries * ENTRY_SIZE;
    this.data = buf.subarray(dataStart, dataStart + dataSize);
    for (let i = 0; i < entries; i++) {
      const at = PREAMBLE_SIZE + i * ENTRY_SIZE;
      const tag = buf.readUInt32BE(at);
      const type = buf.readUInt32BE(at + 4);
      const offset = buf.readUInt32BE(at + 8);
      const count = buf.readUInt32BE(at + 12);
      if (type > TYPE.I18NSTRING) throw new InvalidPackageError(`${what} entry ${i} (tag ${tag}) has unknown type ${type}`);
      if (count === 0) throw new InvalidPackageError(`${what} entry ${i} (tag ${tag}) has a count of 0`);
      if (offset >= dataSize && type !== TYPE.NULL) throw new InvalidPackageError(`${what} entry ${i} (tag ${tag}) points at offset ${offset}, past the ${dataSize} bytes of data`);
      const size = ELEMENT_SIZE[type];
      if (size !== undefined && offset + size * count > dataSize) {
        throw new InvalidPackageError(`${what} entry ${i} (tag ${tag}) claims ${count} values of ${size} bytes at offset ${offset}, past the ${dataSize} bytes of data`);
      }
      // String counts are checked when the strings are read: each needs at least its NUL.
      if ((type === TYPE.STRING_ARRAY || type === TYPE.I18NSTRING) && offset + count > dataSize) {
        throw new InvalidPackageError(`${what} entry ${i} (tag ${tag}) claims ${count} strings at offset ${offset}, more than the ${dataSize - offset} bytes left`);
      }
      // The first entry of a header is its region tag (62/63); duplicates keep the first, as rpm does.
      if (!this.index.has(tag)) this.index.set(tag, { type, offset, count });
    }
  }

  has(tag: number): boolean {
    return this.index.has(tag);
  }

  private strings(tag: number, e: Entry): string[] {
    const out: string[] = [];
    let pos = e.offset;
    for (let i = 0; i < e.count; i++) {
      const end = this.data.indexOf(0, pos);
      if (end < 0) throw new InvalidPackageError(`${this.what} tag ${tag}: string ${i + 1} of ${e.count} is not NUL-terminated inside the header`);
      out.push(this.data.toString('utf8', pos, end));
      pos = end + 1;
    }
    return out;
  }

  /** A STRING, or the first (default-locale) string of an I18NSTRING or STRING_ARRAY. */
  string(tag: number): string | undefined {
    const e = this.index.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE.STRING && e.type !== TYPE.I18NSTRING && e.type !== TYPE.STRING_ARRAY) {
      throw new InvalidPackageError(`${this.what} tag ${tag} has type ${e.type}, a string was expected`);
    }
    return this.strings(tag, { ...e, count: 1 })[0];
  }

  stringArray(tag: number): string[] {
    const e = this.index.get(tag);
    if (!e) return [];
    if (e.type === TYPE.STRING) return this.strings(tag, { ...e, count: 1 });
    if (e.type !== TYPE.STRING_ARRAY && e.type !== TYPE.I18NSTRING) throw new InvalidPackageError(`${this.what} tag ${tag} has type ${e.type}, a string array was expected`);
    return this.strings(tag, e);
  }

  /** Integers of any width (INT8/16/32/64) as numbers. */
  ints(tag: number): number[] {
    const e = this.index.get(tag);
    if (!e) return [];
    const out: number[] = [];
    for (let i = 0; i < e.count; i++) {
      switch (e.type) {
        case TYPE.CHAR:
        case TYPE.INT8:
          out.push(this.data.readUInt8(e.offset + i));
          break;
        case TYPE.INT16:
          out.push(this.data.readUInt16BE(e.offset + 2 * i));
          break;
        case TYPE.INT32:
          out.push(this.data.readUInt32BE(e.offset + 4 * i));
          break;
        case TYPE.INT64:
          out.push(Number(this.data.readBigUInt64BE(e.offset + 8 * i)));
          break;
        default:
          throw new InvalidPackageError(`${this.what} tag ${tag} has type ${e.type}, an integer was expected`);
      }
    }
    return out;
  }

  int(tag: number): number | undefined {
    return this.has(tag) ? this.ints(tag)[0] : undefined;
  }

  /** BIN data (the MD5 digest), or a hex STRING decoded. */
  bin(tag: number): Buffer | undefined {
    const e = this.index.get(tag);
    if (!e) return undefined;
    if (e.type === TYPE.BIN) return Buffer.from(this.data.subarray(e.offset, e.offset + e.count));
    throw new InvalidPackageError(`${this.what} tag ${tag} has type ${e.type}, binary data was expected`);
  }
}
