# fish completion for sjs. Install as ~/.config/fish/completions/sjs.fish, or in
# /usr/share/fish/vendor_completions.d (the .deb does).
# Names of binaries and contexts and job ids come from the running sjsd; when none
# answers, nothing is offered (the daemon is never started for a completion).

# Subcommands under a command path ("" is the top level).
function __sjs_commands
    switch "$argv[1]"
        case ''
            echo binary jar context job cluster daemon user
        case binary
            echo upload list show delete steps
        case jar
            echo upload
        case context
            echo create list show delete objects restart
        case job
            echo submit status result config log list kill wait
        case cluster
            echo list show wait stop result
        case daemon
            echo start stop status restart
        case user
            echo add list remove token revoke-token
    end
end

# Options that take a value (they and their value are not positional arguments).
set -g __sjs_value_options --socket --data-dir --type --version --runtime --set --max-jobs --with -c --context \
    --conf --conf-file --timeout --wait-timeout --steps --priority --key --from -n --limit --state --before --format --wait \
    --permissions --users-file --url --user --token --cacert --http

# Prints the command path typed so far ("", "job", "job submit"), then the number of
# positional arguments after it; prints "--" instead when the job's own arguments began.
function __sjs_state
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path
    set -l npos 0
    set -l skip 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        if test "x$t" = x--
            printf "%s\n" --
            return
        end
        switch $t
            case '-*'
                # "--version" is a flag at the top level, an option with a value under "binary delete"
                # and "binary steps".
                if not string match -q -- '*=*' $t; and contains -- $t $__sjs_value_options
                    if test "x$t" != x--version; or test "x$path" = "xbinary delete"; or test "x$path" = "xbinary steps"
                        set skip 1
                    end
                end
            case '*'
                if contains -- $t (string split ' ' -- (__sjs_commands "$path"))
                    set path (string trim -- "$path $t")
                else
                    set npos (math $npos + 1)
                end
        end
    end
    echo "$path"
    echo $npos
end

# True when the command path typed so far is $argv[1].
function __sjs_at
    set -l state (__sjs_state)
    test "x$state[1]" = "x$argv[1]"
end

# True when at command path $argv[1], completing positional argument number $argv[2] (from 0).
function __sjs_arg
    set -l state (__sjs_state)
    test "x$state[1]" = "x$argv[1]"; and test "x$state[2]" = "x$argv[2]"; and not string match -q -- '-*' (commandline -ct)
end

# True after "--": the job's own arguments.
function __sjs_job_args
    set -l state (__sjs_state)
    test "x$state[1]" = x--
end

# Names from the running sjsd: binaries, contexts (named ones), jobs (the 50 newest) or clusters.
function __sjs_names
    set -l tokens (commandline -opc)
    set -l cmd $tokens[1] --json --no-autostart --quiet
    command -q $cmd[1]; or set cmd[1] sjs
    set -l i (contains -i -- --socket $tokens); and set -a cmd --socket $tokens[(math $i + 1)]
    set -l i (contains -i -- --data-dir $tokens); and set -a cmd --data-dir $tokens[(math $i + 1)]
    # --url and its credentials (stdin is /dev/null below: never a password prompt).
    for o in --url --user --token --cacert
        set -l i (contains -i -- $o $tokens); and set -a cmd $o $tokens[(math $i + 1)]
    end
    contains -- --insecure $tokens; and set -a cmd --insecure
    switch $argv[1]
        case binary
            $cmd binary list </dev/null 2>/dev/null | string replace -rf '^      "name": "([^"]*)",?$' '$1'
        case context
            $cmd context list </dev/null 2>/dev/null | awk '/^      "adhoc": /{adhoc = ($2 ~ /true/)} /^      "name": /{if (!adhoc) {n = $2; gsub(/[",]/, "", n); print n}}'
        case job
            $cmd job list --limit 50 </dev/null 2>/dev/null | string replace -rf '^      "id": "([^"]*)",?$' '$1'
        case cluster
            $cmd cluster list </dev/null 2>/dev/null | string replace -rf '^      "name": "([^"]*)",?$' '$1'
    end
end

complete -c sjs -f

# The top level.
complete -c sjs -n '__sjs_at ""' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at ""' -l version -d 'Print the version'
complete -c sjs -n '__sjs_at ""' -l json -d 'Machine-readable JSON on stdout'
complete -c sjs -n '__sjs_at ""' -l socket -r -F -d "sjsd's socket"
complete -c sjs -n '__sjs_at ""' -l data-dir -x -a '(__fish_complete_directories)' -d "sjsd's data dir"
complete -c sjs -n '__sjs_at ""' -l no-autostart -d 'Fail instead of starting sjsd'
complete -c sjs -n '__sjs_at ""' -s q -l quiet -d 'No informational messages on stderr'
complete -c sjs -n '__sjs_at ""' -l url -x -d 'Talk to sjsd over HTTP(S) at URL'
complete -c sjs -n '__sjs_at ""' -l user -x -d 'Log in as USER (with --url)'
complete -c sjs -n '__sjs_at ""' -l password-stdin -d 'Read the password from stdin'
complete -c sjs -n '__sjs_at ""' -l token -x -d 'Log in with an API token (with --url)'
complete -c sjs -n '__sjs_at ""' -l cacert -r -F -d 'Also trust the CAs in this PEM file'
complete -c sjs -n '__sjs_at ""' -l insecure -d "Do not verify the server's certificate"
complete -c sjs -n '__sjs_at ""' -a binary -d 'Upload and manage binaries'
complete -c sjs -n '__sjs_at ""' -a jar -d 'Upload jars'
complete -c sjs -n '__sjs_at ""' -a context -d 'Create and manage contexts'
complete -c sjs -n '__sjs_at ""' -a job -d 'Submit jobs and follow them'
complete -c sjs -n '__sjs_at ""' -a cluster -d 'List, wait for and stop partition servers'
complete -c sjs -n '__sjs_at ""' -a daemon -d 'Start, stop and inspect sjsd'
complete -c sjs -n '__sjs_at ""' -a user -d 'Manage users of the HTTP API'

# Every family and command takes --help.
complete -c sjs -n '__sjs_at "binary"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "jar"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "context"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "cluster"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "daemon"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "binary upload"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "binary list"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "binary show"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "binary delete"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "binary steps"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "jar upload"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "context create"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "context list"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "context show"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "context delete"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "context objects"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "context restart"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job submit"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job status"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job result"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job config"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job log"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job list"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job kill"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "job wait"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "cluster list"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "cluster show"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "cluster wait"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "cluster stop"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "cluster result"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "daemon start"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "daemon stop"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "daemon status"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "daemon restart"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "user"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "user add"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "user list"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "user remove"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "user token"' -s h -l help -d 'Print help'
complete -c sjs -n '__sjs_at "user revoke-token"' -s h -l help -d 'Print help'

# binary
complete -c sjs -n '__sjs_at "binary"' -a upload -d 'Upload FILE as a new version of binary NAME'
complete -c sjs -n '__sjs_at "binary"' -a list -d 'List binaries'
complete -c sjs -n '__sjs_at "binary"' -a show -d 'Show every version of a binary'
complete -c sjs -n '__sjs_at "binary"' -a delete -d 'Delete a binary or one version'
complete -c sjs -n '__sjs_at "binary"' -a steps -d 'List the steps of a step library'
complete -c sjs -n '__sjs_at "binary upload"' -l type -x -a 'jar exec py wheel egg so' -d 'Binary type'
complete -c sjs -n '__sjs_arg "binary upload" 0' -a '(__sjs_names binary)' -d Binary
complete -c sjs -n '__sjs_arg "binary upload" 1' -F
complete -c sjs -n '__sjs_arg "binary show" 0' -a '(__sjs_names binary)' -d Binary
complete -c sjs -n '__sjs_at "binary delete"' -l version -x -d 'Only this version'
complete -c sjs -n '__sjs_arg "binary delete" 0' -a '(__sjs_names binary)' -d Binary
complete -c sjs -n '__sjs_at "binary steps"' -l version -x -d 'This version (default: the newest)'
complete -c sjs -n '__sjs_arg "binary steps" 0' -a '(__sjs_names binary)' -d Binary

# jar
complete -c sjs -n '__sjs_at "jar"' -a upload -d 'Upload a jar as a new version of binary NAME'
complete -c sjs -n '__sjs_arg "jar upload" 0' -a '(__sjs_names binary)' -d Binary
complete -c sjs -n '__sjs_arg "jar upload" 1' -F

# context
complete -c sjs -n '__sjs_at "context"' -a create -d 'Create a context and start it'
complete -c sjs -n '__sjs_at "context"' -a list -d 'List contexts'
complete -c sjs -n '__sjs_at "context"' -a show -d 'Show a context'
complete -c sjs -n '__sjs_at "context"' -a delete -d 'Stop and delete a context'
complete -c sjs -n '__sjs_at "context"' -a objects -d 'List the named objects a resident context holds'
complete -c sjs -n '__sjs_at "context"' -a restart -d 'Restart a context'
complete -c sjs -n '__sjs_at "context create"' -l runtime -x -a 'exec jvm spark python pyspark' -d Runtime
complete -c sjs -n '__sjs_at "context create"' -l set -x -d 'Setting key=value (repeatable)'
complete -c sjs -n '__sjs_at "context create"' -l max-jobs -x -d 'Jobs that run at once'
complete -c sjs -n '__sjs_arg "context show" 0' -a '(__sjs_names context)' -d Context
complete -c sjs -n '__sjs_at "context delete"' -l force -d 'Kill its jobs instead of refusing'
complete -c sjs -n '__sjs_arg "context delete" 0' -a '(__sjs_names context)' -d Context
complete -c sjs -n '__sjs_arg "context objects" 0' -a '(__sjs_names context)' -d Context
complete -c sjs -n '__sjs_arg "context restart" 0' -a '(__sjs_names context)' -d Context

# job
complete -c sjs -n '__sjs_at "job"' -a submit -d 'Submit a job'
complete -c sjs -n '__sjs_at "job"' -a status -d "Show a job's state and times"
complete -c sjs -n '__sjs_at "job"' -a result -d "Print a job's result"
complete -c sjs -n '__sjs_at "job"' -a config -d 'Print the config a job was submitted with'
complete -c sjs -n '__sjs_at "job"' -a log -d "Print a job's output"
complete -c sjs -n '__sjs_at "job"' -a list -d 'List jobs, newest first'
complete -c sjs -n '__sjs_at "job"' -a kill -d 'Kill a queued or running job'
complete -c sjs -n '__sjs_at "job"' -a wait -d 'Wait for a job to end'
complete -c sjs -n '__sjs_at "job submit"' -l with -x -a '(__sjs_names binary)' -d "Another binary on the job's path (repeatable)"
complete -c sjs -n '__sjs_at "job submit"' -s c -l context -x -a '(__sjs_names context)' -d 'Run in this context'
complete -c sjs -n '__sjs_at "job submit"' -l conf -x -d 'Config key=value (repeatable)'
complete -c sjs -n '__sjs_at "job submit"' -l conf-file -r -F -d 'Config file, JSON or HOCON'
complete -c sjs -n '__sjs_at "job submit"' -l sync -d 'Wait; print the result; exit with the outcome'
complete -c sjs -n '__sjs_at "job submit"' -l timeout -x -d 'Kill the job after SECONDS'
complete -c sjs -n '__sjs_at "job submit"' -l wait-timeout -x -d 'With --sync: stop waiting after SECONDS'
complete -c sjs -n '__sjs_at "job submit"' -l steps -x -d 'A step pipeline of the library BINARY: JSON [["step", arg...], ...] or @FILE'
complete -c sjs -n '__sjs_at "job submit"' -l priority -x -d 'Higher runs first'
complete -c sjs -n '__sjs_at "job submit"' -l key -x -d 'Idempotency key'
complete -c sjs -n '__sjs_at "job submit"' -l parsable -d 'Print the job id alone (scripts; not with --sync)'
complete -c sjs -n '__sjs_arg "job submit" 0' -a '(__sjs_names binary)' -d Binary
complete -c sjs -n __sjs_job_args -F
for cmd in status result config log kill wait
    complete -c sjs -n "__sjs_arg 'job $cmd' 0" -a '(__sjs_names job)' -d Job
end
complete -c sjs -n '__sjs_at "job log"' -s f -l follow -d 'Keep printing until the job ends'
complete -c sjs -n '__sjs_at "job log"' -l from -x -d 'Start at this byte offset'
complete -c sjs -n '__sjs_at "job list"' -s n -l limit -x -d 'At most N jobs'
complete -c sjs -n '__sjs_at "job list"' -l state -x -a 'QUEUED RUNNING FINISHED ERROR KILLED' -d 'Only jobs in this state'
complete -c sjs -n '__sjs_at "job list"' -l context -x -a '(__sjs_names context)' -d 'Only jobs of this context'
complete -c sjs -n '__sjs_at "job list"' -l before -x -d 'Only jobs older than this sequence number'
complete -c sjs -n '__sjs_at "job list"' -l format -x -d 'Columns: id,state,binary,entry,context,runtime,submitted,started,ended,duration,seq,priority,exit,reason'
complete -c sjs -n '__sjs_at "job list"' -l no-header -d 'No header line'
complete -c sjs -n '__sjs_at "job wait"' -l timeout -x -d 'Stop waiting after SECONDS'

# cluster
complete -c sjs -n '__sjs_at "cluster"' -a list -d 'List clusters of partition servers'
complete -c sjs -n '__sjs_at "cluster"' -a show -d "Show a cluster and its servers' addresses"
complete -c sjs -n '__sjs_at "cluster"' -a wait -d 'Wait until a cluster is READY'
complete -c sjs -n '__sjs_at "cluster"' -a stop -d 'Stop a cluster and print its results'
complete -c sjs -n '__sjs_at "cluster"' -a result -d 'Print the results collected when a cluster stopped'
complete -c sjs -n '__sjs_at "cluster wait"' -l timeout -x -d 'Stop waiting after SECONDS (exit 6)'
complete -c sjs -n '__sjs_at "cluster stop"' -l timeout -x -d 'Stop waiting after SECONDS (exit 6)'
for cmd in show wait stop result
    complete -c sjs -n "__sjs_arg 'cluster $cmd' 0" -a '(__sjs_names cluster)' -d Cluster
end

# daemon
complete -c sjs -n '__sjs_at "daemon"' -a start -d 'Start sjsd in the background'
complete -c sjs -n '__sjs_at "daemon"' -a stop -d 'Stop sjsd gracefully'
complete -c sjs -n '__sjs_at "daemon"' -a status -d 'Is sjsd running?'
complete -c sjs -n '__sjs_at "daemon"' -a restart -d 'Stop sjsd, then start it'
complete -c sjs -n '__sjs_at "daemon stop"' -l wait -x -d 'Give up waiting after SECONDS'
complete -c sjs -n '__sjs_at "daemon restart"' -l wait -x -d 'Give up waiting for the stop after SECONDS'
complete -c sjs -n '__sjs_at "daemon start"' -l http -x -d 'Also serve the HTTP API on ADDR[:PORT]'
complete -c sjs -n '__sjs_at "daemon restart"' -l http -x -d 'Serve the HTTP API on ADDR[:PORT] after the restart'

# user
complete -c sjs -n '__sjs_at "user"' -a add -d 'Add a user with a password and permissions'
complete -c sjs -n '__sjs_at "user"' -a list -d 'List users'
complete -c sjs -n '__sjs_at "user"' -a remove -d 'Remove a user and its tokens'
complete -c sjs -n '__sjs_at "user"' -a token -d 'Create a bearer token and print it once'
complete -c sjs -n '__sjs_at "user"' -a revoke-token -d 'Revoke every token of a user'
complete -c sjs -n '__sjs_at "user add"' -l permissions -x -a '"*" binaries binaries:read binaries:upload binaries:delete contexts contexts:read contexts:start contexts:delete contexts:reset data data:read data:upload data:delete data:reset jobs jobs:read jobs:start jobs:delete' -d 'Comma-separated permissions'
complete -c sjs -n '__sjs_at "user add"' -l password-stdin -d 'Read the password from stdin'
complete -c sjs -n '__sjs_at "user add"' -l replace -d 'Replace an existing user'
complete -c sjs -n '__sjs_at "user add"' -l users-file -r -F -d 'The users file'
complete -c sjs -n '__sjs_at "user list"' -l users-file -r -F -d 'The users file'
complete -c sjs -n '__sjs_at "user remove"' -l users-file -r -F -d 'The users file'
complete -c sjs -n '__sjs_at "user token"' -l users-file -r -F -d 'The users file'
complete -c sjs -n '__sjs_at "user revoke-token"' -l users-file -r -F -d 'The users file'
