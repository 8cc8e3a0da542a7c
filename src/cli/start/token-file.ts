import { TOKEN_PATTERN } from '../../protocol/types.js';
import { readSecretFile, type SecretFileOwner } from '../secret-file.js';

export type TokenFileOwner = SecretFileOwner;

const RUNNER_TOKEN = { name: 'token', pattern: TOKEN_PATTERN, shape: 'one token, fos_ and 32 letters or digits' };

/** The runner token held by the file at `path`, or the reason it is refused (see readSecretFile). */
export function readTokenFile(path: string, owner?: TokenFileOwner): { token: string } | { problem: string } {
  const read = readSecretFile(path, RUNNER_TOKEN, owner);
  return 'secret' in read ? { token: read.secret } : read;
}
