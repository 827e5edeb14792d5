# Helpers sourced by the scripts in .ci/ (not run on its own).
# shellcheck shell=bash

# Puts cargo on PATH from rustup's usual place when it is not there yet.
find_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
  fi
  command -v cargo >/dev/null 2>&1 || {
    echo "cargo not found: a Rust toolchain is needed" >&2
    exit 1
  }
}

# need_commands COMMAND=PACKAGE...: installs with apt each Debian package whose command is
# missing (with sudo when not root; apt-get update first if the package lists are stale).
need_commands() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing with apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# test_executables: reads cargo's --message-format=json on stdin and prints, for every
# test target built, "NAME PATH" (integration tests and library unit tests alike; the
# name is the target's, e.g. safe_csq).
test_executables() {
  jq -r 'select(.reason == "compiler-artifact" and .executable != null and .profile.test == true)
         | "\(.target.name) \(.executable)"'
}
