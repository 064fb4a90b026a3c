/** `rpcli key show|import|rotate`: the repository's signing keys (private parts never leave the server). */
import fs from 'node:fs';
import { arg, noMoreArgs, resolveRepo, type Command, type Ctx } from '../context';
import { usageError } from '../errors';
import { repoPath } from '../http';
import { when } from '../output';

type KeyInfo = import('../../core/keys/key-service').PublicKeyInfo;

function printKeys(ctx: Ctx, keys: KeyInfo[], withPublic: boolean): void {
  if (keys.length === 0) return ctx.out.note('no signing keys yet (one is created when the repository first publishes a signed index)');
  ctx.out.table([['KIND', 'FINGERPRINT', 'NAME', 'ACTIVE', 'CREATED'], ...keys.map((k) => [k.kind, k.fingerprint, k.name, k.active ? 'yes' : 'no', when(k.createdAt)])]);
  if (!withPublic) return;
  for (const k of keys.filter((x) => x.active)) {
    ctx.out.line();
    ctx.out.line(k.publicKey.trimEnd());
  }
}

export const keyCommand: Command = {
  name: 'key',
  summary: 'show, import or rotate the repository signing keys',
  usage: `rpcli key show -r <repo> [-y <provider>]                 fingerprints and active public keys
rpcli key import <armored-private-key-file> -r <repo>     replace the OpenPGP key (admin)
rpcli key rotate -r <repo> [--kind openpgp|rsa] [--retire] new key; rsa (apk): both sign until --retire (admin)

Every index of the repository is re-signed after an import or rotation; clients must
then trust the new public key (see rpcli key show).`,
  options: ['repo', 'provider', 'kind', 'retire'],
  async run(ctx) {
    const sub = arg(ctx, 0, 'subcommand: show, import or rotate');
    if (!['show', 'import', 'rotate'].includes(sub)) throw usageError(`unknown key subcommand "${sub}": show, import or rotate`);
    if (sub !== 'rotate' && (ctx.values.kind !== undefined || ctx.values.retire)) throw usageError('--kind and --retire go with key rotate');
    noMoreArgs(ctx, sub === 'import' ? 2 : 1);
    let armored: string | undefined;
    if (sub === 'import') {
      const file = arg(ctx, 1, 'key file (ASCII-armored OpenPGP private key)');
      let st;
      try {
        st = fs.statSync(file);
      } catch {
        throw usageError(`file not found: ${file}`);
      }
      if (!st.isFile() || st.size > 1 << 20) throw usageError(`${file} is not an ASCII-armored key file (a regular file under 1 MiB)`);
      armored = fs.readFileSync(file, 'utf8');
    }
    const kind = ctx.values.kind ?? 'openpgp';
    if (kind !== 'openpgp' && kind !== 'rsa') throw usageError(`--kind is openpgp or rsa, got "${kind}"`);
    const { provider, repo } = await resolveRepo(ctx);
    const base = `${repoPath(provider, repo)}/keys`;
    const api = ctx.api();
    if (sub === 'show') {
      const res = await api.json<{ keys: KeyInfo[] }>('GET', base);
      return ctx.out.json ? ctx.out.data(res) : printKeys(ctx, res.keys, true);
    }
    if (sub === 'import') {
      const res = await api.json<{ key: KeyInfo; republished: string[] }>('POST', `${base}/import`, { armoredPrivateKey: armored });
      if (ctx.out.json) return ctx.out.data(res);
      ctx.out.line(`imported ${res.key.fingerprint} into ${provider}/${repo}; re-signed ${res.republished.length} index scope(s)`);
      return;
    }
    const res = await api.json<{ keys: KeyInfo[]; republished: string[] }>('POST', `${base}/rotate`, { kind, retire: ctx.values.retire ?? false });
    if (ctx.out.json) return ctx.out.data(res);
    printKeys(ctx, res.keys, false);
    ctx.out.note(`${ctx.values.retire ? 'retired the older rsa key' : `rotated the ${kind} key`} of ${provider}/${repo}; re-signed ${res.republished.length} index scope(s)`);
  },
};
