/**
 * Form fields derived from the providers' own declarations, so the UI needs no list per
 * format: upload parameters from each provider's `uploadParams` (a zod object, possibly
 * behind a transform) and `uploadFileFields`, and repository settings from the core's and
 * the provider's settings schemas (the ones PATCH /api/repos/.../settings validates with).
 */
import type { z } from 'zod';
import type { Provider } from '../../core/provider';
import { coreSettings } from '../../core/settings';

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  in?: z.ZodType;
  innerType?: z.ZodType;
  element?: z.ZodType;
}
const defOf = (schema: z.ZodType): ZodDef => (schema as unknown as { _zod: { def: ZodDef } })._zod.def;

/** The object shape of a schema, looking through transforms (`z.object(...).transform(...)` is a pipe). */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> {
  let def = defOf(schema);
  while (def.type === 'pipe' && def.in) def = defOf(def.in);
  return def.type === 'object' && def.shape ? def.shape : {};
}

/** The schema's kind under optional/nullable/default wrappers: 'string', 'number', 'boolean', 'array', ... */
export function baseKind(schema: z.ZodType): string {
  let def = defOf(schema);
  while (['optional', 'nullable', 'default', 'prefault', 'readonly'].includes(def.type) && def.innerType) def = defOf(def.innerType);
  return def.type;
}

export interface UploadField {
  name: string;
  /** Providers that read this parameter. */
  providers: string[];
  /** The default a provider fills in when the field is left empty ('' when none). */
  defaults: { provider: string; value: string }[];
}

/** Every provider's upload parameters, one field per distinct name. */
export function uploadFields(providers: readonly Provider[]): UploadField[] {
  const fields = new Map<string, UploadField>();
  for (const p of providers) {
    for (const [name, schema] of Object.entries(objectShape(p.uploadParams))) {
      const f = fields.get(name) ?? { name, providers: [], defaults: [] };
      f.providers.push(p.name);
      const d = schema.safeParse(undefined);
      if (d.success && typeof d.data === 'string' && d.data) f.defaults.push({ provider: p.name, value: d.data });
      fields.set(name, f);
    }
  }
  return [...fields.values()];
}

/** Further file fields (pacman's detached `sig`) and the providers that take them. */
export function uploadFileFields(providers: readonly Provider[]): { name: string; providers: string[] }[] {
  const out = new Map<string, string[]>();
  for (const p of providers) for (const f of p.uploadFileFields ?? []) out.set(f, [...(out.get(f) ?? []), p.name]);
  return [...out].map(([name, ps]) => ({ name, providers: ps }));
}

export interface SettingField {
  key: string;
  kind: 'boolean' | 'number' | 'list' | 'text';
  /** What the form shows: the stored value ('' when unset: the default applies). */
  value: string;
  /** The effective value when unset (server-wide default), for the help text. */
  effective: string;
  core: boolean;
}

const show = (v: unknown): string => (v === undefined || v === null ? '' : Array.isArray(v) ? v.join(' ') : String(v));

/** The settings form of a provider's repository: core settings first, then the format's own. */
export function settingFields(provider: Provider, stored: Record<string, unknown>, effective: Record<string, unknown>): SettingField[] {
  const all = { ...coreSettings, ...provider.settings.schema };
  return Object.entries(all).map(([key, schema]) => {
    const k = baseKind(schema);
    const kind = k === 'boolean' ? 'boolean' : k === 'number' || k === 'int' ? 'number' : k === 'array' ? 'list' : 'text';
    return { key, kind, value: show(stored[key]), effective: show(effective[key]), core: key in coreSettings };
  });
}

/**
 * Form values -> the PATCH body the API takes: an empty field is `null` (back to the default),
 * `true`/`false` from a select, numbers parsed, lists split on commas and spaces. Only keys
 * whose value changes are sent, so an untouched index setting does not republish. The result
 * is validated by `settingsPatchSchema` like any API request.
 */
export function settingsPatch(fields: SettingField[], form: Record<string, unknown>, stored: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const f of fields) {
    if (!(f.key in form)) continue;
    const raw = String(form[f.key] ?? '').trim();
    let value: unknown = null;
    if (raw !== '') {
      if (f.kind === 'boolean') value = raw === 'true' ? true : raw === 'false' ? false : raw;
      else if (f.kind === 'number') value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
      else if (f.kind === 'list') value = raw.split(/[\s,]+/).filter(Boolean);
      else value = raw;
    }
    const before = stored[f.key] ?? null;
    if (JSON.stringify(before) !== JSON.stringify(value)) patch[f.key] = value;
  }
  return patch;
}
