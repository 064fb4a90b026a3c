/**
 * A reprepro repository, the apt anchor of bench/apt.ts and bench/apt-scale.ts: one
 * distribution `stable` (amd64 + arm64, main), Packages/.gz/.xz, InRelease signed with a fresh
 * Ed25519 key in its own GNUPGHOME under `dir` (or, `signed: false`, no signature at all: the
 * anchor #19 names for 1,000 and 2,000 packages is reprepro's unsigned add).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface RepreproRepo {
  /** The repository's base directory (`-b`). */
  base: string;
  signed: boolean;
  /** Runs `reprepro -b <base> --silent <args>` with the repository's GNUPGHOME. */
  run(args: string[]): Buffer;
}

export function repreproRepo(dir: string, signed = true): RepreproRepo {
  const gnupg = path.join(dir, 'gnupg');
  fs.mkdirSync(gnupg, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupg };
  if (signed) execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', 'Bench <bench@example.org>', 'ed25519', 'sign', 'never'], { env, stdio: 'pipe' });
  const signWith = signed ? `SignWith: ${/^fpr:+([0-9A-F]{40}):/m.exec(execFileSync('gpg', ['--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' }))![1]}\n` : '';
  const base = path.join(dir, 'reprepro');
  fs.mkdirSync(path.join(base, 'conf'), { recursive: true });
  fs.writeFileSync(
    path.join(base, 'conf/distributions'),
    `Origin: bench\nLabel: bench\nCodename: stable\nArchitectures: amd64 arm64\nComponents: main\nDescription: bench\n${signWith}DebIndices: Packages Release . .gz .xz\n`,
  );
  return { base, signed, run: (args) => execFileSync('reprepro', ['-b', base, '--silent', ...args], { env, stdio: 'pipe', maxBuffer: 1 << 26 }) };
}
