#!/usr/bin/env bash
# Installs the real agent CLIs that `npm run test:real-clis` drives (Claude Code and the Codex CLI) from the npm
# registry into a cache folder outside this repository's node_modules, at pinned versions. Idempotent: a cache that
# already holds both at these versions is left alone. Prints the two binaries' paths (claude first, then codex).
#
#   bash scripts/install-agent-clis.sh            # then: npm run test:real-clis
#   FOUNDEROS_AGENT_CLIS_DIR=/some/dir bash scripts/install-agent-clis.sh
#
# Both packages ship native binaries in per-platform optional packages (…-linux-x64 and friends), which npm
# installs for the machine it runs on; optional dependencies must therefore not be omitted.
set -euo pipefail

CLAUDE_CODE_VERSION=2.1.332
CODEX_VERSION=0.169.0

dir="${FOUNDEROS_AGENT_CLIS_DIR:-${HOME}/.cache/founderos-runner/agent-clis}"
claude_bin="$dir/node_modules/.bin/claude"
codex_bin="$dir/node_modules/.bin/codex"

installed_version() { # package name → the version in the cache, or nothing
  node -e 'try { process.stdout.write(require(process.argv[1] + "/package.json").version) } catch {}' "$dir/node_modules/$1" 2>/dev/null || true
}

up_to_date() {
  [[ "$(installed_version @anthropic-ai/claude-code)" == "$CLAUDE_CODE_VERSION" ]] &&
    [[ "$(installed_version @openai/codex)" == "$CODEX_VERSION" ]] &&
    [[ -x "$claude_bin" && -x "$codex_bin" ]] &&
    "$claude_bin" --version >/dev/null 2>&1 && "$codex_bin" --version >/dev/null 2>&1
}

if up_to_date; then
  echo "agent CLIs already installed in $dir (claude-code $CLAUDE_CODE_VERSION, codex $CODEX_VERSION)" >&2
else
  echo "installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION and @openai/codex@$CODEX_VERSION into $dir" >&2
  mkdir -p "$dir"
  # A package.json of its own keeps npm from walking up to a project above the cache folder.
  [[ -f "$dir/package.json" ]] || echo '{"name":"founderos-agent-clis","private":true}' >"$dir/package.json"
  started=$(date +%s)
  npm install --prefix "$dir" --no-audit --no-fund --save-exact --include=optional --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION" >&2
  echo "installed in $(($(date +%s) - started)) s; $(du -sh "$dir" | cut -f1) on disk" >&2
  if ! up_to_date; then
    echo "install-agent-clis: the CLIs did not install correctly:" >&2
    "$claude_bin" --version >&2 || true
    "$codex_bin" --version >&2 || true
    exit 1
  fi
fi

echo "$claude_bin"
echo "$codex_bin"
