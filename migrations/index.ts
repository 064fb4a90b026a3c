/** Every migration, in order. Listed explicitly (no glob) so tsx, tsc output and bundles all find them. */
import { Initial1763600000000 } from './1763600000000-Initial';
import { FileNameKey1764000000000 } from './1764000000000-FileNameKey';
import { IndexData1764700000000 } from './1764700000000-IndexData';
import { RepoKinds1765000000000 } from './1765000000000-RepoKinds';

export const migrations = [Initial1763600000000, FileNameKey1764000000000, IndexData1764700000000, RepoKinds1765000000000];
