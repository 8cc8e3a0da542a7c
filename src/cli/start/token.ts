/** The runner token: from `--token` or from the file `--token-file` names, checked before any request. */
import { resolve } from 'node:path';
import { TOKEN_PATTERN } from '../../protocol/types.js';
import { preview } from '../../runner/logger.js';
import { RUNNER_SETTINGS } from './declarations.js';
import { NO_FILE_SETTINGS, outranks, settingValue, type FileSettings, type SettingSource } from './precedence.js';
import { commandLineSecretWarning } from '../secret-file.js';
import { readTokenFile, type TokenFileOwner } from './token-file.js';

const { token: TOKEN, tokenFile: TOKEN_FILE } = RUNNER_SETTINGS;

/**
 * The token, from `--token` or from the file `--token-file` names, whichever is given at the higher level (flags > env >
 * file); both at the same level is a mistake worth saying. Problems never show more of a token than its preview.
 */
export function resolveToken(
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file: FileSettings = NO_FILE_SETTINGS,
  owner?: TokenFileOwner,
): { token?: string; tokenFile?: string; problem?: string } {
  const direct = settingValue(TOKEN, flags, env, file);
  const named = settingValue(TOKEN_FILE, flags, env, file);
  if (named.value !== undefined) {
    if (direct.value !== undefined && direct.source === named.source)
      return { problem: `both a token and a token file are given (${SOURCE_NAMES[direct.source]}); give only one of them` };
    if (direct.value === undefined || outranks(named.source, direct.source)) {
      const tokenFile = resolve(named.value);
      const read = readTokenFile(tokenFile, owner);
      return 'token' in read ? { token: read.token, tokenFile } : { problem: read.problem };
    }
  }
  const token = direct.value;
  if (token === undefined)
    return {
      problem:
        `${TOKEN.env} is required (set ${TOKEN.env}, or pass --token-file=PATH of a file only you can read; ` +
        'issue a token from the dashboard → Settings → Runner Tokens)',
    };
  if (!TOKEN_PATTERN.test(token))
    return {
      problem:
        `token ${preview(token)} (${token.length} characters) must match fos_<32 alphanumeric>; ` +
        'copy it again or re-issue a fresh token from the dashboard',
    };
  return { token };
}

const SOURCE_NAMES: Record<SettingSource, string> = {
  flag: '--token and --token-file',
  env: `${TOKEN.env} and ${TOKEN_FILE.env}`,
  file: 'the config file\'s "token" and "token-file"',
  default: 'defaults',
};

/** A token on the command line is in every local user's `ps`, and in the shell's history. */
export function commandLineTokenWarnings(flags: Record<string, string>): string[] {
  const token = flags[TOKEN.flag];
  if (token === undefined) return [];
  return [
    commandLineSecretWarning({
      what: `the token (${preview(token)})`,
      flag: TOKEN.flag,
      instead: `set ${TOKEN.env} in the environment instead, or put it in a file only you can read and pass --token-file=PATH`,
    }),
  ];
}
