#!/usr/bin/env bash
# The bash completion of irpa (core/cli/irpa.bash-completion): sourced, and its
# function called as bash calls it (COMP_WORDS, COMP_CWORD) for commands,
# each command's options, and the files each command takes. Every long
# option a command's --help names is offered.
set -uo pipefail
irpa=${IRPA:?}
completion=${IRPA_SOURCE_ROOT:?}/core/cli/irpa.bash-completion
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=/dev/null
source "$completion" || { echo "FAIL: sourcing $completion" >&2; exit 1; }
[[ $(complete -p irpa) == *"-F _irpa"* ]] || { echo "FAIL: no completion for irpa" >&2; exit 1; }
failures=0

# completions WORD...: what completing the last word gives, sorted, one line.
completions() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _irpa
  printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
expect() { # WANTED WORD...
  local wanted=$1; shift
  local got
  got=$(completions "$@")
  [ "$got" = "$wanted" ] || { echo "FAIL: irpa ${*:2}|: wanted '$wanted', got '$got'" >&2; failures=$((failures + 1)); }
}

cd "$work"
mkdir models.d
touch a.yaml b.yml c.irpa d.gguf e.safetensors model.safetensors.index.json notes.txt

expect "build check help inspect manifest" irpa ""
expect "build" irpa bu
expect "--help --version" irpa --
expect "a.yaml b.yml models.d" irpa build ""
expect "a.yaml b.yml models.d" irpa check ""
expect "c.irpa models.d" irpa inspect ""
expect "c.irpa" irpa inspect c
expect "d.gguf e.safetensors model.safetensors.index.json models.d" irpa manifest ""
expect "--help --output --quiet" irpa build --
expect "--json" irpa inspect --j
expect "a.yaml b.yml models.d" irpa inspect --manifest ""
expect "c.irpa models.d" irpa build a.yaml -o ""
expect "a.yaml" irpa inspect --manifest = a
expect "pytorch" irpa manifest d.gguf --metadata ""
expect "" irpa manifest d.gguf --include ""
expect "build check inspect manifest" irpa help ""
expect "" irpa help build ""

# Every long option of each command's --help is offered after --.
for command in build check inspect manifest; do
  offered=" $(completions irpa "$command" --) "
  help_text=$("$irpa" "$command" --help) && [[ $help_text == "usage: irpa $command"* ]] ||
    { echo "FAIL: irpa $command --help: no usage" >&2; failures=$((failures + 1)); }
  options=$(grep -o -- '--[a-z][a-z-]*' <<<"$help_text" | sort -u) || true
  for option in $options; do
    [[ $offered == *" $option "* ]] ||
      { echo "FAIL: irpa $command: $option (in --help) is not completed" >&2; failures=$((failures + 1)); }
  done
done

[ "$failures" -eq 0 ] || exit 1
echo "completion: ok"
