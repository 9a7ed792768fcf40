#!/usr/bin/env bash
# Jobs make test runs beside the Python checks (which mostly keep one core busy): `beside.sh start NAME CMD...` runs
# CMD in the background, in its own process group, with its output in .build/beside/NAME.log; `beside.sh wait
# NAME...` waits for each (at most BESIDE_TIMEOUT seconds, default 1800), prints its output, and fails when any of
# them failed, died without an exit status or ran out of time. A start stops an earlier job of the same name still
# running (left behind by a make test that failed before its wait), and each run's exit status is kept under its own
# process id, so a stale job cannot answer for a new one.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=.build/beside
mkdir -p "$dir"
action=${1:?usage: beside.sh start NAME CMD... | wait NAME...}
shift
case "$action" in
start)
    name=${1:?usage: beside.sh start NAME CMD...}
    shift
    if [ -f "$dir/$name.pid" ] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
        kill -- "-$(cat "$dir/$name.pid")" 2>/dev/null
    fi
    rm -f "$dir/$name".* 2>/dev/null
    # The job writes its own process id (its process group's, from setsid) and its exit status under that id.
    setsid bash -c 'dir=$1; name=$2; shift 2; echo $$ >"$dir/$name.pid.tmp" && mv "$dir/$name.pid.tmp" "$dir/$name.pid"
        "$@" >"$dir/$name.log" 2>&1
        echo $? >"$dir/$name.$$.rc.tmp" && mv "$dir/$name.$$.rc.tmp" "$dir/$name.$$.rc"' \
        beside "$dir" "$name" "$@" </dev/null &
    for _ in $(seq 100); do [ -f "$dir/$name.pid" ] && break; sleep 0.1; done
    [ -f "$dir/$name.pid" ] || { echo "beside: $name did not start"; exit 1; }
    pid=$(cat "$dir/$name.pid")
    echo "beside: started $name (pid $pid): $*"
    ;;
wait)
    status=0
    limit=${BESIDE_TIMEOUT:-1800}
    for name in "$@"; do
        if [ ! -f "$dir/$name.pid" ]; then
            echo "beside: $name was never started"
            status=1
            continue
        fi
        pid=$(cat "$dir/$name.pid")
        waited=0
        while [ ! -f "$dir/$name.$pid.rc" ]; do
            if ! kill -0 "$pid" 2>/dev/null && [ ! -f "$dir/$name.$pid.rc" ]; then
                echo "beside: $name (pid $pid) ended without an exit status"
                status=1
                break
            fi
            if [ "$waited" -ge "$limit" ]; then
                echo "beside: $name (pid $pid) still running after $limit s; stopped"
                kill -- "-$pid" 2>/dev/null
                status=1
                break
            fi
            sleep 1
            waited=$((waited + 1))
        done
        echo "== beside: $name"
        cat "$dir/$name.log" 2>/dev/null
        if [ -f "$dir/$name.$pid.rc" ]; then
            rc=$(cat "$dir/$name.$pid.rc")
            if [ "$rc" -ne 0 ]; then
                echo "beside: $name failed (exit $rc)"
                status=1
            fi
        fi
    done
    exit $status
    ;;
*)
    echo "usage: beside.sh start NAME CMD... | wait NAME..."
    exit 2
    ;;
esac
