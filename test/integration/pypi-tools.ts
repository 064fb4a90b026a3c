/**
 * Helpers for the pypi integration tests: the real pip (in fresh venvs) and Debian's twine,
 * run asynchronously (the server under test lives in this same process, so a synchronous
 * child would block it), isolated from the host's pip configuration and PIP_* variables.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Member } from '../unit/pypi/helpers';

export interface RunResult {
  code: number;
  out: string;
}

/** The environment minus anything that configures pip or twine on this host. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('PIP_') || k.startsWith('TWINE_') || k === 'PYTHONPATH') continue;
    env[k] = v;
  }
  return { ...env, PIP_CONFIG_FILE: '/dev/null', ...extra };
}

export function run(cmd: string, args: string[], env: Record<string, string> = cleanEnv(), cwd?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** A fresh venv (with the pip that python3's ensurepip bundles); returns its python. */
export async function makeVenv(dir: string): Promise<string> {
  const r = await run('python3', ['-m', 'venv', dir]);
  if (r.code !== 0) throw new Error(`python3 -m venv failed:\n${r.out}`);
  return path.join(dir, 'bin', 'python');
}

/** `<python> -m pip --isolated <cmd> --no-cache-dir ...`: no config file, no PIP_* variables, no cache. */
export function pip(python: string, cmd: string, args: string[], home?: string): Promise<RunResult> {
  return run(python, ['-m', 'pip', '--isolated', cmd, '--no-cache-dir', '--disable-pip-version-check', '--no-input', ...args], cleanEnv(home ? { HOME: home } : {}));
}

/** Debian's twine with the token as password; HOME points at an empty dir (no ~/.pypirc). */
export function twine(url: string, token: string, files: string[], home: string, extra: string[] = []): Promise<RunResult> {
  return run('twine', ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', url, '-u', '__token__', '-p', token, ...extra, ...files], cleanEnv({ HOME: home, COLUMNS: '200', NO_COLOR: '1' }));
}

/**
 * An sdist's in-tree PEP 517 backend with no build requirements, so pip can prepare its
 * metadata offline (it copies PKG-INFO to METADATA) and build a pure wheel of `<pkg>/`.
 */
export function inTreeBackend(distName: string, version: string, pkg: string): Member[] {
  const distInfo = `${distName}-${version}.dist-info`;
  return [
    { name: 'pyproject.toml', text: '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n' },
    { name: `${pkg}/__init__.py`, text: `VERSION = ${JSON.stringify(`${version} (sdist)`)}\n` },
    {
      name: 'backend.py',
      text: [
        'import os, zipfile',
        'HERE = os.path.dirname(os.path.abspath(__file__))',
        `DIST_INFO = ${JSON.stringify(distInfo)}`,
        'def get_requires_for_build_wheel(config_settings=None): return []',
        'def _meta(): return open(os.path.join(HERE, "PKG-INFO"), "rb").read()',
        'def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):',
        '    d = os.path.join(metadata_directory, DIST_INFO)',
        '    os.makedirs(d)',
        '    open(os.path.join(d, "METADATA"), "wb").write(_meta())',
        '    return DIST_INFO',
        'def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):',
        `    name = ${JSON.stringify(`${distName}-${version}-py3-none-any.whl`)}`,
        '    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:',
        `        z.write(os.path.join(HERE, ${JSON.stringify(pkg)}, "__init__.py"), ${JSON.stringify(`${pkg}/__init__.py`)})`,
        '        z.writestr(DIST_INFO + "/METADATA", _meta())',
        '        z.writestr(DIST_INFO + "/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
        '        z.writestr(DIST_INFO + "/RECORD", "")',
        '    return name',
        '',
      ].join('\n'),
    },
  ];
}

export interface LogLine {
  msg: string;
  [k: string]: unknown;
}

export function parseLogs(lines: string[]): LogLine[] {
  return lines.map((l) => JSON.parse(l) as LogLine);
}

/** Server access log lines (msg 'request') for one path. */
export function requestsFor(lines: string[], p: string): LogLine[] {
  return parseLogs(lines).filter((l) => l.msg === 'request' && l.path === p);
}
