import { join } from 'node:path';

/**
 * Where people keep the keys to everything else, relative to their home directory: hidden in the sandbox unless the
 * user exposes one (`--expose`), and never granted to a job as an extra directory unless the user allows it
 * (`--allow-dir`). An agent CLI's own login is not among them: the adapter declares it, and its runs need it.
 */
export const CREDENTIAL_STORES: readonly string[] = [
  // Shell and transfer keys
  '.ssh',
  '.gnupg',
  '.netrc',
  '.password-store',
  '.local/share/keyrings',
  // Clouds and clusters
  '.aws',
  '.azure',
  '.config/gcloud',
  '.kube',
  '.docker/config.json',
  '.vault-token',
  '.terraform.d/credentials.tfrc.json',
  '.config/doctl',
  '.oci',
  // Code hosts and package registries
  '.git-credentials',
  '.config/git/credentials',
  '.config/gh',
  '.config/hub',
  '.config/glab-cli',
  '.npmrc',
  '.yarnrc.yml',
  '.pypirc',
  '.gem/credentials',
  '.cargo/credentials',
  '.cargo/credentials.toml',
  // Password managers' CLIs
  '.config/op',
  '.config/Bitwarden CLI',
  // Browsers: their cookies and saved passwords are every web login of the user
  '.mozilla',
  '.config/google-chrome',
  '.config/chromium',
  '.config/BraveSoftware',
];

/** The credential stores of the user whose home is `home`, as absolute paths (whether they exist or not). */
export function credentialStores(home: string): string[] {
  return CREDENTIAL_STORES.map((store) => join(home, store));
}
