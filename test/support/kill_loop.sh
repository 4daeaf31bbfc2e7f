# Sourced by the kill -9 tests: kills a checkpointing job at random moments.
#
#   kill_loop KILLS CHECKPOINT_DIR START
#
# KILLS times: runs `START i` (which starts the job in the background and sets $pid), waits
# until the job wrote a new checkpoint into CHECKPOINT_DIR (up to 10 s, however slow the
# machine), then 0 to 0.9 s more (checkpoints every 100-200 ms: some kills land while one is
# written), and kills the job with SIGKILL. Sets kill_loop_killed to the number of kills. Stops
# early, with kill_loop_finished=1 and kill_loop_status set to the run's exit status, when a run
# ended by itself before its kill. The caller's EXIT trap should kill $pid when it is set.
kill_loop() {
  local kills=$1 dir=$2 start=$3 i before
  kill_loop_finished=
  kill_loop_status=
  kill_loop_killed=0
  newest_checkpoint() { ls "$dir" 2> /dev/null | grep '^chk-' | sort | tail -1 || true; }
  for i in $(seq 1 "$kills"); do
    "$start" "$i"
    before=$(newest_checkpoint)
    for _ in $(seq 1 200); do
      [ "$(newest_checkpoint)" != "$before" ] && break
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.05
    done
    sleep "0.$((RANDOM % 10))"
    if ! kill -0 "$pid" 2> /dev/null; then
      kill_loop_status=0
      wait "$pid" || kill_loop_status=$?
      pid=
      kill_loop_finished=1
      return 0
    fi
    kill -9 "$pid"
    wait "$pid" 2> /dev/null || true
    pid=
    kill_loop_killed=$((kill_loop_killed + 1))
  done
}
