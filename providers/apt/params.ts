/**
 * Upload parameters and the names that become path segments (dists/<dist>/<component>/…,
 * pool/<component>/…). One segment each: no '/', and never '.' or '..'.
 */
import { z } from 'zod';

export const DEFAULT_DIST = 'stable';
export const DEFAULT_COMPONENT = 'main';

const SEGMENT = /^[A-Za-z0-9._+-]{1,64}$/;

export function isValidSegment(s: string): boolean {
  return SEGMENT.test(s) && s !== '.' && s !== '..';
}

function segment(what: string, def: string) {
  return z
    .string()
    .refine(isValidSegment, {
      message: `${what} must be 1-64 characters of letters, digits, ".", "_", "-", "+" (no "/", not "." or "..")`,
    })
    .default(def);
}

/** Unknown keys (name, version, ...) are checked by the core and dropped here. */
export const uploadParams = z.object({
  dist: segment('dist', DEFAULT_DIST),
  component: segment('component', DEFAULT_COMPONENT),
});

/** Partition of a package: `<dist>/<component>`. */
export function partitionOf(dist: string, component: string): string {
  return `${dist}/${component}`;
}

export function splitPartition(partition: string): { dist: string; component: string } | null {
  const slash = partition.indexOf('/');
  if (slash < 0) return null;
  const dist = partition.slice(0, slash);
  const component = partition.slice(slash + 1);
  return isValidSegment(dist) && isValidSegment(component) ? { dist, component } : null;
}

/** Scope of a distribution: its Release covers every component and architecture. */
export function scopeOf(dist: string): string {
  return `dists/${dist}`;
}
