/**
 * apt's repository settings: the architectures every dist serves (binary-<arch>/ indexes
 * even before a package of that architecture exists), Release's Valid-Until window, and its
 * Origin and Label fields. All of them show in Release, so changing one republishes.
 */
import { z } from 'zod';
import type { ProviderSettings } from '../../src/core/provider';
import { archesSchema, envList, oneLine } from '../../src/core/settings';

/** Debian architecture names (dpkg-architecture -L): lower case, digits, '-'. */
export const ARCH_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const DEFAULT_ARCHES = ['amd64', 'arm64'];

export const aptSettings: ProviderSettings = {
  schema: {
    arches: archesSchema(ARCH_NAME, 'amd64 or arm64'),
    /** Release Valid-Until = Date + validDays (apt refuses an expired Release: E: Release file ... is expired). */
    validDays: z.number().int().min(1).max(3650),
    origin: oneLine(200),
    label: oneLine(200),
  },
  inIndex: ['arches', 'validDays', 'origin', 'label', 'description'],
  env: [{ variable: 'APT_ARCHES', setting: 'arches', default: DEFAULT_ARCHES.join(','), schema: envList(z.string().regex(ARCH_NAME, 'a Debian architecture name such as amd64')) }],
};
