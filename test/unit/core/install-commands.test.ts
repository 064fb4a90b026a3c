/** Each provider's install command and package details for the UI's package pages (issue 17). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getProvider } from '../../../src/core/provider-registry';
import type { InstallTarget } from '../../../src/core/provider';

const ctx = (provider: string) => ({ repo: { id: 1, provider, name: 'team', settings: {} }, repoUrl: `http://127.0.0.1:8080/repo/${provider}/team`, baseUrl: 'http://127.0.0.1:8080' });
const pkg = (p: Partial<InstallTarget>): InstallTarget => ({ name: 'hello', version: '2.10-3', arch: 'amd64', filename: 'f', path: 'p', newest: true, ...p });

test('install commands pin the version in each client’s own syntax', () => {
  assert.equal(getProvider('apt').installCommand!(pkg({}), ctx('apt')), 'sudo apt-get install hello=2.10-3');
  assert.equal(getProvider('pypi').installCommand!(pkg({ name: 'acme-core', version: '1.1.0' }), ctx('pypi')), 'pip install --index-url http://127.0.0.1:8080/repo/pypi/team/simple/ acme-core==1.1.0');
  assert.equal(getProvider('apk').installCommand!(pkg({ version: '1.0-r0' }), ctx('apk')), 'apk add hello=1.0-r0');
  assert.equal(getProvider('pacman').installCommand!(pkg({}), ctx('pacman')), 'sudo pacman -S team/hello');
  // pacman's db lists only the newest version: an older one is installed from its file.
  assert.equal(getProvider('pacman').installCommand!(pkg({ newest: false, path: 'x86_64/hello-1.0-1-x86_64.pkg.tar.zst' }), ctx('pacman')), 'sudo pacman -U http://127.0.0.1:8080/repo/pacman/team/x86_64/hello-1.0-1-x86_64.pkg.tar.zst');
  assert.equal(getProvider('tar').installCommand!(pkg({ path: 'my app/1.0/my app.tar.gz' }), ctx('tar')), 'curl -fLO http://127.0.0.1:8080/repo/tar/team/my%20app/1.0/my%20app.tar.gz');
  assert.equal(getProvider('tar').installCommand!(pkg({ path: "it's/1/x" }), ctx('tar')), "curl -fLO 'http://127.0.0.1:8080/repo/tar/team/it's/1/x'".replace("it's", "it'\\''s"));
});

test('package details: apt’s extended description, pacman’s file list, pypi’s and rpm’s long description', () => {
  const apt = getProvider('apt').packageDetails!({ control: [{ name: 'Package', value: 'hello' }, { name: 'Description', value: 'greets\nThe long part.\n.\nSecond paragraph.' }] });
  assert.deepEqual(apt, { longDescription: 'The long part.\n\nSecond paragraph.' });
  assert.deepEqual(getProvider('pacman').packageDetails!({ info: {}, files: ['usr/', 'usr/bin/hello'], signedBy: 'repository' }), { files: ['usr/', 'usr/bin/hello'] });
  assert.deepEqual(getProvider('pypi').packageDetails!({ description: '# Acme\n\nLong text.' }), { longDescription: '# Acme\n\nLong text.' });
  assert.deepEqual(getProvider('pypi').packageDetails!({}), {});
  const rpm = getProvider('rpm').packageDetails!({ description: 'A tool.', files: [{ path: '/usr/bin/tool', type: 'file' }] });
  assert.deepEqual(rpm, { longDescription: 'A tool.', files: ['/usr/bin/tool'] });
});

test('rpm: dnf install with name-[epoch:]version-release; a source rpm is downloaded', () => {
  assert.equal(getProvider('rpm').installCommand!(pkg({ version: '1:2.0-1', arch: 'x86_64' }), ctx('rpm')), 'sudo dnf install hello-1:2.0-1');
  assert.equal(getProvider('rpm').installCommand!(pkg({ version: '2.0-1', arch: 'src' }), ctx('rpm')), 'dnf download --source hello-2.0-1');
});
