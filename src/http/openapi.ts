/**
 * OpenAPI 3.1 description of the JSON API (every /api route, plus /addpkg and /healthz).
 * Response schemas are closed (`additionalProperties: false`) so the integration test that
 * checks real responses against them also catches fields that were added without docs.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../core/events';
import { providers } from '../core/provider-registry';

/** `apt dist/component, apk branch, ...`: the extra upload parameters each provider's schema declares. */
function uploadParamNames(): string {
  return providers
    .map((p) => [p.name, p.uploadParams instanceof z.ZodObject ? Object.keys(p.uploadParams.shape as Record<string, unknown>) : []] as const)
    .filter(([, keys]) => keys.length)
    .map(([name, keys]) => `${name} ${keys.join('/')}`)
    .join(', ');
}

/** The further multipart file fields providers accept (`Provider.uploadFileFields`). */
function uploadFileFields(): Record<string, { type: string; format: string; description: string }> {
  const out: Record<string, { type: string; format: string; description: string }> = {};
  for (const p of providers) for (const f of p.uploadFileFields ?? []) out[f] = { type: 'string', format: 'binary', description: `${p.name}: optional file field` };
  return out;
}

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer', minimum: 0 };
const bool: Schema = { type: 'boolean' };
const dateTime: Schema = { type: 'string', format: 'date-time' };
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });
const arr = (items: Schema): Schema => ({ type: 'array', items });
const freeObject = (description: string): Schema => ({ type: 'object', additionalProperties: true, description });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
function obj(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return { type: 'object', properties, required: Object.keys(properties).filter((k) => !optional.includes(k)), additionalProperties: false };
}
const page = { total: int, limit: { type: 'integer', minimum: 1, maximum: 1000 }, offset: int };

const fileProps: Record<string, Schema> = {
  provider: str, repo: str, name: str, version: str,
  arch: { type: 'string', description: "'' for formats without architectures" },
  filename: str, path: { type: 'string', description: 'repository-relative path' }, size: int,
  sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, uploadedAt: dateTime,
  yanked: { type: ['string', 'null'], description: 'null: not yanked; otherwise the reason (may be empty)' },
  hidden: { type: 'boolean', description: 'removed from the index, still downloadable by URL' },
  ...downloadProps(),
};
/** Download statistics, counted in memory and written every DOWNLOAD_FLUSH_SECONDS. */
function downloadProps(): Record<string, Schema> {
  return { downloads: { type: 'integer', minimum: 0, description: 'downloads of the package file(s); index files are not counted' }, lastDownloadedAt: nullable(dateTime) };
}
const packageSummaryProps: Record<string, Schema> = {
  name: str, latestVersion: str, versions: int, files: int, arch: arr(str), size: int, updatedAt: dateTime, description: str, ...downloadProps(),
};
const eventTypes = { type: 'string', enum: [...EVENT_TYPES, '*'] };
const webhookProps: Record<string, Schema> = {
  id: int, url: { type: 'string', format: 'uri' }, events: arr(eventTypes), repoPattern: { type: 'string', description: "glob over repository names, like token patterns" },
  active: bool, description: str, createdAt: dateTime, updatedAt: dateTime,
};
const deliveryProps: Record<string, Schema> = {
  id: int, webhookId: int, eventId: int, event: str, status: { type: 'string', enum: ['pending', 'delivered', 'failed'] }, attempts: int,
  responseCode: nullable(int), durationMs: nullable(int), error: nullable(str), createdAt: dateTime, nextAttemptAt: nullable(dateTime), finishedAt: nullable(dateTime),
};
const retentionProps: Record<string, Schema> = {
  keep: { type: 'integer', minimum: 1, description: 'newest versions kept per package' },
  deleteOlderThanDays: { type: 'integer', minimum: 1, description: 'versions uploaded longer ago go (outside keep, when set)' },
  keepDownloadedWithinDays: { type: 'integer', minimum: 1, description: 'versions downloaded within this many days stay' },
  retentionPattern: { type: 'string', description: 'only packages whose name matches this glob' },
  deleteNewest: { type: 'boolean', description: 'allow deleting the newest version (default false)' },
};
const tokenProps: Record<string, Schema> = {
  id: int, name: str, role: { type: 'string', enum: ['read', 'write', 'admin'] }, repoPattern: str,
  expiresAt: nullable(dateTime), lastUsedAt: nullable(dateTime), createdAt: dateTime, revoked: bool,
};
const keyInfo = obj({ kind: { type: 'string', enum: ['openpgp', 'rsa'] }, name: str, fingerprint: str, publicKey: str, active: bool, createdAt: dateTime });

/** Repository kinds (issue 14): `type` always; the rest for remote or virtual repositories. */
const kindProps: Record<string, Schema> = {
  type: { type: 'string', enum: ['hosted', 'remote', 'virtual'] },
  upstream: { type: 'string', description: 'remote: the upstream URL' },
  remote: obj({ metadataTtl: int, offline: bool, cacheMaxBytes: nullable(int), timeoutSeconds: int, auth: nullable(obj({ type: { type: 'string', enum: ['basic', 'bearer'] }, username: str }, ['username'])) }),
  cache: obj({ files: int, size: int, indexFiles: int, indexSize: int, hits: int, misses: int }),
  members: arr(str),
  mergeRemoteProjects: bool,
};
const kindOptional = ['upstream', 'remote', 'cache', 'members', 'mergeRemoteProjects'];

const schemas: Record<string, Schema> = {
  Error: obj({ error: str, code: str, details: freeObject('extra facts, e.g. validation reasons'), requestId: str }, ['details', 'requestId']),
  Health: obj({ status: { type: 'string', enum: ['ok', 'unavailable'] }, version: str, database: { type: 'string', enum: ['sqlite', 'mysql', 'postgres'] }, blobStore: str, checks: { type: 'object', additionalProperties: str } }),
  Repo: obj({ provider: str, name: str, url: { type: 'string', format: 'uri' }, packages: int, files: int, size: int, ...downloadProps(), lastPublished: nullable(dateTime), settings: freeObject('repository settings'), ...kindProps }, kindOptional),
  RepoKind: obj({ provider: str, name: str, ...kindProps }, kindOptional),
  CacheList: obj({ ...page, files: arr(obj({ path: str, kind: { type: 'string', enum: ['index', 'package'] }, size: int, sha256: str, contentType: str, origin: { type: 'string', description: 'the upstream URL the bytes came from' }, fetchedAt: dateTime, lastUsedAt: dateTime })) }),
  RepoList: obj({ ...page, repos: arr(ref('Repo')) }),
  PackageSummary: obj(packageSummaryProps),
  PackageList: obj({ ...page, packages: arr(ref('PackageSummary')) }),
  StoredFile: obj(fileProps),
  PackageFile: obj({ ...fileProps, url: { type: 'string', format: 'uri' }, meta: freeObject('display metadata: description, license, url, depends, format specifics') }),
  PackageDetail: obj({ name: str, provider: str, repo: str, latestVersion: str, ...downloadProps(), ...page, versions: arr(obj({ version: str, ...downloadProps(), files: arr(ref('PackageFile')) })) }),
  VersionDetail: obj({ provider: str, repo: str, name: str, version: str, ...downloadProps(), files: arr(ref('PackageFile')) }),
  SearchResults: obj({ q: str, ...page, results: arr(obj({ ...packageSummaryProps, provider: str, repo: str, api: { type: 'string', format: 'uri' }, page: { type: 'string', format: 'uri' } })) }),
  Upload: obj({ ...fileProps, url: { type: 'string', format: 'uri' }, published: { type: 'boolean', description: 'false with ?wait=0 (202)' } }),
  Deleted: obj({ deleted: int }),
  Yanked: obj({ yanked: int }),
  Unyanked: obj({ unyanked: int }),
  Token: obj(tokenProps),
  TokenCreated: obj({ token: { type: 'string', description: 'the secret, shown only here' }, ...tokenProps }),
  TokenList: obj({ tokens: arr(ref('Token')) }),
  TokenRevoked: obj({ revoked: int }),
  Settings: obj({ provider: str, repo: str, settings: freeObject('repository settings') }),
  SettingsUpdated: obj({ provider: str, repo: str, settings: freeObject('repository settings'), republished: arr(str) }),
  CleanResult: obj({
    keep: nullable(int), rules: obj(retentionProps, Object.keys(retentionProps)), dryRun: bool,
    removed: arr(obj({ ...fileProps, reason: { type: 'string', description: 'which rules remove it' } })),
  }),
  Webhook: obj(webhookProps),
  WebhookCreated: obj({ ...webhookProps, secret: { type: 'string', description: 'only when the server generated it: shown here once' } }, ['secret']),
  WebhookList: obj({ webhooks: arr(ref('Webhook')) }),
  WebhookDeleted: obj({ deleted: int }),
  Delivery: obj(deliveryProps),
  DeliveryList: obj({ ...page, deliveries: arr(ref('Delivery')) }),
  AuditList: obj({
    ...page,
    entries: arr(obj({
      id: int, at: dateTime, actor: obj({ id: nullable(int), name: { type: 'string', description: 'token name, anonymous or system' } }), clientIp: str, action: str,
      provider: nullable(str), repo: nullable(str), target: str, outcome: { type: 'string', enum: ['ok', 'denied', 'refused', 'error'] }, status: int, detail: nullable(str),
    })),
  }),
  ReindexResult: obj({ provider: str, repo: str, rendered: int, changed: int, skipped: int, republished: arr(str) }),
  RepoStatus: obj({
    provider: str, repo: str, packages: int, versions: int, files: int, totalSize: int,
    perArch: { type: 'object', additionalProperties: int, description: 'distinct package names per architecture' },
    yanked: int, lastPublished: nullable(dateTime),
    scopes: arr(obj({ scope: str, publishedSeq: int, requestedSeq: int, publishedAt: nullable(dateTime) })),
  }),
  BatchUpload: obj({
    stored: int, failed: int, published: { type: 'boolean', description: 'false with ?wait=0' },
    results: arr({ type: 'object', required: ['file', 'status'], properties: { file: { type: 'string', description: 'the file name sent' }, status: int, error: str, code: str }, additionalProperties: true, description: 'one per file, in order: the /addpkg answer, or {error, code}' }),
  }),
  PublishState: obj({ provider: str, repo: str, scopes: arr(obj({ scope: str, publishedSeq: int, requestedSeq: int, publishedAt: nullable(dateTime) })) }),
  KeyList: obj({ keys: arr(keyInfo) }),
  KeyImported: obj({ key: keyInfo, republished: arr(str) }),
  KeysRotated: obj({ keys: arr(keyInfo), republished: arr(str) }),
  GcResult: obj({ scanned: int, deleted: int, deletedBytes: int, kept: int, tempFilesDeleted: int, dryRun: bool }),
};

type Auth = 'none' | 'read' | 'write' | 'admin';
interface OpSpec {
  summary: string;
  tag: string;
  params?: Schema[];
  auth: Auth;
  body?: Schema;
  ok: [number, string];
  errors?: number[];
}

const pathParam = (name: string, description: string, schema: Schema = str): Schema => ({ name, in: 'path', required: true, description, schema });
const query = (name: string, description: string, schema: Schema, required = false): Schema => ({ name, in: 'query', required, description, schema });
const P = {
  provider: () => pathParam('provider', 'repository format', { type: 'string', enum: providers.map((p) => p.name) }),
  repo: pathParam('repo', 'repository name'),
  name: pathParam('name', 'package name (PyPI names match normalized)'),
  version: pathParam('version', 'package version'),
  limit: query('limit', 'page size (default 100)', { type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
  offset: query('offset', 'items to skip', { type: 'integer', minimum: 0, default: 0 }),
};
const repoParams = () => [P.provider(), P.repo];
const hookId = pathParam('id', 'webhook id', { type: 'integer', minimum: 1 });
const errorText: Record<number, string> = { 400: 'bad request', 401: 'no or unknown token', 403: 'token lacks the role or repository', 404: 'no such repository, package or version', 409: 'already exists', 413: 'upload too large' };

function op(o: OpSpec): Schema {
  const responses: Record<string, Schema> = {
    [String(o.ok[0])]: { description: 'success', content: { 'application/json': { schema: ref(o.ok[1]) } } },
  };
  const errors = new Set([...(o.errors ?? []), ...(o.auth === 'none' || o.auth === 'read' ? [] : [401, 403])]);
  if (o.auth === 'read') errors.add(401).add(403); // private repositories
  for (const e of [...errors].sort()) responses[String(e)] = { description: errorText[e] ?? 'error', content: { 'application/json': { schema: ref('Error') } } };
  const security = o.auth === 'none' ? [] : o.auth === 'read' ? [{}, { bearerAuth: [] }, { basicAuth: [] }] : [{ bearerAuth: [] }, { basicAuth: [] }];
  return {
    summary: o.summary,
    tags: [o.tag],
    ...(o.auth === 'none' ? {} : { description: `Token role needed: ${o.auth === 'read' ? 'none for public repositories, read for private ones' : o.auth}.` }),
    parameters: o.params ?? [],
    ...(o.body ? { requestBody: { required: true, content: { 'application/json': { schema: o.body } } } } : {}),
    security,
    responses,
  };
}

function withResponse(operation: Schema, status: number, description: string, schema: string): Schema {
  const responses = { ...(operation.responses as Record<string, Schema>), [String(status)]: { description, content: { 'application/json': { schema: ref(schema) } } } };
  return { ...operation, responses };
}

export function openApiDocument(serverUrl: string): Schema {
  const repo = '/api/repos/{provider}/{repo}';
  const pkg = `${repo}/packages/{name}`;
  return {
    openapi: '3.1.0',
    info: { title: 'artifactd API', version: '1', description: `Self-hosted package repositories (${providers.map((p) => p.name).join(', ')}): uploads, browsing, administration.` },
    servers: [{ url: serverUrl }],
    tags: [{ name: 'read' }, { name: 'write' }, { name: 'admin' }],
    paths: {
      '/healthz': { get: op({ summary: 'Health: database and blob store reachable', tag: 'read', auth: 'none', ok: [200, 'Health'], errors: [] }) },
      '/addpkg': {
        post: {
          ...withResponse(op({ summary: 'Upload a package (repository created on first upload)', tag: 'write', auth: 'write', ok: [201, 'Upload'], errors: [400, 409, 413] }), 202, 'stored; the index is published in the background (?wait=0)', 'Upload'),
          parameters: [
            query('provider', 'format; detected from the bytes when omitted', { type: 'string', enum: providers.map((p) => p.name) }),
            query('reponame', 'repository', str, true),
            query('name', 'package name (tar: required; others: must match the package)', str),
            query('version', 'version (tar: required; others: must match the package)', str),
            query('wait', '0: answer 202 once stored, before the index is published', { type: 'string', enum: ['0', '1'] }),
          ],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: { type: 'object', required: ['f'], properties: { f: { type: 'string', format: 'binary' }, ...uploadFileFields() }, additionalProperties: { type: 'string', description: `query parameters may also be form fields; provider extras: ${uploadParamNames()}` } },
              },
            },
          },
        },
      },
      '/addpkg/batch': {
        post: {
          ...withResponse(withResponse(op({ summary: 'Upload many packages in one request: each checked as on /addpkg, one transaction, one publish', tag: 'write', auth: 'write', ok: [201, 'BatchUpload'], errors: [400, 413] }), 202, 'every file stored (?wait=0)', 'BatchUpload'), 207, 'some files refused (each result says why), the others stored', 'BatchUpload'),
          parameters: [
            query('provider', 'format; detected per file when omitted', { type: 'string', enum: providers.map((p) => p.name) }),
            query('reponame', 'repository', str, true),
            query('wait', '0: answer once stored, before the index is published', { type: 'string', enum: ['0', '1'] }),
          ],
          requestBody: {
            required: true,
            content: { 'multipart/form-data': { schema: { type: 'object', required: ['f'], properties: { f: { type: 'array', items: { type: 'string', format: 'binary' }, maxItems: 1000 } }, additionalProperties: { type: 'string', description: 'as /addpkg; an extra file (pacman sig) named <package file>.sig goes with that package' } } } },
          },
        },
      },
      '/api/openapi.json': { get: { summary: 'This document', tags: ['read'], security: [], responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
      '/api/search': { get: op({ summary: 'Search package names and descriptions across repositories', tag: 'read', auth: 'none', params: [query('q', 'text to find (case-insensitive substring)', { type: 'string', minLength: 1, maxLength: 200 }, true), P.limit, P.offset], ok: [200, 'SearchResults'], errors: [400] }) },
      '/api/repos': { get: op({ summary: 'Repositories the caller may read', tag: 'read', auth: 'none', params: [P.limit, P.offset], ok: [200, 'RepoList'] }) },
      [repo]: {
        get: op({ summary: 'One repository (with its kind: upstream and cache figures, or members)', tag: 'read', auth: 'read', params: repoParams(), ok: [200, 'Repo'], errors: [400, 404] }),
        put: withResponse(op({
          summary: 'Create or change a remote (pull-through cache) or virtual repository', tag: 'admin', auth: 'admin', params: repoParams(), ok: [200, 'RepoKind'], errors: [400, 409],
          body: {
            oneOf: [
              obj({ type: { const: 'remote' }, upstream: { type: 'string', format: 'uri' }, metadataTtl: { type: 'integer', minimum: 0, default: 600 }, offline: bool, cacheMaxBytes: nullable({ type: 'integer', minimum: 1 }), timeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 30 }, auth: nullable({ type: 'object', description: '{"type":"basic","username","password"} or {"type":"bearer","token"}; sealed, never shown again; omitted keeps the stored one' }) }, ['metadataTtl', 'offline', 'cacheMaxBytes', 'timeoutSeconds', 'auth']),
              obj({ type: { const: 'virtual' }, members: arr(str), mergeRemoteProjects: bool }, ['mergeRemoteProjects']),
            ],
          },
        }), 201, 'created', 'RepoKind'),
      },
      [`${repo}/cache`]: { get: op({ summary: 'What a remote repository cached: path, origin, fetch and last-use time', tag: 'read', auth: 'read', params: [...repoParams(), P.limit, P.offset], ok: [200, 'CacheList'], errors: [400, 404] }) },
      [`${repo}/packages`]: { get: op({ summary: 'Packages of a repository, by name', tag: 'read', auth: 'read', params: [...repoParams(), query('q', 'filter: substring of name or description', str), P.limit, P.offset], ok: [200, 'PackageList'], errors: [400, 404] }) },
      [pkg]: {
        get: op({ summary: 'One package: its versions (newest first, paginated) and their files', tag: 'read', auth: 'read', params: [...repoParams(), P.name, P.limit, P.offset], ok: [200, 'PackageDetail'], errors: [400, 404] }),
        delete: op({ summary: 'Delete every version of a package (republishes)', tag: 'admin', auth: 'admin', params: [...repoParams(), P.name], ok: [200, 'Deleted'], errors: [400, 404] }),
      },
      [`${pkg}/versions/{version}`]: { get: op({ summary: 'One version and its files', tag: 'read', auth: 'read', params: [...repoParams(), P.name, P.version], ok: [200, 'VersionDetail'], errors: [400, 404] }) },
      [`${pkg}/{version}`]: { delete: op({ summary: 'Delete one version (republishes)', tag: 'admin', auth: 'admin', params: [...repoParams(), P.name, P.version], ok: [200, 'Deleted'], errors: [400, 404] }) },
      [`${pkg}/{version}/yank`]: {
        post: op({ summary: 'Yank a version (PyPI: stays listed with the reason; others: leaves the index)', tag: 'write', auth: 'write', params: [...repoParams(), P.name, P.version], body: { type: 'object', properties: { reason: { type: 'string', maxLength: 1000 } }, additionalProperties: false }, ok: [200, 'Yanked'], errors: [400, 404] }),
        delete: op({ summary: 'Un-yank a version', tag: 'write', auth: 'write', params: [...repoParams(), P.name, P.version], ok: [200, 'Unyanked'], errors: [400, 404] }),
      },
      '/api/tokens': {
        get: op({ summary: 'List tokens (secrets are never shown again)', tag: 'admin', auth: 'admin', ok: [200, 'TokenList'] }),
        post: op({
          summary: 'Create a token', tag: 'admin', auth: 'admin', ok: [201, 'TokenCreated'], errors: [400],
          body: obj({ name: { type: 'string', minLength: 1, maxLength: 128 }, role: { type: 'string', enum: ['read', 'write', 'admin'] }, repoPattern: { type: 'string', description: "glob over repository names, default '*'" }, expiresInDays: { type: 'integer', minimum: 1, maximum: 36500 } }, ['repoPattern', 'expiresInDays']),
        }),
      },
      '/api/tokens/{id}': { delete: op({ summary: 'Revoke a token', tag: 'admin', auth: 'admin', params: [pathParam('id', 'token id', { type: 'integer', minimum: 1 })], ok: [200, 'TokenRevoked'], errors: [400, 404] }) },
      [`${repo}/settings`]: {
        get: op({ summary: 'Repository settings', tag: 'admin', auth: 'admin', params: repoParams(), ok: [200, 'Settings'], errors: [400, 404] }),
        patch: op({
          summary: 'Change settings (null removes one); index settings republish', tag: 'admin', auth: 'admin', params: repoParams(), ok: [200, 'SettingsUpdated'], errors: [400, 404],
          body: {
            type: 'object', additionalProperties: false,
            properties: {
              keep: nullable({ type: 'integer', minimum: 1 }), overwrite: nullable(bool), private: nullable(bool), arches: { type: ['array', 'null'], items: str },
              validDays: nullable({ type: 'integer', minimum: 1, maximum: 3650 }), origin: nullable(str), label: nullable(str), description: nullable(str),
              ...Object.fromEntries(Object.entries(retentionProps).map(([k, v]) => [k, nullable(v)])),
            },
          },
        }),
      },
      [`${repo}/reindex`]: { post: op({ summary: 'Render every index entry again from stored metadata, re-sign what the repository key signed, republish once', tag: 'admin', auth: 'admin', params: repoParams(), body: obj({}, []), ok: [200, 'ReindexResult'], errors: [400, 404] }) },
      [`${repo}/clean`]: { post: op({ summary: "Apply retention rules (the repository's, each overridable here); dryRun lists what would go", tag: 'admin', auth: 'admin', params: repoParams(), body: obj({ ...retentionProps, dryRun: bool, name: { type: 'string', description: 'only this package' } }, [...Object.keys(retentionProps), 'dryRun', 'name']), ok: [200, 'CleanResult'], errors: [400, 404] }) },
      [`${repo}/publish`]: { post: op({ summary: 'Publish what uploads with ?wait=0 left pending; answers once it is served', tag: 'write', auth: 'write', params: repoParams(), ok: [200, 'PublishState'], errors: [400, 404] }) },
      [`${repo}/status`]: { get: op({ summary: 'Counts, sizes and publish state per index scope', tag: 'read', auth: 'read', params: repoParams(), ok: [200, 'RepoStatus'], errors: [400, 404] }) },
      [`${repo}/keys`]: { get: op({ summary: 'Public signing keys of the repository', tag: 'read', auth: 'read', params: repoParams(), ok: [200, 'KeyList'], errors: [400, 404] }) },
      [`${repo}/keys/import`]: { post: op({ summary: 'Import an OpenPGP private key (republishes)', tag: 'admin', auth: 'admin', params: repoParams(), body: obj({ armoredPrivateKey: str }), ok: [200, 'KeyImported'], errors: [400, 404] }) },
      [`${repo}/keys/rotate`]: { post: op({ summary: 'Rotate a signing key (republishes)', tag: 'admin', auth: 'admin', params: repoParams(), body: obj({ kind: { type: 'string', enum: ['openpgp', 'rsa'] }, retire: bool }, ['kind', 'retire']), ok: [200, 'KeysRotated'], errors: [400, 404] }) },
      '/api/gc': { post: op({ summary: 'Delete blobs nothing references', tag: 'admin', auth: 'admin', body: obj({ dryRun: bool }, ['dryRun']), ok: [200, 'GcResult'], errors: [400] }) },
      '/api/webhooks': {
        get: op({ summary: 'List webhooks (secrets are never shown)', tag: 'admin', auth: 'admin', ok: [200, 'WebhookList'] }),
        post: op({
          summary: 'Create a webhook', tag: 'admin', auth: 'admin', ok: [201, 'WebhookCreated'], errors: [400],
          body: obj({ url: { type: 'string', format: 'uri' }, secret: { type: 'string', minLength: 16, description: 'HMAC key; generated (and shown once) when omitted' }, events: arr(eventTypes), repoPattern: str, active: bool, description: str }, ['secret', 'events', 'repoPattern', 'active', 'description']),
        }),
      },
      '/api/webhooks/{id}': {
        get: op({ summary: 'One webhook', tag: 'admin', auth: 'admin', params: [hookId], ok: [200, 'Webhook'], errors: [400, 404] }),
        patch: op({
          summary: 'Change a webhook', tag: 'admin', auth: 'admin', params: [hookId], ok: [200, 'Webhook'], errors: [400, 404],
          body: obj({ url: { type: 'string', format: 'uri' }, secret: { type: 'string', minLength: 16 }, events: arr(eventTypes), repoPattern: str, active: bool, description: str }, ['url', 'secret', 'events', 'repoPattern', 'active', 'description']),
        }),
        delete: op({ summary: 'Delete a webhook and its delivery records', tag: 'admin', auth: 'admin', params: [hookId], ok: [200, 'WebhookDeleted'], errors: [400, 404] }),
      },
      '/api/webhooks/{id}/test': { post: op({ summary: 'Queue a ping event to this webhook alone', tag: 'admin', auth: 'admin', params: [hookId], ok: [202, 'Delivery'], errors: [400, 404] }) },
      '/api/webhooks/{id}/deliveries': {
        get: op({ summary: 'Deliveries of a webhook, newest first', tag: 'admin', auth: 'admin', params: [hookId, query('status', 'only this state', { type: 'string', enum: ['pending', 'delivered', 'failed'] }), P.limit, P.offset], ok: [200, 'DeliveryList'], errors: [400, 404] }),
      },
      '/api/webhooks/{id}/deliveries/{delivery}/redeliver': { post: op({ summary: 'Send one delivery again (same id and body)', tag: 'admin', auth: 'admin', params: [hookId, pathParam('delivery', 'delivery id', { type: 'integer', minimum: 1 })], ok: [202, 'Delivery'], errors: [400, 404] }) },
      '/api/audit': {
        get: op({
          summary: 'The audit log, newest first', tag: 'admin', auth: 'admin', ok: [200, 'AuditList'], errors: [400],
          params: [
            query('provider', 'repository format', str), query('repo', 'repository name', str), query('actor', 'token name (or anonymous, system)', str),
            query('action', "action, or a kind such as 'package.*'", str), query('outcome', 'ok, denied, refused or error', { type: 'string', enum: ['ok', 'denied', 'refused', 'error'] }),
            query('since', 'from (ISO 8601 or epoch ms, inclusive)', str), query('until', 'to (exclusive)', str), P.limit, P.offset,
          ],
        }),
      },
    },
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' },
        basicAuth: { type: 'http', scheme: 'basic', description: 'any user name (e.g. __token__), the token as password' },
      },
    },
  };
}
