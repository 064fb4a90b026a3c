/**
 * The binary package `control` file: one deb822 paragraph (deb-control(5), Debian Policy
 * §5.1). Parsed the way dpkg's Dpkg::Control::HashCore does, because the Packages stanza
 * must carry the same values `dpkg-scanpackages` writes: trailing whitespace is dropped
 * from every line, the first line's value is trimmed, continuation lines are kept
 * verbatim otherwise, and field names are matched case-insensitively.
 */
import { InvalidPackageError } from '../../src/core/errors';

export interface ControlField {
  /** The name as written in the file. */
  name: string;
  /** First-line value, then "\n" + each continuation line (with its leading space removed). */
  value: string;
}

/** Parsed paragraph: fields in file order, with case-insensitive lookup. */
export class Control {
  constructor(readonly fields: ControlField[]) {}

  get(name: string): string | undefined {
    const lc = name.toLowerCase();
    return this.fields.find((f) => f.name.toLowerCase() === lc)?.value;
  }

  /** The value's first line, e.g. a Description's synopsis. */
  firstLine(name: string): string | undefined {
    return this.get(name)?.split('\n')[0];
  }
}

// Field names: printable US-ASCII except ':' and space, not starting with '#' or '-' (deb822(5)).
const FIELD_NAME = /^[!-9;-~]+$/;

export function parseControl(text: string, what = 'control file'): Control {
  if (text.includes('\0')) throw new InvalidPackageError(`${what} contains a NUL byte`);
  const lines = text.split('\n');
  const fields: ControlField[] = [];
  const seen = new Set<string>();
  let current: ControlField | undefined;
  let ended = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\s+$/, '');
    const lineNo = i + 1;
    if (line === '') {
      if (fields.length > 0) ended = true;
      continue;
    }
    if (line.startsWith('#')) continue; // comments, as Dpkg::Control accepts them
    if (ended) throw new InvalidPackageError(`${what} has more than one paragraph (line ${lineNo})`);
    if (line[0] === ' ' || line[0] === '\t') {
      if (!current) throw new InvalidPackageError(`${what} line ${lineNo}: continuation line before any field`);
      // " ." stands for an empty line; keep the rest verbatim minus the one leading space.
      let cont = line.slice(1);
      if (/^\.+$/.test(cont)) cont = cont.slice(1);
      current.value += '\n' + cont;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!FIELD_NAME.test(name) || name.startsWith('-')) {
      throw new InvalidPackageError(`${what} line ${lineNo}: expected "Field: value", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    const lc = name.toLowerCase();
    if (seen.has(lc)) throw new InvalidPackageError(`${what} has a duplicate field "${name}"`);
    seen.add(lc);
    current = { name, value: line.slice(colon + 1).replace(/^\s+/, '') };
    fields.push(current);
  }
  if (fields.length === 0) throw new InvalidPackageError(`${what} has no fields`);
  return new Control(fields);
}

/**
 * Write a field the way Dpkg::Control::HashCore::output does: "Name: first line", then
 * each continuation line after one space, an empty line as " .".
 */
export function renderField(name: string, value: string): string {
  const [first, ...rest] = value.split('\n');
  let out = first.length ? `${name}: ${first}\n` : `${name}:\n`;
  for (const raw of rest) {
    const l = raw.replace(/\s+$/, '');
    out += l === '' || /^\.+$/.test(l) ? ` .${l}\n` : ` ${l}\n`;
  }
  return out;
}
