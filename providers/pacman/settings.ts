/**
 * pacman's repository settings: the architectures every repository serves (an `<arch>/` db
 * for each, holding the `any` packages too, even before an arch-specific package exists).
 */
import { z } from 'zod';
import type { ProviderSettings } from '../../src/core/provider';
import { archesSchema, envList } from '../../src/core/settings';

/** makepkg's CARCH values are one path segment: letters, digits, '_' (x86_64, aarch64, armv7h). */
export const ARCH_NAME = /^[A-Za-z0-9_]{1,64}$/;

export const pacmanSettings: ProviderSettings = {
  schema: { arches: archesSchema(ARCH_NAME, 'x86_64 or aarch64') },
  inIndex: ['arches'],
  env: [{ variable: 'PACMAN_ARCHES', setting: 'arches', default: 'x86_64', schema: envList(z.string().regex(ARCH_NAME, 'a pacman architecture name such as x86_64')) }],
};
