import crypto from 'node:crypto';
import { DataSource } from 'typeorm';

export const MYSQL_ROOT_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root:@127.0.0.1:3306';

/** A fresh, uniquely named MariaDB database; `drop` removes it. */
export async function createMysqlDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `artifactd_t_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
  const u = new URL(MYSQL_ROOT_URL);
  const admin = new DataSource({ type: 'mysql', host: u.hostname, port: Number(u.port || 3306), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
  await admin.initialize();
  // The server's default collation (case-insensitive), as a plain `CREATE DATABASE` in a real
  // deployment gets: the schema itself must make names exact (migration 1763700000000).
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.destroy();
  return {
    url: `${MYSQL_ROOT_URL}/${name}`,
    drop: async () => {
      const d = new DataSource({ type: 'mysql', host: u.hostname, port: Number(u.port || 3306), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
      await d.initialize();
      await d.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await d.destroy();
    },
  };
}
