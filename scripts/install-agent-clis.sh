#!/usr/bin/env bash
# Installs the real agent CLIs that `npm run test:real-clis` drives (Claude Code, the Codex CLI, the Gemini CLI,
# OpenCode and pi) from the npm registry into a cache folder outside this repository's node_modules, at pinned
# versions. Idempotent: a cache that already holds all of them at these versions is left alone. Prints the binaries'
# paths, one a line, in this order: claude, codex, gemini, opencode, pi (readers rely on claude then codex first).
#
#   bash scripts/install-agent-clis.sh            # then: npm run test:real-clis
#   FOUNDEROS_AGENT_CLIS_DIR=/some/dir bash scripts/install-agent-clis.sh
#
# Claude Code, Codex and OpenCode ship native binaries in per-platform optional packages (…-linux-x64 and friends),
# which npm installs for the machine it runs on; optional dependencies must therefore not be omitted.
set -euo pipefail

# pi moved from @mariozechner/pi-coding-agent to @earendil-works/pi-coding-agent at 0.74.0; 0.74.2 is the last release
# whose engines accept Node 20 (from 0.75.1 on it needs Node >= 22.19), and Node 20 is what this runner supports.
packages=(
  "@anthropic-ai/claude-code@2.1.332 claude"
  "@openai/codex@0.169.0 codex"
  "@google/gemini-cli@0.61.0 gemini"
  "opencode-ai@1.18.33 opencode"
  "@earendil-works/pi-coding-agent@0.74.2 pi"
)

dir="${FOUNDEROS_AGENT_CLIS_DIR:-${HOME}/.cache/founderos-runner/agent-clis}"
bin_of() { echo "$dir/node_modules/.bin/$1"; }
name_of() { echo "${1%@*}"; }    # "@scope/name@1.2.3" → "@scope/name"
version_of() { echo "${1##*@}"; } # → "1.2.3"

installed_version() { # package name → the version in the cache, or nothing
  node -e 'try { process.stdout.write(require(process.argv[1] + "/package.json").version) } catch {}' "$dir/node_modules/$1" 2>/dev/null || true
}

up_to_date() {
  local entry spec bin
  for entry in "${packages[@]}"; do
    read -r spec bin <<<"$entry"
    [[ "$(installed_version "$(name_of "$spec")")" == "$(version_of "$spec")" ]] || return 1
    [[ -x "$(bin_of "$bin")" ]] && "$(bin_of "$bin")" --version >/dev/null 2>&1 || return 1
  done
}

specs=()
for entry in "${packages[@]}"; do specs+=("${entry%% *}"); done

if up_to_date; then
  echo "agent CLIs already installed in $dir (${specs[*]})" >&2
else
  echo "installing ${specs[*]} into $dir" >&2
  mkdir -p "$dir"
  # A package.json of its own keeps npm from walking up to a project above the cache folder.
  [[ -f "$dir/package.json" ]] || echo '{"name":"founderos-agent-clis","private":true}' >"$dir/package.json"
  started=$(date +%s)
  npm install --prefix "$dir" --no-audit --no-fund --save-exact --include=optional --loglevel=error "${specs[@]}" >&2
  echo "installed in $(($(date +%s) - started)) s; $(du -sh "$dir" | cut -f1) on disk" >&2
  if ! up_to_date; then
    echo "install-agent-clis: the CLIs did not all install correctly; their --version:" >&2
    for entry in "${packages[@]}"; do
      read -r spec bin <<<"$entry"
      "$(bin_of "$bin")" --version >&2 || echo "  $spec: $(bin_of "$bin") does not run" >&2
    done
    exit 1
  fi
fi

for entry in "${packages[@]}"; do
  read -r spec bin <<<"$entry"
  bin_of "$bin"
done
