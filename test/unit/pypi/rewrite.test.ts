import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestView } from '../../../src/core/provider';
import { chooseSerialisation, negotiate } from '../../../providers/pypi/rewrite';
import { pypiProvider } from '../../../providers/pypi/index';
import { py } from './helpers';

// The Accept header of the installed pip, taken from its own source.
const PIP_ACCEPT = py(`import inspect, re
from pip._internal.index import collector
s = inspect.getsource(collector._get_simple_response)
print(", ".join(re.findall(r'"((?:application|text)/[^"]+)"', s)), end='')`);
const UV_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const req = (path: string, accept = PIP_ACCEPT, query: Record<string, string> = {}, method = 'GET'): RequestView => ({ path, method, accept, query });
const rw = (r: RequestView) => pypiProvider.rewrite!(r);

test('content negotiation', () => {
  assert.match(PIP_ACCEPT, /^application\/vnd\.pypi\.simple\.v1\+json, .*q=0\.1.*text\/html; q=0\.01$/);
  assert.equal(negotiate(PIP_ACCEPT), 'json');
  assert.equal(negotiate(UV_ACCEPT), 'json');
  assert.equal(negotiate(BROWSER), 'html');
  assert.equal(negotiate('*/*'), 'html', 'tie: HTML, the PEP 503 default');
  assert.equal(negotiate('application/vnd.pypi.simple.latest+json'), 'json');
  assert.equal(negotiate('application/vnd.pypi.simple.v1+html'), 'html');
  assert.equal(negotiate('text/*;q=0.5, application/vnd.pypi.simple.v1+json;q=0.6'), 'json');
  assert.equal(negotiate('text/html;q=0.5, application/*;q=0.6'), 'html', 'application/* also covers v1+html: tie');
  assert.equal(negotiate('application/vnd.pypi.simple.v1+json;q=0, */*'), 'html');
  assert.equal(negotiate('application/json'), null);
  assert.equal(negotiate('text/html;q=0'), null);
  assert.equal(chooseSerialisation('application/json', undefined), 'html', 'unsupported only: HTML fallback');
  assert.equal(chooseSerialisation('', undefined), 'html');
  assert.equal(chooseSerialisation(PIP_ACCEPT, 'text/html'), 'html', '?format= overrides Accept');
  assert.equal(chooseSerialisation('text/html', 'application/vnd.pypi.simple.v1+json'), 'json');
  assert.equal(chooseSerialisation('text/html', 'json'), 'json');
  assert.equal(chooseSerialisation(PIP_ACCEPT, 'bogus/type'), 'json', 'unusable ?format= falls back to Accept');
});

test('index roots: <repo>/ and <repo>/simple/', () => {
  assert.deepEqual(rw(req('')), { path: 'simple/index.json', vary: 'Accept' });
  assert.deepEqual(rw(req('simple/', BROWSER)), { path: 'simple/index.html', vary: 'Accept' });
  assert.deepEqual(rw(req('simple')), { redirect: 'simple/' });
  assert.deepEqual(rw(req('', PIP_ACCEPT, {}, 'HEAD')), { path: 'simple/index.json', vary: 'Accept' });
});

test('project pages, redirects to the normalized slash form', () => {
  assert.deepEqual(rw(req('demo-pkg/')), { path: 'simple/demo-pkg/index.json', vary: 'Accept' });
  assert.deepEqual(rw(req('simple/demo-pkg/', 'text/html')), { path: 'simple/demo-pkg/index.html', vary: 'Accept' });
  assert.deepEqual(rw(req('Demo.Pkg/')), { redirect: 'demo-pkg/' });
  assert.deepEqual(rw(req('simple/Demo_Pkg/')), { redirect: 'simple/demo-pkg/' });
  assert.deepEqual(rw(req('demo-pkg')), { redirect: 'demo-pkg/' });
  assert.deepEqual(rw(req('simple/Demo__Pkg')), { redirect: 'simple/demo-pkg/' });
});

test('left to the core: files, stored index paths, uploads, non-project names', () => {
  assert.equal(rw(req('files/demo-pkg/demo_pkg-1.0-py3-none-any.whl')), null);
  assert.equal(rw(req('files/demo-pkg/demo_pkg-1.0-py3-none-any.whl.metadata')), null);
  assert.equal(rw(req('files')), null);
  assert.equal(rw(req('files/')), null);
  assert.equal(rw(req('simple/index.json')), null);
  assert.equal(rw(req('simple/demo-pkg/index.html')), null);
  assert.equal(rw(req('', PIP_ACCEPT, {}, 'POST')), null, 'twine uploads are never redirected or rewritten');
  assert.equal(rw(req('legacy/', PIP_ACCEPT, {}, 'POST')), null);
  assert.equal(rw(req('-bad-/')), null);
  assert.equal(rw(req('a b/')), null);
});
