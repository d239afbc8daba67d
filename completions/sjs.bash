# bash completion for sjs                                  -*- shell-script -*-
# Install as /usr/share/bash-completion/completions/sjs (the .deb does), or `source` it.
# Names of binaries and contexts and job ids come from the running sjsd; when none
# answers, nothing is offered (the daemon is never started for a completion).

# Subcommands under a command path ("" is the top level).
_sjs_commands() {
  case $1 in
    "") echo "binary jar context job cluster daemon user" ;;
    binary) echo "upload list show delete steps" ;;
    jar) echo "upload" ;;
    context) echo "create list show delete objects restart" ;;
    job) echo "submit status result config log list kill wait" ;;
    cluster) echo "list show wait stop result" ;;
    daemon) echo "start stop status restart" ;;
    user) echo "add list remove token revoke-token" ;;
  esac
}

# Options of each command path.
_sjs_options() {
  case $1 in
    "") echo "-h --help --version --json --socket --data-dir --no-autostart -q --quiet --url --user --password-stdin --token --cacert --insecure" ;;
    binary) echo "-h --help" ;;
    jar) echo "-h --help" ;;
    context) echo "-h --help" ;;
    job) echo "-h --help" ;;
    cluster) echo "-h --help" ;;
    daemon) echo "-h --help" ;;
    "binary upload") echo "-h --help --type" ;;
    "binary list") echo "-h --help" ;;
    "binary show") echo "-h --help" ;;
    "binary delete") echo "-h --help --version" ;;
    "binary steps") echo "-h --help --version" ;;
    "jar upload") echo "-h --help" ;;
    "context create") echo "-h --help --runtime --set --max-jobs" ;;
    "context list") echo "-h --help" ;;
    "context show") echo "-h --help" ;;
    "context delete") echo "-h --help --force" ;;
    "context objects") echo "-h --help" ;;
    "context restart") echo "-h --help" ;;
    "job submit") echo "-h --help --with -c --context --conf --conf-file --sync --timeout --wait-timeout --steps --priority --key --parsable" ;;
    "job status") echo "-h --help" ;;
    "job result") echo "-h --help" ;;
    "job config") echo "-h --help" ;;
    "job log") echo "-h --help -f --follow --from" ;;
    "job list") echo "-h --help -n --limit --state --context --before --format --no-header" ;;
    "job kill") echo "-h --help" ;;
    "job wait") echo "-h --help --timeout" ;;
    "cluster list") echo "-h --help" ;;
    "cluster show") echo "-h --help" ;;
    "cluster wait") echo "-h --help --timeout" ;;
    "cluster stop") echo "-h --help --timeout" ;;
    "cluster result") echo "-h --help" ;;
    "daemon start") echo "-h --help --http" ;;
    "daemon stop") echo "-h --help --wait" ;;
    "daemon status") echo "-h --help" ;;
    "daemon restart") echo "-h --help --wait --http" ;;
    user) echo "-h --help" ;;
    "user add") echo "-h --help --permissions --password-stdin --replace --users-file" ;;
    "user list") echo "-h --help --users-file" ;;
    "user remove") echo "-h --help --users-file" ;;
    "user token") echo "-h --help --users-file" ;;
    "user revoke-token") echo "-h --help --users-file" ;;
  esac
}

# The options of a command path that take a value.
_sjs_value_options() {
  case $1 in
    "") echo "--socket --data-dir --url --user --token --cacert" ;;
    "binary upload") echo "--type" ;;
    "binary delete") echo "--version" ;;
    "binary steps") echo "--version" ;;
    "context create") echo "--runtime --set --max-jobs" ;;
    "job submit") echo "--with -c --context --conf --conf-file --timeout --wait-timeout --steps --priority --key" ;;
    "job log") echo "--from" ;;
    "job list") echo "-n --limit --state --context --before --format" ;;
    "job wait") echo "--timeout" ;;
    "cluster wait") echo "--timeout" ;;
    "cluster stop") echo "--timeout" ;;
    "daemon start") echo "--http" ;;
    "daemon stop") echo "--wait" ;;
    "daemon restart") echo "--wait --http" ;;
    "user add") echo "--permissions --users-file" ;;
    "user list") echo "--users-file" ;;
    "user remove") echo "--users-file" ;;
    "user token") echo "--users-file" ;;
    "user revoke-token") echo "--users-file" ;;
  esac
}

# What the Nth (from 0) positional argument of a command path is.
_sjs_positional() {
  case "$1/$2" in
    "binary upload/0" | "binary show/0" | "binary delete/0" | "binary steps/0" | "jar upload/0" | "job submit/0") echo binary ;;
    "binary upload/1" | "jar upload/1") echo file ;;
    "context show/0" | "context delete/0" | "context objects/0" | "context restart/0") echo context ;;
    "job status/0" | "job result/0" | "job config/0" | "job log/0" | "job kill/0" | "job wait/0") echo job ;;
    "cluster show/0" | "cluster wait/0" | "cluster stop/0" | "cluster result/0") echo cluster ;;
  esac
}

# Names from the running sjsd: binaries, contexts (named ones), jobs (the 50 newest) or clusters.
_sjs_names() {
  local -a cmd=("$_sjs_bin" --json --no-autostart --quiet)
  [[ -n $_sjs_socket ]] && cmd+=(--socket "$_sjs_socket")
  [[ -n $_sjs_data_dir ]] && cmd+=(--data-dir "$_sjs_data_dir")
  cmd+=("${_sjs_remote[@]}")  # --url and its credentials; stdin is /dev/null: never a password prompt
  case $1 in
    binary) "${cmd[@]}" binary list </dev/null 2>/dev/null | sed -n 's/^      "name": "\([^"]*\)",\{0,1\}$/\1/p' ;;
    context)
      "${cmd[@]}" context list </dev/null 2>/dev/null |
        awk '/^      "adhoc": /{adhoc = ($2 ~ /true/)} /^      "name": /{if (!adhoc) {n = $2; gsub(/[",]/, "", n); print n}}'
      ;;
    job) "${cmd[@]}" job list --limit 50 </dev/null 2>/dev/null | sed -n 's/^      "id": "\([^"]*\)",\{0,1\}$/\1/p' ;;
    cluster) "${cmd[@]}" cluster list </dev/null 2>/dev/null | sed -n 's/^      "name": "\([^"]*\)",\{0,1\}$/\1/p' ;;
  esac
}

# Values of an option.
_sjs_option_value() {
  local cur=$1 option=$2
  case $option in
    --type) COMPREPLY=($(compgen -W "jar exec py wheel egg so" -- "$cur")) ;;
    --runtime) COMPREPLY=($(compgen -W "exec jvm spark python pyspark" -- "$cur")) ;;
    --with) COMPREPLY=($(compgen -W "$(_sjs_names binary)" -- "$cur")) ;;
    --state) COMPREPLY=($(compgen -W "QUEUED RUNNING FINISHED ERROR KILLED" -- "$cur")) ;;
    -c | --context) COMPREPLY=($(compgen -W "$(_sjs_names context)" -- "$cur")) ;;
    --permissions)
      # A comma-separated list: offer the names after the last comma ("*", all, is typed by hand).
      local prefix=${cur%"${cur##*,}"}
      COMPREPLY=($(compgen -P "$prefix" -W "binaries binaries:read binaries:upload binaries:delete contexts contexts:read contexts:start contexts:delete contexts:reset data data:read data:upload data:delete data:reset jobs jobs:read jobs:start jobs:delete" -- "${cur##*,}"))
      ;;
    --conf-file | --socket | --users-file | --cacert)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
      ;;
    --steps)
      # JSON is typed by hand; @FILE reads the steps from a file.
      if [[ $cur == @* ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -P @ -f -- "${cur#@}"))
      fi
      ;;
    --data-dir)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -d -- "$cur"))
      ;;
    *) COMPREPLY=() ;;
  esac
}

_sjs() {
  local cur=${COMP_WORDS[COMP_CWORD]} cword=$COMP_CWORD
  local path="" word option="" children i npos=0
  _sjs_bin=${COMP_WORDS[0]}
  command -v "$_sjs_bin" >/dev/null 2>&1 || _sjs_bin=sjs
  _sjs_socket="" _sjs_data_dir="" _sjs_remote=()
  COMPREPLY=()

  for ((i = 1; i < cword; i++)); do
    word=${COMP_WORDS[i]}
    if [[ -n $option ]]; then
      [[ $option == --socket ]] && _sjs_socket=$word
      [[ $option == --data-dir ]] && _sjs_data_dir=$word
      [[ $option == --url || $option == --user || $option == --token || $option == --cacert ]] &&
        _sjs_remote+=("$option" "$word")
      option=""
      continue
    fi
    case $word in
      --)
        # Everything after "--" is the job's own arguments: offer files.
        compopt -o default 2>/dev/null
        return 0
        ;;
      -*)
        [[ $word != *=* && " $(_sjs_value_options "$path") " == *" $word "* ]] && option=$word
        [[ -z $path && $word == --insecure ]] && _sjs_remote+=(--insecure)
        ;;
      *)
        children=$(_sjs_commands "$path")
        if [[ -n $children && " $children " == *" $word "* ]]; then
          path=${path:+$path }$word
        else
          ((npos++))
        fi
        ;;
    esac
  done

  if [[ -n $option ]]; then
    _sjs_option_value "$cur" "$option"
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_sjs_options "$path")" -- "$cur"))
    return 0
  fi
  children=$(_sjs_commands "$path")
  if [[ -n $children ]]; then
    COMPREPLY=($(compgen -W "$children" -- "$cur"))
    return 0
  fi
  case $(_sjs_positional "$path" "$npos") in
    binary) COMPREPLY=($(compgen -W "$(_sjs_names binary)" -- "$cur")) ;;
    context) COMPREPLY=($(compgen -W "$(_sjs_names context)" -- "$cur")) ;;
    job) COMPREPLY=($(compgen -W "$(_sjs_names job)" -- "$cur")) ;;
    cluster) COMPREPLY=($(compgen -W "$(_sjs_names cluster)" -- "$cur")) ;;
    file)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
      ;;
  esac
  return 0
}

complete -F _sjs sjs
