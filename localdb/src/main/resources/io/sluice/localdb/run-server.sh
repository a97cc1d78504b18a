#!/bin/sh
# Runs the command in "$@" (a throwaway server) and stops it when this script's stdin reaches EOF.
# The JVM that started us holds the only write end of that pipe, so EOF means the JVM closed it
# (LocalServer.stop) or died in any way, even SIGKILL: the server never outlives its JVM.
# TERM first (a clean shutdown takes well under a second with the tiny buffer pool), KILL after 5 s.
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
(
  while read -r _ <&3; do :; done
  kill -TERM "$server" 2>/dev/null
  i=0
  while kill -0 "$server" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$server" 2>/dev/null
) &
watcher=$!
exec 3<&-
wait "$server"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
