#!/bin/sh
# Fails when the docs drift from the CLI. Walks the built sjs's --help tree (every
# command path and every option) and checks that:
#   - man/sjs.1 has an entry for every command ("sjs job submit ...") that documents each of
#     its options, and documents the global options under GLOBAL OPTIONS;
#   - each completion (bash, zsh, fish) lists, for every command path, exactly the
#     subcommands and options that path accepts, and knows which options take a value;
#   - the exit-code table of `sjs --help` is in man/sjs.1 and README.md, number and meaning;
#   - man/sjsd.1 documents every option of the built sjsd under OPTIONS;
#   - the completions load (bash; zsh and fish when installed);
#   - README.md still starts with the two commands people and CI run.
# Usage: check_docs.sh PATH/TO/sjs SOURCE_DIR
set -u

sjs=${1:?usage: check_docs.sh PATH/TO/sjs SOURCE_DIR}
src=${2:?usage: check_docs.sh PATH/TO/sjs SOURCE_DIR}
sjsd=$(dirname "$sjs")/sjsd
man_sjs=$src/man/sjs.1
man_sjsd=$src/man/sjsd.1
readme=$src/README.md
bash_c=$src/completions/sjs.bash
zsh_c=$src/completions/_sjs
fish_c=$src/completions/sjs.fish

failures=0
fail() {
  echo "check_docs: $*" >&2
  failures=$((failures + 1))
}

for f in "$sjs" "$sjsd"; do
  [ -x "$f" ] || { echo "check_docs: $f is not an executable" >&2; exit 2; }
done
for f in "$man_sjs" "$man_sjsd" "$readme" "$bash_c" "$zsh_c" "$fish_c"; do
  [ -f "$f" ] || fail "missing file $f"
done
[ "$failures" -eq 0 ] || exit 1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# ---- the CLI, from its --help --------------------------------------------------

# help PATH... : the --help text of a command path (empty path: the top level).
help() {
  # shellcheck disable=SC2086
  "$sjs" $1 --help 2>&1
}
# Subcommand names listed under "Subcommands:".
subcommands_of() {
  help "$1" | awk '/^Subcommands:/ {on = 1; next} on && /^$/ {exit} on && /^  [a-z]/ {print $1}'
}
# Option lines: "NAME value" or "NAME flag", one per name (-n and --limit separately).
options_of() {
  help "$1" | awk '
    /^Options:/ {on = 1; next}
    on && (/^$/ || /^[^ ]/) {exit}
    on && /^  -/ {
      kind = ($0 ~ /^  -[^ ]* [^ ]/) ? "value" : "flag"   # CLI11 prints a type right after a value option
      n = split($1, names, ",")
      for (i = 1; i <= n; i++) print names[i], kind
    }'
}

# Every command path, breadth first: "", "binary", "binary upload", ...
: >"$tmp/paths"
printf '\n' >"$tmp/queue"
while [ -s "$tmp/queue" ]; do
  path=$(head -n 1 "$tmp/queue")
  sed -i 1d "$tmp/queue"
  printf '%s\n' "$path" >>"$tmp/paths"
  for sub in $(subcommands_of "$path"); do
    printf '%s\n' "${path:+$path }$sub" >>"$tmp/queue"
  done
done
npaths=$(wc -l <"$tmp/paths")
[ "$npaths" -ge 10 ] || fail "found only $npaths command paths in sjs --help: is $sjs the sjs CLI?"

# ---- helpers over the docs -----------------------------------------------------

# Man source as text: font escapes dropped, \- as -, \(aq as '.
normalize_man() {
  sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g' "$1"
}
normalize_man "$man_sjs" >"$tmp/sjs.1.txt"
normalize_man "$man_sjsd" >"$tmp/sjsd.1.txt"

# man_section FILE TITLE: the lines of section .SH TITLE.
man_section() {
  awk -v title="$2" '$0 == ".SH " title {on = 1; next} on && /^\.SH/ {exit} on {print}' "$1"
}
# man_entry FILE PATH: the lines of the entry whose tag starts with "sjs PATH", up to the
# next command's entry or section.
man_entry() {
  awk -v start="sjs $2" '
    {line = $0; sub(/^\.BR? /, "", line)}
    on && (line ~ /^sjs / || /^\.SH/) {exit}
    on {print; next}
    line == start || index(line, start " ") == 1 {on = 1}' "$1"
}
# Option tags in man text: from each line that starts with an option (after .B/.BR),
# the options it names ("-c, --context name" gives -c and --context).
man_tags() {
  awk '{
    line = $0; sub(/^\.BR? /, "", line); gsub(/[",]/, " ", line)
    n = split(line, w, " ")
    for (i = 1; i <= n && w[i] ~ /^-/; i++) print w[i]
  }'
}

# shell_arm FILE FUNCTION KEY: the case arm for KEY in the shell FUNCTION of a bash or
# zsh completion (from the arm's pattern to its ";;").
shell_arm() {
  awk -v fn="$2" -v key="$3" '
    BEGIN {
      n = 0
      if (key == "") { c[++n] = "\"\")"; c[++n] = "(\x27\x27)" }
      else {
        c[++n] = "\"" key "\")"; c[++n] = "\x27" key "\x27)"; c[++n] = "(\"" key "\")"; c[++n] = "(\x27" key "\x27)"
        if (key !~ / /) { c[++n] = key ")"; c[++n] = "(" key ")" }
      }
    }
    $0 ~ "^" fn "\\(\\) *\\{" {in_fn = 1; next}
    in_fn && /^}/ {exit}
    in_fn && !in_arm {
      line = $0; sub(/^[ \t]+/, "", line)
      for (i = 1; i <= n; i++) if (index(line, c[i]) == 1) {in_arm = 1; break}
    }
    in_arm {print; if ($0 ~ /;;/) exit}
  ' "$1"
}
# Words offered in a bash or zsh arm: bash echoes "a b c"; zsh prints 'name:description'.
arm_words() {
  case $1 in
    bash) sed -n 's/.*echo "\([^"]*\)".*/\1/p' | tr ' ' '\n' | sed '/^$/d' ;;
    zsh) grep -o "'[^':]*:" | sed "s/^'//; s/:\$//" ;;
  esac
}
# fish_lines PATH: the complete lines whose condition is __sjs_at "PATH".
fish_lines() {
  grep -F -- "'__sjs_at \"$1\"'" "$fish_c"
}

# The words of fish's "set -g __sjs_value_options ..." (continued over lines ending in "\").
awk '/^set -g __sjs_value_options / {on = 1} on {print; if ($0 !~ /\\$/) exit}' "$fish_c" |
  tr ' \\' '\n\n' | grep -- '^-' >"$tmp/fish_value_options"

# ---- command paths and options ---------------------------------------------------

all_options=""
while IFS= read -r path; do
  subs=$(subcommands_of "$path")
  options_of "$path" >"$tmp/options"
  label=${path:-(top level)}

  # The man page: the global options under GLOBAL OPTIONS; every command has an entry
  # ("sjs job submit ...") whose option tags name each of its options but -h/--help.
  if [ -z "$path" ]; then
    man_section "$tmp/sjs.1.txt" "GLOBAL OPTIONS" | man_tags >"$tmp/tags"
  else
    man_entry "$tmp/sjs.1.txt" "$path" >"$tmp/entry"
    man_tags <"$tmp/entry" >"$tmp/tags"
    if [ -z "$subs" ] && [ ! -s "$tmp/entry" ]; then
      fail "man/sjs.1 has no entry for \"sjs $path\""
    elif [ -n "$subs" ] && ! grep -qF -- "sjs $path " "$tmp/sjs.1.txt"; then
      fail "man/sjs.1 does not describe \"sjs $path\""
    fi
  fi
  while read -r opt kind; do
    all_options="$all_options $opt"
    [ -n "$path" ] && { [ "$opt" = -h ] || [ "$opt" = --help ]; } && continue
    grep -qx -- "$opt" "$tmp/tags" || fail "man/sjs.1 does not document $opt under \"sjs $label\""
  done <"$tmp/options"

  # bash and zsh: the arm of the path in _sjs_commands / _sjs_options / _sjs_value_options.
  for shell in bash zsh; do
    if [ "$shell" = bash ]; then file=$bash_c; else file=$zsh_c; fi
    name=completions/$(basename "$file")
    if [ -n "$subs" ]; then
      shell_arm "$file" _sjs_commands "$path" | arm_words "$shell" | sort -u >"$tmp/offered"
      printf '%s\n' $subs | sort -u >"$tmp/expected"
      if ! cmp -s "$tmp/offered" "$tmp/expected"; then
        fail "$name offers subcommands [$(echo $(cat "$tmp/offered"))] for \"$label\", sjs has [$(echo $subs)]"
      fi
    fi
    shell_arm "$file" _sjs_options "$path" | arm_words "$shell" | sort -u >"$tmp/offered"
    cut -d' ' -f1 "$tmp/options" | sort -u >"$tmp/expected"
    if ! cmp -s "$tmp/offered" "$tmp/expected"; then
      fail "$name offers options [$(echo $(cat "$tmp/offered"))] for \"$label\", sjs has [$(echo $(cat "$tmp/expected"))]"
    fi
    shell_arm "$file" _sjs_value_options "$path" | sed -n 's/.*print -- \x27\([^\x27]*\)\x27.*/\1/p; s/.*echo "\([^"]*\)".*/\1/p' |
      tr ' ' '\n' | sed '/^$/d' | sort -u >"$tmp/offered"
    grep ' value$' "$tmp/options" | cut -d' ' -f1 | sort -u >"$tmp/expected"
    if ! cmp -s "$tmp/offered" "$tmp/expected"; then
      fail "$name: options taking a value for \"$label\" are [$(echo $(cat "$tmp/offered"))], sjs has [$(echo $(cat "$tmp/expected"))]"
    fi
  done

  # fish: the lines of the path.
  fish_lines "$path" >"$tmp/fish"
  for sub in $subs; do
    grep -Eq -- " -a $sub( |\$)" "$tmp/fish" || fail "completions/sjs.fish does not offer \"$sub\" under \"$label\""
  done
  sed -n 's/.* -a \([a-z][a-z]*\) .*/\1/p' "$tmp/fish" >"$tmp/offered"
  while read -r sub; do
    printf '%s\n' $subs | grep -qx -- "$sub" || fail "completions/sjs.fish offers \"$sub\" under \"$label\", sjs has no such command"
  done <"$tmp/offered"
  while read -r opt kind; do
    case $opt in
      --*) pattern=" -l ${opt#--}( |\$)" ;;
      *) pattern=" -s ${opt#-}( |\$)" ;;
    esac
    line=$(grep -E -- "$pattern" "$tmp/fish" | head -n 1)
    if [ -z "$line" ]; then
      fail "completions/sjs.fish does not offer $opt for \"$label\""
    elif [ "$kind" = value ] && ! printf '%s' "$line" | grep -Eq ' -[xr]( |$)'; then
      fail "completions/sjs.fish: $opt of \"$label\" takes a value, but its line has no -x or -r"
    elif [ "$kind" = flag ] && printf '%s' "$line" | grep -Eq ' -[xr]( |$)'; then
      fail "completions/sjs.fish: $opt of \"$label\" is a flag, but its line has -x or -r"
    fi
  done <"$tmp/options"
  grep -o -- ' -[ls] [a-z][a-z-]*' "$tmp/fish" >"$tmp/offered"
  while read -r kind name; do
    if [ "$kind" = -l ]; then opt=--$name; else opt=-$name; fi
    grep -q -- "^$opt " "$tmp/options" || fail "completions/sjs.fish offers $opt for \"$label\", sjs has no such option there"
  done <"$tmp/offered"
  # Below the top level, value options are skipped by __sjs_state through __sjs_value_options.
  if [ -n "$path" ]; then
    grep ' value$' "$tmp/options" | cut -d' ' -f1 >"$tmp/expected"
    while read -r opt; do
      grep -qx -- "$opt" "$tmp/fish_value_options" ||
        fail "completions/sjs.fish: $opt of \"$label\" takes a value but is missing from __sjs_value_options"
    done <"$tmp/expected"
  fi
done <"$tmp/paths"

# ---- exit codes -----------------------------------------------------------------

"$sjs" --help 2>&1 | awk '/^Exit codes:/ {on = 1; next} on && /^$/ {exit} on {print}' >"$tmp/exit_codes"
ncodes=$(grep -c . "$tmp/exit_codes")
[ "$ncodes" -ge 10 ] || fail "found only $ncodes exit codes in sjs --help"
while read -r code meaning; do
  # README: a table row "| N | meaning |".
  grep -Eq "^\| *$code *\| *$(printf '%s' "$meaning" | sed 's/[][\\.*^$|(){}+?]/\\&/g') *\|\$" "$readme" ||
    fail "README.md has no exit-code row \"| $code | $meaning |\""
  # man page: ".B N" followed by the meaning.
  awk -v code="$code" -v meaning="$meaning" '
    found {exit !($0 == meaning)}
    $0 == ".B " code {found = 1}
    END {if (!found) exit 1}' "$tmp/sjs.1.txt" ||
    fail "man/sjs.1 has no EXIT STATUS entry \".B $code\" followed by \"$meaning\""
done <"$tmp/exit_codes"

# ---- sjsd ---------------------------------------------------------------------------

"$sjsd" --help 2>&1 | awk '/^Options:/ {on = 1; next} on && /^$/ {exit} on && /^  -/ {n = split($1, a, ","); for (i = 1; i <= n; i++) print a[i]}' \
  >"$tmp/sjsd_options"
[ -s "$tmp/sjsd_options" ] || fail "found no options in sjsd --help"
man_section "$tmp/sjsd.1.txt" OPTIONS | man_tags >"$tmp/tags"
while read -r opt; do
  grep -qx -- "$opt" "$tmp/tags" || fail "man/sjsd.1 does not document $opt under OPTIONS"
done <"$tmp/sjsd_options"

# ---- the completions load ----------------------------------------------------------

bash -c ". \"\$1\" && complete -p sjs" sh "$bash_c" >/dev/null 2>&1 || fail "completions/sjs.bash does not load in bash"
if command -v zsh >/dev/null 2>&1; then
  zsh -n "$zsh_c" 2>/dev/null || fail "completions/_sjs has a zsh syntax error"
fi
if command -v fish >/dev/null 2>&1; then
  fish --no-execute "$fish_c" 2>/dev/null || fail "completions/sjs.fish has a fish syntax error"
fi

# ---- README's first commands --------------------------------------------------------

for cmd in \
  'sh scripts/install-deps.sh && sh scripts/build.sh && export PATH="$PWD/build:$PATH" && sjs daemon start && sjs jar upload examples build/sjs-examples.jar && sjs job submit examples sjs.examples.WordCount --sync --conf input.string="to be or not to be"' \
  'sh scripts/install-deps.sh && sh scripts/build.sh && ctest --test-dir build --output-on-failure -j2'; do
  head -n 20 "$readme" | grep -qxF -- "$cmd" || fail "README.md does not start with the command: $cmd"
done

if [ "$failures" -gt 0 ]; then
  echo "check_docs: $failures problem(s): update man/, completions/ and README.md with the CLI" >&2
  exit 1
fi
echo "check_docs: $npaths command paths, $(echo $all_options | wc -w) options and $ncodes exit codes match the docs"

# ---- the runtime table (common/src/runtimes.cpp) in the completions and docs/runtimes.md ----
# The CLI's help is generated from the table ("--runtime ... one of: exec, jvm, spark", "--type ...
# one of: jar, exec, py, so"): each completion offers exactly those values, and docs/runtimes.md
# names each in backquotes.
check_runtime_table() {
  problems=0
  for spec in "context create|--runtime|runtime" "binary upload|--type|binary type"; do
    cmd=${spec%%|*}
    rest=${spec#*|}
    opt=${rest%%|*}
    what=${rest#*|}
    # shellcheck disable=SC2086
    words=$("$sjs" $cmd --help 2>&1 | grep -- "$opt" | sed -n 's/.*one of: \([^(;]*\).*/\1/p' | head -n 1 | tr -d ',')
    if [ -z "$words" ]; then
      echo "check_docs: sjs $cmd --help does not list its ${what}s as \"one of: ...\"" >&2
      problems=$((problems + 1))
      continue
    fi
    expected=$(printf '%s\n' $words | sort | tr '\n' ' ')
    bash_words=$(grep -- "^ *$opt)" "$bash_c" | sed -n 's/.*-W "\([^"]*\)".*/\1/p')
    zsh_words=$(grep -- "^ *($opt)" "$zsh_c" | sed -n "s/.*_values \('[^']*'\|[a-z]*\) \(.*\) ;;.*/\2/p")
    fish_words=$(grep -- "-l ${opt#--} " "$fish_c" | sed -n "s/.* -a '\([^']*\)'.*/\1/p")
    for pair in "completions/sjs.bash:$bash_words" "completions/_sjs:$zsh_words" "completions/sjs.fish:$fish_words"; do
      file=${pair%%:*}
      # shellcheck disable=SC2086
      offered=$(printf '%s\n' ${pair#*:} | sed '/^$/d' | sort | tr '\n' ' ')
      if [ "$offered" != "$expected" ]; then
        echo "check_docs: $file offers [$offered] for $opt, the runtime table has [$expected]" >&2
        problems=$((problems + 1))
      fi
    done
    for w in $words; do
      if ! grep -q -- "\`$w\`" "$src/docs/runtimes.md"; then
        echo "check_docs: docs/runtimes.md does not name the $what \`$w\`" >&2
        problems=$((problems + 1))
      fi
    done
  done
  [ "$problems" -eq 0 ] || echo "check_docs: $problems problem(s) with the runtime table: update completions/ and docs/runtimes.md" >&2
  [ "$problems" -eq 0 ]
}
check_runtime_table || exit 1
echo "check_docs: the completions and docs/runtimes.md list the runtime table's runtimes and binary types"
