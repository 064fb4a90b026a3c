/**
 * A small JSON Schema checker for the subset the OpenAPI document uses (type incl. arrays
 * with 'null', properties, required, additionalProperties, items, enum, pattern, minimum,
 * maximum, minLength, maxLength, format date-time/uri, local $ref). Written for the tests so
 * the check does not depend on the code under test; unknown keywords are reported, not ignored.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'format', '$ref', 'description', 'default']);
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function resolveRef(doc: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref supported: ${ref}`);
  let cur: unknown = doc;
  for (const part of ref.slice(2).split('/')) cur = (cur as Schema)?.[part];
  if (!cur || typeof cur !== 'object') throw new Error(`unresolvable $ref ${ref}`);
  return cur as Schema;
}

/** Every problem found, as "<json path>: <what>"; [] when `value` matches. */
export function check(doc: Schema, schema: Schema, value: unknown, at = '$'): string[] {
  const errs: string[] = [];
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) errs.push(`${at}: schema keyword "${k}" is not supported by the checker`);
  if (typeof schema.$ref === 'string') return [...errs, ...check(doc, resolveRef(doc, schema.$ref), value, at)];
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const ok = allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
    if (!ok) return [...errs, `${at}: expected ${allowed.join('|')}, got ${actual}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errs.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) errs.push(`${at}: "${value}" does not match ${schema.pattern}`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errs.push(`${at}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) errs.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.format === 'date-time' && !(ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)))) errs.push(`${at}: "${value}" is not an RFC 3339 date-time`);
    if (schema.format === 'uri') {
      try {
        new URL(value);
      } catch {
        errs.push(`${at}: "${value}" is not an absolute URI`);
      }
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${at}: ${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${at}: ${value} > maximum ${schema.maximum}`);
  }
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) => errs.push(...check(doc, schema.items as Schema, item, `${at}[${i}]`)));
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errs.push(`${at}: missing required property "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...check(doc, props[k], v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${at}: property "${k}" is not in the schema`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') errs.push(...check(doc, schema.additionalProperties as Schema, v, `${at}.${k}`));
    }
  }
  return errs;
}
