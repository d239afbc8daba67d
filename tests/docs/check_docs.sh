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
#   - README.md still starts with the two commands people and CI run;
# and that the docs describe the code as it is (functions check_* below):
#   - every op of common/include/sjs/messages.hpp (and *_messages.hpp beside it, e.g. the cluster.* ops
#     of cluster_messages.hpp) has a row in docs/protocol.md, and no other, and
#     every field of its wire types is named there;
#   - docs/http-api.md's route table and op permissions match GET /openapi.json of a running sjsd;
#   - every repository path and relative link in README.md, docs/*.md and man/*.1 exists;
#   - every runtime of the build has a section in docs/runtimes.md;
#   - every LMDB database the store opens is in docs/ARCHITECTURE.md.
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
# stop_http_daemon (below) stops the sjsd that check_http_routes starts, should the script end first.
trap 'command -v stop_http_daemon >/dev/null 2>&1 && stop_http_daemon; rm -rf "$tmp"' EXIT INT TERM

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

# ---- the docs against the code ----------------------------------------------------------
# Each check is a function of its own; each says which doc lacks what (through fail).

docs_dir=$src/docs
# The headers of the client protocol's wire types: messages.hpp, and the *_messages.hpp beside it
# that hold the types of one feature (cluster_messages.hpp: partition servers).
wire_headers() {
  for h in "$src"/common/include/sjs/messages.hpp "$src"/common/include/sjs/*_messages.hpp; do
    [ -f "$h" ] && printf '%s\n' "$h"
  done
}
headers_named="common/include/sjs/messages.hpp and *_messages.hpp"

# check_protocol_ops: every op of the client protocol, the constants of common/include/sjs/messages.hpp's
#   namespace op { constexpr const char* k_job_submit = "job.submit"; ... }
# has a row "| `job.submit` | ..." in docs/protocol.md's Operations table, and every row of that table
# names an op that exists.
check_protocol_ops() {
  wire_headers | while IFS= read -r h; do awk '/^namespace op \{/ {on = 1; next} on && /^\}/ {exit} on' "$h"; done |
    sed -n 's/.*constexpr const char\* *k_[A-Za-z0-9_]* *= *"\([^"]*\)".*/\1/p' >"$tmp/ops"
  nops=$(grep -c . "$tmp/ops")
  [ "$nops" -ge 10 ] || fail "found only $nops ops in namespace op of $headers_named"
  awk '/^## / {on = ($0 == "## Operations"); next} on' "$docs_dir/protocol.md" |
    sed -n 's/^| `\([^`]*\)` |.*/\1/p' >"$tmp/doc_ops"
  while read -r op; do
    grep -qxF -- "$op" "$tmp/doc_ops" ||
      fail "docs/protocol.md has no row for op \"$op\" ($headers_named) in its Operations table"
  done <"$tmp/ops"
  while read -r op; do
    grep -qxF -- "$op" "$tmp/ops" ||
      fail "docs/protocol.md documents op \"$op\", which $headers_named do not define"
  done <"$tmp/doc_ops"
}

# check_protocol_fields: every field of every wire type of common/include/sjs/messages.hpp (the
# names listed by its SJS_DEFINE_JSON(Type, field, ...) lines) is named in docs/protocol.md inside
# a code span: `http_url`, or within one such as `{data, offset, done: false}`.
check_protocol_fields() {
  wire_headers | while IFS= read -r h; do
    awk '/^SJS_DEFINE_JSON\(/ {on = 1} on {printf "%s ", $0} on && /\)/ {print ""; on = 0}' "$h"
  done |
    sed -n 's/^SJS_DEFINE_JSON( *\([A-Za-z0-9_]*\) *, *\(.*\)).*/\1 \2/p' >"$tmp/wire_types"
  grep -o '`[^`]*`' "$docs_dir/protocol.md" | grep -o '[A-Za-z_][A-Za-z0-9_]*' | sort -u >"$tmp/doc_words"
  nfields=0
  while read -r type fields; do
    for field in $(printf '%s' "$fields" | tr ',' ' '); do
      nfields=$((nfields + 1))
      grep -qxF -- "$field" "$tmp/doc_words" ||
        fail "docs/protocol.md does not name field \`$field\` of $type ($headers_named)"
    done
  done <"$tmp/wire_types"
  [ "$nfields" -ge 50 ] || fail "found only $nfields fields in the SJS_DEFINE_JSON lines of $headers_named"
}

# check_http_routes: starts the built sjsd with HTTP on a free loopback port (port 0) in a temp data
# dir, reads its GET /openapi.json, and compares it with docs/http-api.md:
#   - the "## Routes" table: one row per route, "| `METHOD /path` | permission | ... |", where a
#     placeholder is written <name> (OpenAPI: {name}), and the permission is the route's
#     x-sjs-permission in backticks, "any authenticated user", or "none" (no authentication);
#     every route of the document is in the table with that permission, and every row is a route
#     of the document. POST /sjs/v1/<op> stands for the document's one path per op;
#   - the table of "## sjs's own API (/sjs/v1)" that gives each op its permission: every op the
#     document has (POST /sjs/v1/<op>) has a row, with its permission, and every op of the table
#     is in the document.
# Needs python3 (scripts/install-deps.sh installs it) to read JSON.
http_daemon_dir=""
start_http_daemon() {
  http_daemon_dir=$tmp/daemon
  mkdir -p "$http_daemon_dir"
  "$sjsd" --data-dir "$http_daemon_dir" --socket "$http_daemon_dir/sjsd.sock" --http 127.0.0.1:0 \
    >"$tmp/sjsd.out" 2>&1 && [ -s "$http_daemon_dir/sjsd.url" ]
}
stop_http_daemon() {
  [ -n "$http_daemon_dir" ] && [ -s "$http_daemon_dir/sjsd.pid" ] || return 0
  pid=$(cat "$http_daemon_dir/sjsd.pid")
  kill -TERM "$pid" 2>/dev/null || return 0
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL "$pid" 2>/dev/null
  http_daemon_dir=""
}
check_http_routes() {
  if ! command -v python3 >/dev/null 2>&1; then
    fail "python3 is needed to read sjsd's /openapi.json (scripts/install-deps.sh installs it)"
    return
  fi
  if ! start_http_daemon; then
    fail "could not start $sjsd with --http 127.0.0.1:0 to read its /openapi.json: $(cat "$tmp/sjsd.out")"
    return
  fi
  python3 - "$(cat "$http_daemon_dir/sjsd.url")" "$docs_dir/http-api.md" >"$tmp/routes_out" 2>&1 <<'EOF'
import json, re, sys, urllib.request

url, doc_path = sys.argv[1], sys.argv[2]
try:
    api = json.load(urllib.request.urlopen(url + "/openapi.json", timeout=30))
except Exception as e:  # a daemon that does not answer is drift too
    print("FAIL cannot read %s/openapi.json: %s" % (url, e))
    sys.exit(0)

def norm(path):
    return re.sub(r"<[^>]*>|\{[^}]*\}", "{}", path)

def problem(message):
    print("FAIL " + message)

# The document: routes -> permission ("none" when never behind authentication), ops -> permission.
served, served_ops = {}, {}
for path, methods in api.get("paths", {}).items():
    for method, op in methods.items():
        permission = op.get("x-sjs-permission", "none")
        m = re.fullmatch(r"/sjs/v1/([^/]+)", path)
        if m and method == "post":
            served_ops[m.group(1)] = permission
            served[("POST", "/sjs/v1/{}")] = None  # per op
        else:
            served[(method.upper(), norm(path))] = permission

# The doc: its Routes table and the op table of sjs's own API.
section, documented, documented_ops = None, {}, {}
in_fence = False
for line in open(doc_path, encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("```"):
        in_fence = not in_fence
    if in_fence:
        continue
    if line.startswith("## "):
        section = line[3:].strip()
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
    if len(cells) < 2:
        continue
    perm_cell = cells[1]
    m = re.fullmatch(r"`([^`]*)`", perm_cell)
    permission = m.group(1) if m else perm_cell
    if section == "Routes":
        m = re.fullmatch(r"`([A-Z]+) (/[^`]*)`", cells[0])
        if m:
            route = (m.group(1), norm(m.group(2)))
            documented[route] = None if route == ("POST", "/sjs/v1/{}") else permission
    elif section and section.startswith("sjs's own API"):
        for op in re.findall(r"`([^`/ ]+)`", cells[0]):
            if op not in ("op", "permission"):
                documented_ops[op] = permission

if not documented:
    problem("docs/http-api.md has no route table under \"## Routes\"")
for route, permission in sorted(served.items()):
    name = "%s %s" % route
    if route not in documented:
        problem("docs/http-api.md: route %s (in sjsd's /openapi.json) is missing from its Routes table" % name)
    elif documented[route] != permission:
        problem("docs/http-api.md: route %s needs %r in sjsd's /openapi.json, the Routes table says %r"
                % (name, permission, documented[route]))
for route in sorted(documented):
    if route not in served:
        problem("docs/http-api.md lists route %s %s, which sjsd's /openapi.json does not have" % route)
for op, permission in sorted(served_ops.items()):
    if op not in documented_ops:
        problem("docs/http-api.md: op %s (POST /sjs/v1/%s in sjsd's /openapi.json) has no row in the "
                "permission table of \"sjs's own API\"" % (op, op))
    elif documented_ops[op] != permission:
        problem("docs/http-api.md: POST /sjs/v1/%s needs %r in sjsd's /openapi.json, the permission table says %r"
                % (op, permission, documented_ops[op]))
for op in sorted(documented_ops):
    if op not in served_ops:
        problem("docs/http-api.md gives op %s a permission, but sjsd's /openapi.json has no POST /sjs/v1/%s" % (op, op))
print("ROUTES %d %d" % (len(served), len(served_ops)))
EOF
  stop_http_daemon
  nroutes=$(sed -n 's/^ROUTES \([0-9]*\) .*/\1/p' "$tmp/routes_out")
  nrpc=$(sed -n 's/^ROUTES [0-9]* \([0-9]*\)$/\1/p' "$tmp/routes_out")
  while IFS= read -r line; do
    case $line in
      "FAIL "*) fail "${line#FAIL }" ;;
      "ROUTES "*) ;;
      *) fail "check_http_routes: $line" ;;
    esac
  done <"$tmp/routes_out"
  [ "${nroutes:-0}" -ge 20 ] || fail "found only ${nroutes:-0} routes in sjsd's /openapi.json"
}

# check_doc_paths: every repository path and every relative Markdown link that README.md, docs/*.md,
# the README.md files below the top-level directories (examples/jvm/README.md, ...) and man/*.1 name
# exists, and every #anchor of a Markdown link is a heading of its file.
# What counts as a repository path (so that data-dir paths such as `logs/<job>.log` or `store/`,
# installed paths such as /usr/share/sjs/, and examples of users' paths are not taken for one):
#   - a word that starts with a top-level directory of the repository, followed by a slash (cli/
#     cmake/ common/ completions/ daemon/ docs/ examples/ man/ packaging/ runtimes/ scripts/
#     tests/), at the start of a line or after a character that cannot be part of a path (so not
#     inside /usr/..., <data dir>/..., $HOME/... or a URL), made of letters, digits and . _ + - /;
#     a placeholder ends it, so `cli/commands/<family>.cpp` is checked as cli/commands/; trailing
#     dots (the end of a sentence) are dropped;
#   - in Markdown files, the target of a link [text](target) that is not a URL (scheme:) nor only
#     an #anchor, relative to the file's directory, without its #anchor.
# Anchors are GitHub's: the heading in lower case, without punctuation but - and _, spaces as -.
# Man pages are read with their font escapes dropped (\fIdocs/protocol.md\fR names docs/protocol.md).
check_doc_paths() {
  if ! command -v python3 >/dev/null 2>&1; then
    fail "python3 is needed to check the paths named by the docs"
    return
  fi
  python3 - "$src" >"$tmp/paths_out" 2>&1 <<'EOF'
import glob, os, re, sys

src = sys.argv[1]
top = ["cli", "cmake", "common", "completions", "daemon", "docs", "examples", "man", "packaging",
       "runtimes", "scripts", "tests"]
path_re = re.compile(r"(?:^|(?<=[^A-Za-z0-9_.+/~$>}\-]))((?:%s)/[A-Za-z0-9_.+/\-]*)" % "|".join(top))
link_re = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
files = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md"))) + \
        sorted(f for d in top if d != "docs" for f in glob.glob(os.path.join(src, d, "**", "README.md"), recursive=True)) + \
        sorted(glob.glob(os.path.join(src, "man", "*.1")))

def slugs(md_path):
    out, seen, fence = set(), {}, False
    for line in open(md_path, encoding="utf-8"):
        if line.startswith("```"):
            fence = not fence
            continue
        m = None if fence else re.match(r"#{1,6} +(.*?) *#* *$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out

anchors = {}
count = 0
for path in files:
    rel = os.path.relpath(path, src)
    text = open(path, encoding="utf-8").read()
    if path.endswith(".1"):
        text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\&", "")
    for n, line in enumerate(text.split("\n"), 1):
        for p in path_re.findall(line):
            p = p.rstrip(".")
            count += 1
            if not os.path.exists(os.path.join(src, p)):
                print("FAIL %s:%d names %s, which does not exist in the repository" % (rel, n, p))
        if not path.endswith(".md"):
            continue
        for target in link_re.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            count += 1
            if not os.path.exists(dest):
                print("FAIL %s:%d links to %s, which does not exist" % (rel, n, file_part))
                continue
            if anchor and dest.endswith(".md"):
                if dest not in anchors:
                    anchors[dest] = slugs(dest)
                if anchor not in anchors[dest]:
                    print("FAIL %s:%d links to %s, but %s has no heading with that anchor"
                          % (rel, n, target, os.path.relpath(dest, src)))
print("PATHS %d" % count)
EOF
  npaths_named=$(sed -n 's/^PATHS \([0-9]*\)$/\1/p' "$tmp/paths_out")
  while IFS= read -r line; do
    case $line in
      "FAIL "*) fail "${line#FAIL }" ;;
      "PATHS "*) ;;
      *) fail "check_doc_paths: $line" ;;
    esac
  done <"$tmp/paths_out"
  [ "${npaths_named:-0}" -ge 50 ] || fail "found only ${npaths_named:-0} paths and links in the docs"
}

# check_runtimes: every runtime of the build has a section in docs/runtimes.md (a heading that names
# it as a word: "## exec", "## jvm and spark"). The runtimes come from `sjs context create --help`,
# whose --runtime option says them in exactly this shape (the runtime table prints it):
#   one of: exec, jvm, spark
# Until the CLI prints that shape, they come from is_known_runtime in daemon/runtimes/registry.cpp
# (name == "exec" || ...).
check_runtimes() {
  "$sjs" context create --help 2>&1 | sed -n 's/.*one of: \([a-z0-9_-]*\(, [a-z0-9_-]*\)*\).*/\1/p' | head -n 1 |
    tr ',' '\n' | sed 's/^ *//; /^$/d' >"$tmp/runtimes"
  runtimes_from="sjs context create --help"
  if [ ! -s "$tmp/runtimes" ]; then
    awk '/is_known_runtime\(/ {on = 1} on {print} on && /\}/ {exit}' "$src/daemon/runtimes/registry.cpp" |
      grep -o 'name == "[^"]*"' | sed 's/name == "\(.*\)"/\1/' >"$tmp/runtimes"
    runtimes_from="is_known_runtime in daemon/runtimes/registry.cpp"
  fi
  nruntimes=$(grep -c . "$tmp/runtimes")
  if [ "$nruntimes" -lt 1 ]; then
    fail "found no runtimes: \"sjs context create --help\" has no \"one of: a, b\" line and daemon/runtimes/registry.cpp no is_known_runtime"
    return
  fi
  awk '/^```/ {f = !f; next} !f && /^#+ /' "$docs_dir/runtimes.md" >"$tmp/runtime_headings"
  while read -r rt; do
    grep -Eq "(^|[^A-Za-z0-9_-])\`?$rt\`?([^A-Za-z0-9_-]|\$)" "$tmp/runtime_headings" ||
      fail "docs/runtimes.md has no section (heading) for runtime \"$rt\" (from $runtimes_from)"
  done <"$tmp/runtimes"
}

# check_lmdb_databases: every named LMDB database the store opens (open_db("name", ...) in
# daemon/store/) is in docs/ARCHITECTURE.md, in backticks as in its table of databases.
check_lmdb_databases() {
  grep -ho 'open_db("[^"]*"' "$src"/daemon/store/*.cpp | sed 's/open_db("\(.*\)"/\1/' | sort -u >"$tmp/dbs"
  ndbs=$(grep -c . "$tmp/dbs")
  [ "$ndbs" -ge 5 ] || fail "found only $ndbs LMDB databases (open_db) in daemon/store/"
  while read -r db; do
    grep -qF -- "\`$db\`" "$docs_dir/ARCHITECTURE.md" ||
      fail "docs/ARCHITECTURE.md does not list the LMDB database \`$db\` (opened in daemon/store/)"
  done <"$tmp/dbs"
}

check_protocol_ops
check_protocol_fields
check_http_routes
check_doc_paths
check_runtimes
check_lmdb_databases

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
  'sh scripts/install-deps.sh --test && sh scripts/build.sh && sh scripts/test.sh'; do
  head -n 20 "$readme" | grep -qxF -- "$cmd" || fail "README.md does not start with the command: $cmd"
done

if [ "$failures" -gt 0 ]; then
  echo "check_docs: $failures problem(s): update the docs (man/, completions/, README.md, docs/) with the code" >&2
  exit 1
fi
echo "check_docs: $npaths command paths, $(echo $all_options | wc -w) options and $ncodes exit codes match the docs;" \
  "$nops ops, $nfields wire fields, ${nroutes:-0} HTTP routes and ${nrpc:-0} HTTP ops, ${npaths_named:-0} paths and links, $nruntimes runtimes" \
  "and $ndbs LMDB databases too"

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
