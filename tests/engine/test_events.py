"""Progress events, log tailing, the event hub and progress from log lines."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from fusion_jupyter.engine import Status
from fusion_jupyter.engine.hub import EventHub
from fusion_jupyter.engine.logpatterns import FUSION_LOG_PATTERNS, LogProgressTranslator
from fusion_jupyter.engine.logs import read_range, tail_lines
from fusion_jupyter.engine.progress import ProgressReader, ProgressState, read_events
from tests.support import fusion_standin_command
from tests.support.engine import make_manager, stub_command, wait_terminal, wait_until


def test_reader_waits_for_the_newline_of_a_half_written_line(tmp_path):
    path = tmp_path / "progress.jsonl"
    reader = ProgressReader(path)
    assert reader.read() == []
    path.write_text('{"type": "start"}\n{"type": "iter')
    assert [e["type"] for e in reader.read()] == ["start"]
    assert reader.read() == []
    with path.open("a") as fh:
        fh.write('ation", "iteration": 1}\n\n{"type": "complete"}\n')
    events = reader.read()
    assert [(e["seq"], e["type"]) for e in events] == [(1, "iteration"), (2, "complete")]
    assert events[0]["iteration"] == 1


def test_a_malformed_line_is_a_warning_event_not_a_crash(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"type": "start"}\nnot json at all\n[1, 2]\n{"type": "complete"}\n')
    events = read_events(path)
    assert [e["type"] for e in events] == ["start", "warning", "warning", "complete"]
    assert "malformed progress line 1" in events[1]["message"]
    assert [e["seq"] for e in events] == [0, 1, 2, 3]
    assert [e["seq"] for e in read_events(path, after=1)] == [2, 3]


def test_progress_state_folds_events_into_a_percentage():
    state = ProgressState()
    state.apply({"type": "start", "seq": 0, "config": {"total_erlangs": 2, "total_iterations": 4}})
    state.apply({"type": "erlang_start", "seq": 1, "erlang": 300.0, "erlang_index": 0})
    state.apply({"type": "iteration", "seq": 2, "erlang": 300.0, "iteration": 2})
    assert state.percent == 25.0 and state.erlang == 300.0 and state.iteration == 2
    state.apply({"type": "erlang_complete", "seq": 3, "erlang": 300.0})  # early stop
    assert state.percent == 50.0
    state.apply({"type": "complete", "seq": 4})
    assert state.percent == 100.0 and state.columns()["progress_seq"] == 4


def test_log_ranges_and_tails(tmp_path):
    log = tmp_path / "sim.log"
    log.write_text("".join(f"line {i}\n" for i in range(100_000)))
    tail = tail_lines(log, 3)
    assert tail.data == "line 99997\nline 99998\nline 99999\n"
    assert tail.next_offset == tail.size == log.stat().st_size
    chunk = read_range(log, 7, 14)
    assert chunk.data == "line 1\nline 2\n" and chunk.next_offset == 21
    assert read_range(log, 10**12, 10).data == ""
    assert tail_lines(tmp_path / "missing.log", 5).data == ""


def test_hub_resumes_from_seq_and_offset_without_loss_or_repeat(tmp_path):
    run_dir = tmp_path / "r"
    (run_dir / "logs").mkdir(parents=True)
    progress, log = run_dir / "progress.jsonl", run_dir / "logs" / "sim.log"
    progress.write_text("".join(json.dumps({"type": "iteration", "i": i}) + "\n" for i in range(5)))
    log.write_text("héllo\nworld\n")
    hub = EventHub(lambda run_id: run_dir)
    woken = threading.Event()
    sub = hub.subscribe("r", notify=woken.set, after=2, log_offset=len("héllo\n".encode()))
    assert woken.is_set()
    messages = sub.drain()
    assert [m["seq"] for m in messages if m["type"] == "progress"] == [3, 4]
    assert [m["data"] for m in messages if m["type"] == "log"] == ["world\n"]
    # A live publish of an event the subscriber already read from the file is dropped.
    events = read_events(progress)
    hub.publish_progress("r", events[3:])
    assert sub.drain() == []
    with progress.open("a") as fh:
        fh.write(json.dumps({"type": "complete"}) + "\n")
    hub.publish_progress("r", read_events(progress, after=4))
    assert [m["seq"] for m in sub.drain()] == [5]
    sub.close()
    assert hub.subscriber_count == 0


def test_fusion_log_lines_become_progress_events():
    lines = [
        "2026-11-22 01:58:30,445 - fusion.utils.logging_config - INFO - "
        "Starting simulation for 1000.0 Erlang (load 1/3)",
        "x - fusion.core.simulation - INFO - Mean of blocking: 0.0117",
        "x - fusion.utils.logging_config - INFO - CHILD=s1 iteration=0, done_units=1",
        "x - fusion.core.persistence - INFO - Saving to: /root/data/output/NSFNet/1122/01/s1",
        "x - fusion.utils.logging_config - INFO - CHILD=s1 iteration=1, done_units=2",
        "x - fusion.utils.logging_config - INFO - Completed 1000.0 Erlang in 44.52 seconds",
    ]
    t = LogProgressTranslator(FUSION_LOG_PATTERNS, {"total_erlangs": 3, "total_iterations": 2})
    events = [e for line in lines for e in t.feed(line)]
    assert [e["type"] for e in events] == [
        "erlang_start",
        "iteration",
        "iteration",
        "erlang_complete",
    ]
    assert events[0]["erlang"] == 1000.0 and events[0]["erlang_index"] == 0
    assert events[1]["iteration"] == 1 and events[1]["metrics"] == {"mean_blocking": 0.0117}
    assert events[2]["iteration"] == 2 and events[2]["total_iterations"] == 2
    assert events[3]["metrics"]["seconds"] == 44.52
    assert t.output_dirs == ["/root/data/output/NSFNet/1122/01/s1"]


def test_a_simulator_without_progress_file_gets_progress_from_its_log(
    tmp_path, fusion_standin_root
):
    # The stand-in, not FUSION: this is the generic mechanism (a simulator_command
    # with progress_log_patterns and output_collect); FUSION itself runs in
    # tests/engine/test_fusion.py.
    with make_manager(
        tmp_path,
        simulator_command=fusion_standin_command(),
        progress_log_patterns=FUSION_LOG_PATTERNS,
        output_collect=["*_erlang.json"],
    ) as m:
        run = m.create("minimal", {"general_settings": {"max_iters": 2}})
        done = wait_terminal(m, run.id)
        assert done.status == Status.COMPLETED, done.error
        events = m.events(run.id)
        kinds = [e["type"] for e in events]
        assert kinds[0] == "start" and kinds[-1] == "complete"
        assert kinds.count("erlang_start") == 3 and kinds.count("iteration") == 6
        assert done.percent == 100.0 and done.erlang_count == 3
        collected = sorted(p.name for p in (Path(run.run_dir) / "output").iterdir())
        assert collected == ["300.0_erlang.json", "400.0_erlang.json", "500.0_erlang.json"]
        assert "Starting simulation for 300.0 Erlang" in m.tail_log(run.id, 1000).data


def test_settling_writes_the_progress_cache_a_concurrent_flush_had_taken(tmp_path, monkeypatch):
    """The race behind a COMPLETED run with no erlang_count (1 in 626 in CI): the
    periodic flush took the changed cache just before the run settled, and its write
    landed only after the terminal status was visible. Here the flush takes it and
    never writes: the settled run must carry its cache all the same."""
    from fusion_jupyter.engine.manager import RunManager

    untrack = RunManager._untrack

    def flush_took_it_first(self, run_id, **kwargs):
        tracker = self._trackers.get(run_id)
        if tracker is not None:
            tracker.poll(self.hub)
            tracker.take_dirty()  # what the sync thread's flush does, minus its write
        return untrack(self, run_id, **kwargs)

    monkeypatch.setattr(RunManager, "_untrack", flush_took_it_first)
    with make_manager(
        tmp_path, f"sqlite:///{tmp_path}/runs.db", progress_flush_seconds=3600.0
    ) as m:
        run = m.create("minimal", {"general_settings": {"max_iters": 2}})
        done = wait_terminal(m, run.id)
        assert done.status == Status.COMPLETED, done.error
        assert (done.erlang_count, done.erlang_index, done.percent) == (3, 2, 100.0)


def test_a_failing_log_driven_run_gets_an_error_event_with_its_traceback(
    tmp_path, fusion_standin_root
):
    # The stand-in: a crash in the middle of an iteration, which FUSION cannot be made
    # to produce quickly (its known crash, best_fit, needs minutes of simulation).
    with make_manager(
        tmp_path,
        simulator_command=fusion_standin_command("--standin-fail", "iteration"),
        progress_log_patterns=FUSION_LOG_PATTERNS,
    ) as m:
        done = wait_terminal(m, m.create("minimal").id)
        assert done.status == Status.FAILED and done.exit_code == 1
        error = m.events(done.id)[-1]
        assert error["type"] == "error" and error["traceback"].startswith("Traceback")


def test_an_event_published_while_subscribing_does_not_hide_the_history(tmp_path, monkeypatch):
    """The race seen with many clients subscribing to a busy run: a live event lands
    between the subscription's registration and its history read."""
    import fusion_jupyter.engine.hub as hub_module

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    progress = run_dir / "progress.jsonl"
    progress.write_text("".join(json.dumps({"type": "iteration", "i": i}) + "\n" for i in range(5)))
    hub = EventHub(lambda run_id: run_dir)
    real_read = hub_module.read_events

    def read_after_a_live_event(path: Path, after: int = -1) -> list[dict]:
        history = real_read(path, after)
        with progress.open("a") as fh:
            fh.write(json.dumps({"type": "complete"}) + "\n")
        hub.publish_progress("r", real_read(progress, after=4))  # seq 5, live
        return history

    monkeypatch.setattr(hub_module, "read_events", read_after_a_live_event)
    sub = hub.subscribe("r", notify=lambda: None, channels=["progress"])
    assert [m["seq"] for m in sub.drain()] == [0, 1, 2, 3, 4, 5]
    sub.close()


def test_live_subscription_sees_every_event_once_in_order(tmp_path):
    with make_manager(
        tmp_path,
        simulator_command=stub_command(
            "--delay",
            "0.01",
            "--stdout-lines",
            "500",
            "--partial-line-at",
            "3",
            "--partial-line-delay",
            "0.1",
            "--malformed-line-at",
            "5",
        ),
    ) as m:
        run = m.create("minimal", {"general_settings": {"max_iters": 3}})
        seqs: list[int] = []
        log_text: list[str] = []
        done = threading.Event()
        subs = []
        in_order = threading.Lock()  # publishers' threads may notify at the same time

        def on_data() -> None:
            # subscribe() itself notifies when the run has events already, before
            # ``subs`` holds the subscription: the call after it drains those.
            with in_order:
                for msg in subs[0].drain() if subs else []:
                    if msg["type"] == "progress":
                        seqs.append(msg["seq"])
                        if msg["event"]["type"] == "complete":
                            done.set()
                    elif msg["type"] == "log":
                        log_text.append(msg["data"])

        subs.append(m.subscribe(run.id, notify=on_data))
        on_data()
        assert done.wait(30)
        wait_terminal(m, run.id)
        wait_until(
            lambda: "".join(log_text) == m.read_log(run.id, 0, 1 << 24).data, what="the whole log"
        )
        assert seqs == list(range(len(seqs)))
        assert [e["seq"] for e in m.events(run.id)] == seqs
        assert any(e["type"] == "warning" for e in m.events(run.id))
        subs[0].close()


def test_eta_is_the_pace_of_the_events_so_far():
    state = ProgressState()
    state.apply(
        {
            "type": "start",
            "seq": 0,
            "ts": "2026-01-01T00:00:00Z",
            "config": {"total_erlangs": 2, "total_iterations": 2},
        }
    )
    assert state.eta_seconds is None  # no pace yet
    state.apply(
        {
            "type": "erlang_start",
            "seq": 1,
            "ts": "2026-01-01T00:00:01Z",
            "erlang": 300,
            "erlang_index": 0,
            "total_erlangs": 2,
        }
    )
    state.apply(
        {
            "type": "iteration",
            "seq": 2,
            "ts": "2026-01-01T00:00:10Z",
            "erlang": 300,
            "iteration": 1,
            "total_iterations": 2,
        }
    )
    # A quarter done in 10 s: 30 s to go.
    assert state.percent == 25.0 and state.eta_seconds == 30.0
    summary = state.summary()
    assert summary["seq"] == 2 and summary["erlang_count"] == 2 and summary["eta_seconds"] == 30.0
    state.apply({"type": "complete", "seq": 3, "ts": "2026-01-01T00:00:40Z"})
    assert state.eta_seconds is None


def test_status_subscribers_get_every_runs_folded_progress(tmp_path):
    with make_manager(tmp_path) as m:
        sub = m.hub.subscribe_status(notify=lambda: None)
        run = m.create("minimal", {"stub": {"delay": 0.05}})
        got: list[dict] = []

        def ended() -> bool:
            got.extend(sub.drain())
            return any(
                msg["type"] == "status" and msg["run"]["status"] == "COMPLETED"
                for msg in got
                if msg["run_id"] == run.id
            )

        wait_until(ended, 60, "the run's end on the status channel")
        folded = [msg["progress"] for msg in got if msg["type"] == "run_progress"]
        assert folded, "the bar's progress came with the statuses"
        assert all(p["erlang_count"] == 3 for p in folded if p["seq"] > 0)
        assert [p["seq"] for p in folded] == sorted({p["seq"] for p in folded})
        # The run's end carries the final cache.
        final = [msg["run"] for msg in got if msg["type"] == "status"][-1]
        assert final["status"] == "COMPLETED" and final["progress"]["percent"] == 100.0
        assert final["progress"]["erlang_count"] == 3


def test_a_failures_root_cause_comes_before_its_last_line():
    # FUSION logs the real cause (a missing option) long before the KeyError it dies of.
    t = LogProgressTranslator(
        FUSION_LOG_PATTERNS, {}, root_cause=(r" - ERROR - ", r"Missing required option")
    )
    lines = [
        "2026-11-29 15:07:19,059 - fusion.cli.config_setup - ERROR - Configuration error: "
        "Missing required option 'is_grooming_enabled' in section [general_settings]",
        "2026-11-29 15:07:19,092 - fusion.cli.run_sim - ERROR - Simulation error: 'mod_assumption'",
        "Traceback (most recent call last):",
        '  File "batch_runner.py", line 76, in prepare_simulation',
        "KeyError: 'mod_assumption'",
    ]
    for line in lines:
        t.feed(line + "\n")
    event = t.finish(1, 3.0, "\n".join(lines))
    assert event["message"] == (
        "Configuration error: Missing required option 'is_grooming_enabled' in section "
        "[general_settings] (it then ended with: KeyError: 'mod_assumption')"
    )
    assert event["traceback"].startswith("Traceback") and event["traceback"].endswith("'")
