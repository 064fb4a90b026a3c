/**
 * Resolving a repository-relative path to stored bytes: index files of the current
 * generations (or, for `historic` ones like apt by-hash, of retained generations),
 * package files, and their attachments. Also the directory view over all of them.
 */
import type { Database } from '../db/database';
import { FileEntity, IndexFileEntity, type FileRow, type IndexFileRow } from '../db/entities';
import type { StoredAttachment } from './package-service';
import { RemoteObjectEntity } from '../db/remote-entities';

export interface ListingEntry {
  name: string;
  dir: boolean;
  size?: number;
  modified?: Date;
}

function likePrefix(prefix: string): string {
  // '!' as the escape character: a backslash means different things in MySQL and SQLite literals.
  return prefix.replace(/[!%_]/g, (c) => `!${c}`) + '%';
}

/*
 * Raw aliases are lower-case with underscores: PostgreSQL folds unquoted identifiers to lower
 * case (`AS createdAt` comes back as `createdat`), and these hot paths skip TypeORM's alias
 * quoting. bigint columns come back as strings from mysql2 and pg, hence the Number()s.
 */
export class ServedPaths {
  constructor(private readonly db: Database) {}

  async currentIndexFile(repoId: number, path: string): Promise<(IndexFileRow & { createdAt: number }) | null> {
    const row = (await this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('scopes', 's', 's.generation_id = f.generation_id')
      .innerJoin('generations', 'g', 'g.id = f.generation_id')
      .where('s.repo_id = :repoId AND f.path = :path', { repoId, path })
      .select(['f.id AS id', 'f.generation_id AS generation_id', 'f.sha256 AS sha256', 'f.size AS size', 'f.content_type AS content_type', 'g.created_at AS created_at'])
      .orderBy('f.generation_id', 'DESC')
      .limit(1)
      .getRawOne()) as { id: number; generation_id: number | string; sha256: string; size: string | number; content_type: string; created_at: string | number } | undefined;
    if (!row) return null;
    return { id: row.id, generationId: Number(row.generation_id), path, sha256: row.sha256, size: Number(row.size), contentType: row.content_type, historic: false, createdAt: Number(row.created_at) };
  }

  /** An index file of one (retained) generation of this repository, current or not. */
  async indexFileOfGeneration(repoId: number, generationId: number, path: string): Promise<(IndexFileRow & { createdAt: number }) | null> {
    const row = (await this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('generations', 'g', 'g.id = f.generation_id')
      .where('g.repo_id = :repoId AND f.generation_id = :generationId AND f.path = :path', { repoId, generationId, path })
      .select(['f.id AS id', 'f.sha256 AS sha256', 'f.size AS size', 'f.content_type AS content_type', 'g.created_at AS created_at'])
      .getRawOne()) as { id: number; sha256: string; size: string | number; content_type: string; created_at: string | number } | undefined;
    if (!row) return null;
    return { id: row.id, generationId, path, sha256: row.sha256, size: Number(row.size), contentType: row.content_type, historic: false, createdAt: Number(row.created_at) };
  }

  /** A `historic` index file from any retained generation (apt by-hash names are content hashes, so any match is right). */
  async historicIndexFile(repoId: number, path: string): Promise<(IndexFileRow & { createdAt: number }) | null> {
    const row = (await this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('generations', 'g', 'g.id = f.generation_id')
      .where('g.repo_id = :repoId AND f.path = :path AND f.historic = 1', { repoId, path })
      .select(['f.sha256 AS sha256', 'f.size AS size', 'f.content_type AS content_type', 'g.created_at AS created_at'])
      .orderBy('g.id', 'DESC')
      .limit(1)
      .getRawOne()) as { sha256: string; size: string | number; content_type: string; created_at: string | number } | undefined;
    if (!row) return null;
    return { id: 0, generationId: 0, path, sha256: row.sha256, size: Number(row.size), contentType: row.content_type, historic: true, createdAt: Number(row.created_at) };
  }

  async packageFile(repoId: number, path: string): Promise<FileRow | null> {
    return this.db.manager.getRepository(FileEntity).findOne({ where: { repoId, path }, order: { id: 'DESC' } });
  }

  /** `<file path><suffix>` -> the file and its attachment; `lookup`: how a package file is found (the GET path's cache). */
  async attachment(repoId: number, path: string, fallbacks: (p: string) => string[], lookup = (p: string) => this.packageFile(repoId, p)): Promise<{ file: FileRow; att: StoredAttachment } | null> {
    const dot = path.lastIndexOf('.');
    if (dot <= 0) return null;
    const base = path.slice(0, dot);
    const suffix = path.slice(dot);
    for (const candidate of [base, ...fallbacks(base)]) {
      const file = await lookup(candidate);
      if (!file) continue;
      const att = (JSON.parse(file.attachments || '[]') as StoredAttachment[]).find((a) => a.suffix === suffix);
      if (att) return { file, att };
    }
    return null;
  }

  /** Children of directory `dir` ('' or ending in '/'): index files of `repoId`, package files of `fileRepoIds` (a merging virtual's members). */
  async list(repoId: number, dir: string, fileRepoIds: number[] = [repoId]): Promise<ListingEntry[]> {
    const entries = new Map<string, ListingEntry>();
    const add = (fullPath: string, size: number, modified: Date) => {
      const rest = fullPath.slice(dir.length);
      if (!rest) return;
      const slash = rest.indexOf('/');
      if (slash >= 0) {
        const name = rest.slice(0, slash);
        if (!entries.has(name + '/')) entries.set(name + '/', { name: name + '/', dir: true });
      } else entries.set(rest, { name: rest, dir: false, size, modified });
    };
    const indexRows = (await this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('scopes', 's', 's.generation_id = f.generation_id')
      .innerJoin('generations', 'g', 'g.id = f.generation_id')
      .where("s.repo_id = :repoId AND f.path LIKE :p ESCAPE '!' AND f.historic = 0", { repoId, p: likePrefix(dir) })
      .select(['f.path AS path', 'f.size AS size', 'g.created_at AS created_at'])
      .getRawMany()) as { path: string; size: string | number; created_at: string | number }[];
    for (const r of indexRows) add(r.path, Number(r.size), new Date(Number(r.created_at)));
    const files = fileRepoIds.length === 0 ? [] : await this.db.manager
      .getRepository(FileEntity)
      .createQueryBuilder('f')
      .where("f.repo_id IN (:...ids) AND f.path LIKE :p ESCAPE '!'", { ids: fileRepoIds, p: likePrefix(dir) })
      .select(['f.path', 'f.size', 'f.createdAt', 'f.attachments'])
      .getMany();
    for (const f of files) {
      add(f.path, f.size, new Date(f.createdAt));
      for (const a of JSON.parse(f.attachments || '[]') as StoredAttachment[]) add(f.path + a.suffix, a.size, new Date(f.createdAt));
    }
    return [...entries.values()].sort((a, b) => (a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1));
  }

  /** Every blob sha256 something still references (for gc). */
  async referencedBlobs(): Promise<Set<string>> {
    const set = new Set<string>();
    const files = await this.db.manager.getRepository(FileEntity).find({ select: { sha256: true, attachments: true } });
    for (const f of files) {
      set.add(f.sha256);
      for (const a of JSON.parse(f.attachments || '[]') as StoredAttachment[]) set.add(a.sha256);
    }
    const idx = (await this.db.manager.getRepository(IndexFileEntity).createQueryBuilder('f').select('DISTINCT f.sha256', 'sha256').getRawMany()) as { sha256: string }[];
    for (const r of idx) set.add(r.sha256);
    // What remote repositories cached (issue 14): kept until evicted or the upstream changes.
    const cached = (await this.db.manager.getRepository(RemoteObjectEntity).createQueryBuilder('o').select('DISTINCT o.sha256', 'sha256').getRawMany()) as { sha256: string }[];
    for (const r of cached) set.add(r.sha256);
    return set;
  }
}
