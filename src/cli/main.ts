/**
 * rpcli: the artifactd command-line client. Entry point: parse the command line, run one
 * command, and turn every failure into ONE line on stderr plus an exit code (errors.ts);
 * never a stack trace.
 */
import { checkAccepted, flagName, parse, GLOBAL_OPTIONS } from './args';
import { resolveConfig } from './config';
import type { Command, Ctx } from './context';
import { CliError, EXIT, usageError } from './errors';
import { Api } from './http';
import { Output } from './output';
import { Progress } from './progress';
import { packageVersion } from '../util/version';
import { downloadCommand } from './commands/download';
import { keyCommand } from './commands/keys';
import { deleteCommand, infoCommand, listCommand, unyank, yank } from './commands/packages';
import { cleanCommand, gcCommand, reindexCommand, settingsCommand, statusCommand } from './commands/repo';
import { auditCommand, webhookCommand } from './commands/ops';
import { tokenCommand } from './commands/tokens';
import { repoCommand } from './commands/repo-kind';
import { uploadCommand } from './commands/upload';

const COMMANDS: Command[] = [uploadCommand, listCommand, infoCommand, downloadCommand, deleteCommand, yank, unyank, cleanCommand, reindexCommand, statusCommand, settingsCommand, repoCommand, keyCommand, tokenCommand, gcCommand, webhookCommand, auditCommand];

const GLOBAL_HELP = `Global options (before or after the command):
  -s, --server <url>     server URL (env RPCLI_SERVER, or the profile's "server")
  -t, --token <token>    API token (env RPCLI_TOKEN, or the profile's "token")
      --profile <name>   profile of the config file (env RPCLI_PROFILE; default: its "default")
      --json             machine-readable JSON on stdout
      --no-progress      no progress bars (they only appear on a terminal anyway)
  -h, --help             help for rpcli or for one command
  -V, --version          rpcli's version (alone; after a command, -i/--version is a package version)

Config file: $RPCLI_CONFIG, or $XDG_CONFIG_HOME/rpcli/config.json, or ~/.config/rpcli/config.json
  {"default": "prod", "profiles": {"prod": {"server": "https://pkgs.example.com", "token": "ad_..."}}}

Exit codes: 0 ok, 1 error reported by the server, 2 usage error or missing local file, 3 not found,
  4 authentication/permission (401/403), 5 conflict (409, e.g. version exists), 6 cannot connect.`;

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `rpcli: command-line client for artifactd package repositories

Usage: rpcli [global options] <command> [options] [arguments]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

info, download, delete, yank and unyank take <package> [<version>], or -p <package> -i <version>
as upload does.

${GLOBAL_HELP}

rpcli <command> --help shows a command's options and examples.
`;
}

function commandHelp(c: Command): string {
  const opts = c.options.length ? `\nOptions: ${c.options.map(flagName).join(', ')} (plus the global ones: ${GLOBAL_OPTIONS.map(flagName).join(', ')})\n` : '';
  return `rpcli ${c.name}: ${c.summary}\n\nUsage:\n${c.usage.replace(/^/gm, '  ')}\n${opts}`;
}

export async function main(argv: string[]): Promise<number> {
  // `--version` alone is rpcli's own version (with a command, `-i/--version` is a package version).
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`rpcli ${packageVersion()}\n`);
    return EXIT.OK;
  }
  const parsed = parse(argv);
  const [name, ...args] = parsed.positionals;
  if (name === undefined || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === args[0]) : undefined;
    if (name === 'help' && args[0] && !topic) throw usageError(`unknown command "${args[0]}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    const text = topic ? commandHelp(topic) : generalHelp();
    if (name === undefined && !parsed.values.help) {
      process.stderr.write(text);
      return EXIT.USAGE;
    }
    process.stdout.write(text);
    return EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw usageError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')} (rpcli --help)`);
  if (parsed.values.help) {
    process.stdout.write(commandHelp(command));
    return EXIT.OK;
  }
  checkAccepted(name, parsed.given, command.options);
  let api: Api | undefined;
  const ctx: Ctx = {
    values: parsed.values,
    args,
    out: new Output(parsed.values.json === true),
    api: () => (api ??= new Api(resolveConfig({ server: parsed.values.server, token: parsed.values.token, profile: parsed.values.profile }))),
    progress: Progress.enabledFor(process.stderr, parsed.values['no-progress'] === true),
  };
  await command.run(ctx);
  return EXIT.OK;
}

/** One line, whatever the error: the message of a CliError, else the error's own message. */
export function describeError(e: unknown): { message: string; code: number } {
  if (e instanceof CliError) return { message: e.message, code: e.exitCode };
  const message = e instanceof Error ? e.message : String(e);
  return { message: message || 'unexpected error', code: EXIT.ERROR };
}

/** The bin entry: run, report, exit. */
export function run(argv: string[] = process.argv.slice(2)): void {
  // `rpcli list | head`: a closed stdout is not an error worth a message.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? EXIT.OK : EXIT.ERROR));
  const fail = (e: unknown) => {
    const { message, code } = describeError(e);
    process.stderr.write(`rpcli: error: ${message.replace(/\s*[\r\n]+\s*/g, ' ')}\n`);
    if (process.env.RPCLI_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    finish(code);
  };
  // Even a bug must end in one line, not a stack trace.
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  main(argv).then((code) => finish(code), fail);
}

/** Exit once stdout has drained (keep-alive sockets would otherwise hold the process open). */
function finish(code: number): void {
  process.stdout.write('', () => process.exit(code));
}
