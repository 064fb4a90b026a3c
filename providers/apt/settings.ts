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

/**
 * A Packages file larger than this is compressed in segments and published as .gz and .xz
 * only (docs/formats/apt.md#segmented-compression); up to it, whole as before, with the plain file.
 */
export const SEGMENT_ABOVE_BYTES = 1 << 20;
/** Package names per segment, on average (about 100 KB of stanzas at 800 bytes each). */
export const SEGMENT_PACKAGES = 128;

const wholeNumber = (min: number) => z.string().regex(/^\d+$/, 'a whole number').transform(Number).pipe(z.number().int().min(min));

export const aptSettings: ProviderSettings = {
  schema: {
    arches: archesSchema(ARCH_NAME, 'amd64 or arm64'),
    /** Release Valid-Until = Date + validDays (apt refuses an expired Release: E: Release file ... is expired). */
    validDays: z.number().int().min(1).max(3650),
    origin: oneLine(200),
    label: oneLine(200),
    /** Above this many bytes a Packages file is compressed in segments and its plain form not published. */
    segmentAboveBytes: z.number().int().min(0),
    /** Average package names per segment. */
    segmentPackages: z.number().int().min(1).max(1_000_000),
  },
  inIndex: ['arches', 'validDays', 'origin', 'label', 'description', 'segmentAboveBytes', 'segmentPackages'],
  env: [
    { variable: 'APT_ARCHES', setting: 'arches', default: DEFAULT_ARCHES.join(','), schema: envList(z.string().regex(ARCH_NAME, 'a Debian architecture name such as amd64')) },
    { variable: 'APT_SEGMENT_ABOVE_BYTES', setting: 'segmentAboveBytes', default: String(SEGMENT_ABOVE_BYTES), schema: wholeNumber(0) },
    { variable: 'APT_SEGMENT_PACKAGES', setting: 'segmentPackages', default: String(SEGMENT_PACKAGES), schema: wholeNumber(1) },
  ],
};
