import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openPrivateKey, sealPrivateKey } from '../../../src/core/keys/at-rest';
import { generateOpenPgpKey, makeOpenPgpSigner } from '../../../src/core/keys/openpgp-signer';

test('MASTER_KEY seals private keys at rest and only the same key opens them', () => {
  const sealed = sealPrivateKey('-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc', 'master-key-0123456789');
  assert.match(sealed, /^enc:v1:/);
  assert.doesNotMatch(sealed, /PRIVATE KEY/);
  assert.equal(openPrivateKey(sealed, 'master-key-0123456789'), '-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc');
  assert.throws(() => openPrivateKey(sealed, 'another-key-0123456789'));
  assert.throws(() => openPrivateKey(sealed, undefined), /MASTER_KEY/);
  assert.equal(sealPrivateKey('plain', undefined), 'plain');
});

test('generated keys are v4 Ed25519 and their signatures verify with gpgv (SHA-512 digest)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-'));
  const k = await generateOpenPgpKey('artifactd test', 'test@artifactd.invalid');
  const signer = await makeOpenPgpSigner(k.privateArmored);
  assert.equal(signer.fingerprint, k.fingerprint);
  assert.equal(signer.publicKeyBinary[0] & 0xc0, 0xc0, 'raw OpenPGP packets, not armor');
  fs.writeFileSync(path.join(dir, 'key.gpg'), signer.publicKeyBinary);
  fs.writeFileSync(path.join(dir, 'data'), 'payload\n');
  fs.writeFileSync(path.join(dir, 'data.sig'), await signer.detachSignFile(path.join(dir, 'data')));
  execFileSync('gpgv', ['--keyring', path.join(dir, 'key.gpg'), path.join(dir, 'data.sig'), path.join(dir, 'data')], { stdio: 'pipe' });
  const packets = execFileSync('gpg', ['--list-packets', path.join(dir, 'data.sig')], { encoding: 'utf8', env: { ...process.env, GNUPGHOME: dir } });
  assert.match(packets, /signature packet: algo 22/); // EdDSA
  assert.match(packets, /version 4,/);
  assert.match(packets, /digest algo 10/);
  fs.writeFileSync(path.join(dir, 'data'), 'tampered\n');
  assert.throws(() => execFileSync('gpgv', ['--keyring', path.join(dir, 'key.gpg'), path.join(dir, 'data.sig'), path.join(dir, 'data')], { stdio: 'pipe' }));
});
