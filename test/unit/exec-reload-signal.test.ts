// Reading the signal out of a unit's ExecReload=: only a plain kill of $MAINPID counts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { execReloadArgv, execReloadSignal } from "../../agent/drivers/exec-reload-signal.js";

test("kill forms that send a reload signal to the main process", () => {
  for (const [argv, signal] of [
    ["/bin/kill -HUP $MAINPID", "HUP"],
    ["/usr/bin/kill -s HUP ${MAINPID}", "HUP"],
    ["kill -SIGUSR1 $MAINPID", "USR1"],
    ["/bin/kill --signal=USR2 $MAINPID", "USR2"],
    ["/bin/kill -1 $MAINPID", "HUP"],
    ["/bin/kill -s 28 $MAINPID", "WINCH"],
  ] as const) {
    assert.equal(execReloadSignal(argv.split(" ")), signal, argv);
  }
});

test("anything else is not judged: other commands, other targets, other signals", () => {
  for (const argv of ["/usr/sbin/nginx -s reload", "/bin/kill -HUP 1234", "/bin/kill -HUP $MAINPID 99", "/bin/kill -TERM $MAINPID", "/bin/kill $MAINPID", "/bin/sh -c kill -HUP $MAINPID", "/bin/killall -HUP nginx"]) {
    assert.equal(execReloadSignal(argv.split(" ")), undefined, argv);
  }
});

test("the argv of the only ExecReload= command, from systemctl show", () => {
  assert.deepEqual(execReloadArgv("{ path=/bin/kill ; argv[]=/bin/kill -HUP $MAINPID ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"), ["/bin/kill", "-HUP", "$MAINPID"]);
  assert.equal(execReloadArgv(""), undefined);
  assert.equal(execReloadArgv("{ path=/bin/true ; argv[]=/bin/true ; ignore_errors=no } { path=/bin/kill ; argv[]=/bin/kill -HUP $MAINPID ; ignore_errors=no }"), undefined, "several commands: not judged");
});
