/** Every migration, in order. Listed explicitly (no glob) so tsx, tsc output and bundles all find them. */
import { Initial1763600000000 } from './1763600000000-Initial';
import { BinaryCollation1763700000000 } from './1763700000000-BinaryCollation';
import { FileNameKey1764000000000 } from './1764000000000-FileNameKey';
import { IndexData1764700000000 } from './1764700000000-IndexData';
import { Sessions1765000000000 } from './1765000000000-Sessions';
import { Operations1765100000000 } from './1765100000000-Operations';
import { RepoKinds1765200000000 } from './1765200000000-RepoKinds';
import { FileRevision1765300000000 } from './1765300000000-FileRevision';
import { FileChanges1765400000000 } from './1765400000000-FileChanges';

export const migrations = [Initial1763600000000, BinaryCollation1763700000000, FileNameKey1764000000000, IndexData1764700000000, Sessions1765000000000, Operations1765100000000, RepoKinds1765200000000, FileRevision1765300000000, FileChanges1765400000000];
