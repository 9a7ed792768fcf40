#!/usr/bin/env bash
# Jobs make test runs beside the Python checks (which mostly keep one core busy): `beside.sh start NAME CMD...` runs
# CMD in the background with its output in .build/beside/NAME.log; `beside.sh wait NAME...` waits for each, prints
# its output, and fails when any of them failed (exit status in .build/beside/NAME.rc).
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
    rm -f "$dir/$name.rc" "$dir/$name.log"
    (
        "$@" >"$dir/$name.log" 2>&1
        echo $? >"$dir/$name.rc.tmp" && mv "$dir/$name.rc.tmp" "$dir/$name.rc"
    ) </dev/null &
    echo "beside: started $name ($*)"
    ;;
wait)
    status=0
    for name in "$@"; do
        [ -e "$dir/$name.log" ] || { echo "beside: $name was never started"; status=1; continue; }
        while [ ! -e "$dir/$name.rc" ]; do sleep 1; done
        echo "== beside: $name"
        cat "$dir/$name.log"
        rc=$(cat "$dir/$name.rc")
        if [ "$rc" -ne 0 ]; then
            echo "beside: $name failed (exit $rc)"
            status=1
        fi
    done
    exit $status
    ;;
*)
    echo "usage: beside.sh start NAME CMD... | wait NAME..."
    exit 2
    ;;
esac
