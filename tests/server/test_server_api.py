"""REST handlers through a real jupyter-server app (pytest-jupyter), with the stub simulator.

Every route is checked for its answer's shape, its refusals (400 naming the field,
403, 404, 409, 413) and that nothing a client sends can produce a 500.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from traitlets.config import Config

from fusion_jupyter.engine.manager import MAX_SWEEP_RUNS, MAX_TAGS
from fusion_jupyter.server.app import FusionJupyter
from fusion_jupyter.server.events import SCHEMA_ID
from fusion_jupyter.server.handlers import OPENAPI_FILE, route_table
from tests.support import async_wait_until, stub_sim_command
from tests.support.engine import FAST_ENGINE
from tests.support.server_app import (
    SLOW,
    Api,
    ReadOnly,
    assert_error,
    create,
    server_config,
    wait_status,
)

# --------------------------------------------------------------------------- health, auth


async def test_live_needs_no_auth_and_ready_reports(api: Api) -> None:
    assert await api("GET", "health/live", headers={"Authorization": ""}) == (200, {"status": "ok"})
    code, ready = await api("GET", "health/ready")
    assert code == 200
    assert ready == {
        "status": "ok",
        "database": "ok",
        "disk": "ok",
        "executors": {"local": "ok", "slurm": ready["executors"]["slurm"]},
        "watcher": ready["watcher"],
        "simulators": ready["simulators"],
    }
    assert ready["watcher"] in ("inotify", "polling")
    simulators = ready["simulators"]
    assert simulators["default"] == "builtin" and "builtin" in simulators["available"]
    assert simulators["fusion"]["setting"] == "c.FusionJupyter.fusion_command"
    assert isinstance(simulators["fusion"]["available"], bool)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "health/ready"),
        ("GET", "openapi.json"),
        ("GET", "templates"),
        ("GET", "templates/minimal"),
        ("POST", "configs/validate"),
        ("GET", "runs"),
        ("POST", "runs"),
        ("GET", "runs/abc"),
        ("DELETE", "runs/abc"),
        ("POST", "runs/abc/cancel"),
        ("POST", "runs/abc/rerun"),
        ("GET", "runs/abc/progress"),
        ("GET", "runs/abc/logs"),
        ("GET", "runs/abc/artifacts"),
        ("GET", "runs/abc/artifacts/config.ini"),
        ("GET", "runs/abc/results"),
        ("POST", "sweeps"),
        ("GET", "sweeps/abc"),
    ],
)
async def test_every_route_refuses_a_wrong_token(api: Api, method: str, path: str) -> None:
    answer = await api(method, path, {}, headers={"Authorization": "token wrong"})
    assert_error(answer, 403)


class TestReadOnlyAuthorizer:
    @pytest.fixture
    def jp_server_config(self, tmp_path: Path) -> Config:
        return server_config(tmp_path, {"authorizer_class": ReadOnly})

    async def test_read_allowed_write_refused(self, api: Api) -> None:
        assert (await api("GET", "runs"))[0] == 200
        code, result = await api("POST", "configs/validate", {"template": "minimal"})
        assert code == 200 and result["valid"] is True
        assert_error(await api("POST", "runs", {"template": "minimal"}), 403)
        assert_error(await api("DELETE", "runs/abcdefabcdef"), 403)


# --------------------------------------------------------------------------- templates, validate


async def test_templates(api: Api) -> None:
    code, listing = await api("GET", "templates")
    assert code == 200
    names = [t["name"] for t in listing["templates"]]
    assert "minimal" in names and set(listing["templates"][0]) == {"name", "description"}
    code, one = await api("GET", "templates/minimal")
    assert code == 200 and set(one) == {"name", "description", "text", "sections"}
    assert "[general_settings]" in one["text"]
    assert one["sections"]["general_settings"]["max_iters"]["value"]
    assert_error(await api("GET", "templates/nope"), 404)
    assert_error(await api("GET", "templates/.hidden"), 400)


async def test_validate(api: Api) -> None:
    code, ok = await api("POST", "configs/validate", {"template": "minimal"})
    assert code == 200 and ok["valid"] is True and ok["errors"] == []
    bad = {"template": "minimal", "overrides": {"general_settings": {"max_iters": -3}}}
    code, result = await api("POST", "configs/validate", bad)
    assert code == 200 and result["valid"] is False
    where = {"section": "general_settings", "key": "max_iters"}
    assert where.items() <= result["errors"][0].items()
    not_nested = {"template": "minimal", "overrides": {"x": 1}}
    code, shape = await api("POST", "configs/validate", not_nested)
    assert code == 200 and shape["valid"] is False
    assert_error(await api("POST", "configs/validate", {"template": "nope"}), 404)
    assert_error(await api("POST", "configs/validate", {"overrides": {}}), 400, "template")


async def test_validate_a_whole_config(api: Api) -> None:
    from fusion_jupyter.engine.config import TemplateLibrary

    whole = TemplateLibrary().load("minimal")
    code, ok = await api("POST", "configs/validate", {"config": whole})
    assert code == 200 and ok["valid"] is True
    whole["general_settings"]["erlang_step"] = "0"
    code, bad = await api("POST", "configs/validate", {"config": whole})
    assert code == 200 and bad["valid"] is False
    assert any(e["key"] == "erlang_step" for e in bad["errors"])
    both = {"config": whole, "template": "minimal"}
    assert_error(await api("POST", "configs/validate", both), 400, "template")
    # A whole INI text, with overrides on top, validates as FUSION would read it.
    text = TemplateLibrary().text("minimal")
    code, ok = await api("POST", "configs/validate", {"config": text})
    assert code == 200 and ok["valid"] is True
    over = {"config": text, "overrides": {"general_settings": {"max_iters": 0}}}
    code, bad = await api("POST", "configs/validate", over)
    assert code == 200 and [e["key"] for e in bad["errors"]] == ["max_iters"]
    code, broken = await api("POST", "configs/validate", {"config": "[a]\nx = 1\nx = 2\n"})
    assert code == 200 and broken["errors"] == [
        {"section": "a", "key": "x", "message": "key given twice (line 3)"}
    ]


async def test_create_a_run_from_a_whole_ini_text_and_save_it_as_a_template(api: Api) -> None:
    from fusion_jupyter.engine.config import TemplateLibrary

    text = TemplateLibrary().text("minimal")
    body = {"config": text, "overrides": {"general_settings": {"max_iters": 1}}, "name": "mine"}
    code, run = await api("POST", "runs", body)
    assert code == 201 and run["template"] == "" and run["name"] == "mine"
    assert run["progress"]["iteration_count"] in (None, 1)
    done = await wait_status(api, run["id"], "COMPLETED")
    assert done["exit_code"] == 0
    # Refused before anything is created: FUSION's words, naming section.key.
    missing = text.replace("is_grooming_enabled = False\n", "")
    code, error = await api("POST", "runs", {"config": missing})
    assert code == 400
    assert error["error"]["details"] == [
        {
            "section": "general_settings",
            "key": "is_grooming_enabled",
            "message": "Missing required option 'is_grooming_enabled' in section "
            "[general_settings] (FUSION refuses the file without it)",
        }
    ]
    code, page = await api("GET", "runs")
    assert [r["id"] for r in page["runs"]] == [run["id"]]
    # Save as template from the run's frozen config; the name is then taken.
    code, saved = await api("POST", "templates", {"name": "mine", "run_id": run["id"]})
    assert code == 201 and saved["name"] == "mine"
    code, listed = await api("GET", "templates")
    assert "mine" in [t["name"] for t in listed["templates"]]
    code, shown = await api("GET", "templates/mine")
    assert shown["sections"]["general_settings"]["max_iters"]["value"] == "1"
    assert_error(await api("POST", "templates", {"name": "mine", "run_id": run["id"]}), 409)
    code, _ = await api("POST", "templates", {"name": "mine", "config": text, "replace": True})
    assert code == 201
    for bad_name in ("../x", "x" * 300):
        refused = assert_error(
            await api("POST", "templates", {"name": bad_name, "config": text}), 400
        )
        assert "is not a template name" in refused["message"]
    code, from_template = await api("POST", "runs", {"template": "mine"})
    assert code == 201 and from_template["template"] == "mine"


# --------------------------------------------------------------------------- runs


async def test_create_get_list_and_filters(api: Api, jp_base_url: str) -> None:
    code, run = await api("POST", "runs", {"template": "minimal", "name": "first", "tags": ["a"]})
    assert code == 201 and run["status"] in ("PENDING", "RUNNING")
    second = await create(api, name="second", tags=["b"])
    done = await wait_status(api, run["id"], "COMPLETED")
    assert done["exit_code"] == 0 and done["progress"]["percent"] == 100.0
    await wait_status(api, second["id"], "COMPLETED")

    code, page = await api("GET", "runs")
    assert code == 200 and [r["id"] for r in page["runs"]] == [second["id"], run["id"]]
    assert page["next_cursor"] is None
    assert (await api("GET", f"runs/{run['id']}"))[1]["name"] == "first"
    for params, expected in [
        ({"tag": "a"}, [run["id"]]),
        ({"name": "seco"}, [second["id"]]),
        ({"template": "minimal", "status": "COMPLETED,FAILED"}, [second["id"], run["id"]]),
        ({"status": "RUNNING"}, []),
        ({"sweep": "000000000000"}, []),
    ]:
        code, page = await api("GET", "runs", params=params)
        assert code == 200 and [r["id"] for r in page["runs"]] == expected, params


async def test_location_header_under_base_url(jp_fetch: Any, jp_base_url: str) -> None:
    response = await jp_fetch(
        "fusion/api", "runs", method="POST", body=json.dumps({"template": "minimal"})
    )
    run = json.loads(response.body)
    assert response.code == 201
    assert response.headers["Location"] == f"{jp_base_url}fusion/api/runs/{run['id']}"


async def test_pagination_with_cursor(api: Api) -> None:
    ids = [(await create(api, tags=["page"]))["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"tag": "page", "limit": 2, **({"cursor": cursor} if cursor else {})}
        code, page = await api("GET", "runs", params=params)
        assert code == 200 and len(page["runs"]) <= 2
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert_error(await api("GET", "runs", params={"cursor": "garbage!"}), 400, "cursor")


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1e3"}, "limit"),
        ({"status": "DONE"}, "status"),
        ({"name": "x" * 201}, "name"),
    ],
)
async def test_list_refuses_bad_query(api: Api, params: dict[str, str], key: str) -> None:
    assert_error(await api("GET", "runs", params=params), 400, key)


async def test_cancel_delete_purge_rerun(api: Api, app: FusionJupyter) -> None:
    run = await create(api, overrides=SLOW)
    await wait_status(api, run["id"], "RUNNING")
    assert_error(await api("DELETE", f"runs/{run['id']}"), 409)
    code, cancelled = await api("POST", f"runs/{run['id']}/cancel")
    # Answered at once: CANCELLING until the run's process group has ended.
    assert code == 200 and cancelled["status"] in ("CANCELLING", "CANCELLED")
    await wait_status(api, run["id"], "CANCELLED")
    assert_error(await api("POST", f"runs/{run['id']}/cancel"), 409)

    code, again = await api("POST", f"runs/{run['id']}/rerun")
    assert code == 201 and again["rerun_of"] == run["id"] and again["id"] != run["id"]
    await api("POST", f"runs/{again['id']}/cancel")

    assert_error(await api("DELETE", f"runs/{run['id']}", params={"purge": "maybe"}), 400, "purge")
    code, _ = await api("DELETE", f"runs/{run['id']}", params={"purge": "true"})
    assert code == 204
    assert not Path(run["run_dir"]).exists()
    assert_error(await api("GET", f"runs/{run['id']}"), 404)
    assert_error(await api("DELETE", f"runs/{run['id']}"), 404)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/cancel"),
        ("POST", "/rerun"),
        ("GET", "/progress"),
        ("GET", "/logs"),
        ("GET", "/artifacts"),
        ("GET", "/artifacts/config.ini"),
        ("GET", "/results"),
    ],
)
async def test_unknown_run_is_404(api: Api, method: str, suffix: str) -> None:
    assert_error(await api(method, f"runs/0123456789ab{suffix}"), 404)


async def test_unknown_route_and_sweep_are_json_404(api: Api) -> None:
    assert_error(await api("GET", "nothing/here"), 404)
    assert_error(await api("GET", "sweeps/0123456789ab"), 404)


# --------------------------------------------------------------------------- progress, logs


async def test_progress_and_logs(api: Api) -> None:
    run = await create(api, overrides={"stub": {"stdout_lines": 50}})
    await wait_status(api, run["id"], "COMPLETED")
    code, progress = await api("GET", f"runs/{run['id']}/progress")
    events = progress["events"]
    assert code == 200 and [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "start" and events[-1]["type"] == "complete"
    assert progress["last_seq"] == events[-1]["seq"]
    code, rest = await api("GET", f"runs/{run['id']}/progress", params={"after": 2, "limit": 3})
    assert [e["seq"] for e in rest["events"]] == [3, 4, 5] and rest["last_seq"] == 5
    code, none = await api("GET", f"runs/{run['id']}/progress", params={"after": 10_000})
    assert none == {"events": [], "last_seq": 10_000}

    code, whole = await api("GET", f"runs/{run['id']}/logs")
    assert code == 200 and whole["offset"] == 0 and whole["next_offset"] == whole["size"] > 0
    code, part = await api("GET", f"runs/{run['id']}/logs", params={"offset": 10, "limit": 20})
    assert part["offset"] == 10 and part["next_offset"] == 30
    assert part["data"] == whole["data"][10:30]
    code, tail = await api("GET", f"runs/{run['id']}/logs", params={"tail": 3})
    assert tail["data"].splitlines() == whole["data"].splitlines()[-3:]


@pytest.mark.parametrize(
    ("suffix", "params", "key"),
    [
        ("progress", {"after": "-2"}, "after"),
        ("progress", {"after": "x"}, "after"),
        ("progress", {"limit": "0"}, "limit"),
        ("logs", {"offset": "-1"}, "offset"),
        ("logs", {"limit": str(8 * 2**20 + 1)}, "limit"),
        ("logs", {"tail": "100001"}, "tail"),
        ("logs", {"tail": "5", "offset": "0"}, "tail"),
        ("logs", {"offset": "9" * 30}, "offset"),
        ("results", {"format": "xlsx"}, "format"),
        ("artifacts/config.ini", {"download": "perhaps"}, "download"),
    ],
)
async def test_bad_numbers_name_the_field(
    api: Api, suffix: str, params: dict[str, str], key: str
) -> None:
    run = await create(api)
    assert_error(await api("GET", f"runs/{run['id']}/{suffix}", params=params), 400, key)


# --------------------------------------------------------------------------- artifacts, results


async def test_artifacts_listing_download_and_range(api: Api, jp_fetch: Any) -> None:
    run = await create(api)
    await wait_status(api, run["id"], "COMPLETED")
    code, listing = await api("GET", f"runs/{run['id']}/artifacts")
    paths = {a["path"]: a for a in listing["artifacts"]}
    assert code == 200 and "config.ini" in paths and paths["config.ini"]["kind"] == "config"
    text = (Path(run["run_dir"]) / "config.ini").read_bytes()

    url = f"runs/{run['id']}/artifacts/config.ini"
    code, whole = await api("GET", url, params={"download": "1"})
    assert code == 200 and whole.body == text
    assert whole.headers["Content-Type"].startswith("text/plain")
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Disposition"].startswith('attachment; filename="config.ini"')
    code, part = await api("GET", url, headers={"Range": "bytes=5-14"})
    assert code == 206 and part.body == text[5:15]
    assert part.headers["Content-Range"] == f"bytes 5-14/{len(text)}"
    code, suffix = await api("GET", url, headers={"Range": "bytes=-7"})
    assert code == 206 and suffix.body == text[-7:]
    code, ignored = await api("GET", url, headers={"Range": "bytes=1-2,4-5"})
    assert code == 200 and ignored.body == text
    error = assert_error(await api("GET", url, headers={"Range": f"bytes={len(text)}-"}), 416)
    assert error["details"] == {"size": len(text)}

    for bad in ("../../etc/passwd", "output/../../x"):
        assert_error(await api("GET", f"runs/{run['id']}/artifacts/{bad}"), 403)
    assert_error(await api("GET", f"runs/{run['id']}/artifacts/missing.txt"), 404)
    assert_error(await api("GET", f"runs/{run['id']}/artifacts/output"), 404)


async def test_results_json_csv_parquet(api: Api) -> None:
    run = await create(api)
    await wait_status(api, run["id"], "COMPLETED")
    code, table = await api("GET", f"runs/{run['id']}/results")
    assert code == 200 and table["columns"][:3] == ["erlang", "iterations", "blocking_mean"]
    assert len(table["rows"]) == 3 and set(table["rows"][0]) == set(table["columns"])
    code, as_csv = await api("GET", f"runs/{run['id']}/results", params={"format": "csv"})
    assert code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.body.decode())))
    assert [float(r["erlang"]) for r in rows] == [row["erlang"] for row in table["rows"]]
    code, parquet = await api("GET", f"runs/{run['id']}/results", params={"format": "parquet"})
    frame = pd.read_parquet(io.BytesIO(parquet.body))
    assert code == 200 and list(frame.columns) == table["columns"]


async def test_results_nan_is_null(api: Api, app: FusionJupyter) -> None:
    run = await create(api)
    await wait_status(api, run["id"], "COMPLETED")
    output = Path(run["run_dir"]) / "output"
    for name in ("results.csv", "results.parquet"):
        (output / name).unlink(missing_ok=True)
    (output / "results.csv").write_text("erlang,iterations,blocking_mean\n300,2,\n")
    code, table = await api("GET", f"runs/{run['id']}/results")
    assert code == 200 and table["rows"][0]["blocking_mean"] is None


# --------------------------------------------------------------------------- sweeps


async def test_sweep_create_and_get(api: Api) -> None:
    body = {"template": "minimal", "grid": {"general_settings.max_iters": [1, 2]}, "name": "s"}
    code, made = await api("POST", "sweeps", body)
    assert code == 201 and set(made) == {"sweep", "runs"} and len(made["runs"]) == 2
    sweep = made["sweep"]
    assert sweep["run_ids"] == [r["id"] for r in made["runs"]]
    code, again = await api("GET", f"sweeps/{sweep['id']}")
    assert code == 200 and again["sweep"]["id"] == sweep["id"]
    code, page = await api("GET", "runs", params={"sweep": sweep["id"]})
    assert len(page["runs"]) == 2
    assert_error(await api("POST", "sweeps", {"template": "minimal", "grid": {"a.b": []}}), 400)
    assert_error(await api("POST", "sweeps", {"template": "minimal"}), 400, "grid")


async def test_sweeps_are_listed_newest_first_with_their_runs_counted(api: Api) -> None:
    made = []
    for values in ([1], [1, 2], [1, 2, 3]):
        body = {"template": "minimal", "grid": {"general_settings.max_iters": values}}
        made.append((await api("POST", "sweeps", body))[1]["sweep"]["id"])
    code, page = await api("GET", "sweeps", params={"limit": 2})
    assert code == 200 and [s["id"] for s in page["sweeps"]] == made[::-1][:2]
    assert [sum(s["status_counts"].values()) for s in page["sweeps"]] == [3, 2]
    assert "run_ids" not in page["sweeps"][0]
    assert page["limits"] == {"max_runs": MAX_SWEEP_RUNS, "max_concurrent_runs": 4}
    code, rest = await api("GET", "sweeps", params={"cursor": page["next_cursor"]})
    assert [s["id"] for s in rest["sweeps"]] == made[:1] and rest["next_cursor"] is None
    for params, key in [
        ({"limit": 0}, "limit"),
        ({"limit": 10**6}, "limit"),
        ({"cursor": "x"}, "cursor"),
    ]:
        assert_error(await api("GET", "sweeps", params=params), 400, key)


async def wait_sweep_settled(api: Api, sweep_id: str, timeout: float = 30) -> dict[str, Any]:
    """The sweep once none of its runs is active."""

    async def settled() -> dict[str, Any] | None:
        code, body = await api("GET", f"sweeps/{sweep_id}")
        assert code == 200, body
        terminal = ("COMPLETED", "FAILED", "CANCELLED")
        return body if all(r["status"] in terminal for r in body["runs"]) else None

    return await async_wait_until(settled, timeout, f"sweep {sweep_id} settled", interval=0.05)


async def test_sweep_rerun_failed_reruns_only_the_failed_points_inside_the_sweep(api: Api) -> None:
    body = {"template": "minimal", "grid": {"stub.exit_code": [0, 3, 4]}, "name": "rf"}
    sweep_id = (await api("POST", "sweeps", body))[1]["sweep"]["id"]
    settled = await wait_sweep_settled(api, sweep_id)
    failed = {r["id"] for r in settled["runs"] if r["status"] == "FAILED"}
    assert len(failed) == 2 and settled["sweep"]["status_counts"] == {"COMPLETED": 1, "FAILED": 2}

    code, rerun = await api("POST", f"sweeps/{sweep_id}/rerun-failed")
    assert code == 201 and len(rerun["created"]) == 2, rerun
    new = [r for r in rerun["runs"] if r["id"] in rerun["created"]]
    assert {r["rerun_of"] for r in new} == failed
    assert all(r["sweep_id"] == sweep_id for r in new)
    assert len(rerun["sweep"]["run_ids"]) == 5  # the failed attempts stay, listed

    settled = await wait_sweep_settled(api, sweep_id)
    # Counted once per grid point: a run that was rerun gives way to its rerun.
    assert settled["sweep"]["status_counts"] == {"COMPLETED": 1, "FAILED": 2}
    code, page = await api("GET", "sweeps")
    listed = next(s for s in page["sweeps"] if s["id"] == sweep_id)
    assert listed["status_counts"] == {"COMPLETED": 1, "FAILED": 2}
    # Only the latest attempts are rerun again.
    code, again = await api("POST", f"sweeps/{sweep_id}/rerun-failed")
    assert code == 201 and {
        r["rerun_of"] for r in again["runs"] if r["id"] in again["created"]
    } == {r["id"] for r in new}
    await wait_sweep_settled(api, sweep_id)


async def test_sweep_rerun_failed_refuses_a_sweep_without_failures(api: Api) -> None:
    body = {"template": "minimal", "grid": {"general_settings.max_iters": [1, 2]}}
    sweep_id = (await api("POST", "sweeps", body))[1]["sweep"]["id"]
    await wait_sweep_settled(api, sweep_id)
    error = assert_error(await api("POST", f"sweeps/{sweep_id}/rerun-failed"), 409)
    assert "no failed run" in error["message"]
    assert_error(await api("POST", "sweeps/0123456789ab/rerun-failed"), 404)


async def test_sweep_delete_refuses_while_a_run_is_active_then_purges(api: Api) -> None:
    body = {
        "template": "minimal",
        "grid": {"general_settings.max_iters": [1, 2]},
        "overrides": SLOW,
    }
    made = (await api("POST", "sweeps", body))[1]
    sweep_id, runs = made["sweep"]["id"], made["runs"]
    await wait_status(api, runs[0]["id"], "RUNNING")
    error = assert_error(await api("DELETE", f"sweeps/{sweep_id}", params={"purge": "true"}), 409)
    assert runs[0]["id"] in error["message"] and "cancel the sweep" in error["message"]
    assert runs[0]["id"] in error["details"]["active"]
    assert all(Path(r["run_dir"]).is_dir() for r in runs)  # nothing removed
    assert (await api("GET", f"sweeps/{sweep_id}"))[0] == 200

    code, _ = await api("POST", f"sweeps/{sweep_id}/cancel")
    assert code == 200
    await wait_sweep_settled(api, sweep_id)
    assert_error(await api("DELETE", f"sweeps/{sweep_id}", params={"purge": "x"}), 400, "purge")
    code, _ = await api("DELETE", f"sweeps/{sweep_id}", params={"purge": "true"})
    assert code == 204
    assert not any(Path(r["run_dir"]).exists() for r in runs)
    assert_error(await api("GET", f"sweeps/{sweep_id}"), 404)
    assert_error(await api("GET", f"runs/{runs[0]['id']}"), 404)
    assert_error(await api("DELETE", f"sweeps/{sweep_id}"), 404)


async def test_sweep_delete_without_purge_keeps_the_files(api: Api) -> None:
    body = {"template": "minimal", "grid": {"general_settings.max_iters": [1]}}
    made = (await api("POST", "sweeps", body))[1]
    await wait_sweep_settled(api, made["sweep"]["id"])
    code, _ = await api("DELETE", f"sweeps/{made['sweep']['id']}")
    assert code == 204 and Path(made["runs"][0]["run_dir"]).is_dir()
    assert_error(await api("GET", f"runs/{made['runs'][0]['id']}"), 404)


async def test_simulators_name_the_values_each_one_runs(api: Api) -> None:
    code, body = await api("GET", "simulators")
    assert code == 200 and body["default"] == "builtin" and "builtin" in body["available"]
    by_key = {
        name: {(c["section"], c["key"]): c["values"] for c in choices}
        for name, choices in body["choices"].items()
    }
    builtin, fusion = by_key["builtin"], by_key["fusion"]
    routes = ["k_shortest_path", "shortest_path", "cong_aware", "external_ksp", "xt_aware"]
    assert builtin[("general_settings", "route_method")] == routes
    allocations = ["first_fit", "last_fit", "best_fit", "priority_first"]
    assert builtin[("general_settings", "allocation_method")] == allocations
    assert "NSFNet" in builtin[("topology_settings", "network")]
    assert {"cong_aware", "xt_aware"} <= set(fusion[("general_settings", "route_method")])
    assert "least_congested" not in fusion[("general_settings", "route_method")]  # crashes
    assert "last_fit" in fusion[("general_settings", "allocation_method")]
    assert "best_fit" not in fusion[("general_settings", "allocation_method")]
    assert set(builtin[("topology_settings", "network")]) <= set(
        fusion[("topology_settings", "network")]
    )


async def test_sweep_curves_group_by_the_varying_keys(api: Api) -> None:
    grid = {"general_settings.max_iters": [1, 2], "routing_settings.k_paths": [3]}
    code, made = await api("POST", "sweeps", {"template": "minimal", "grid": grid})
    sweep_id = made["sweep"]["id"]
    for run in made["runs"]:
        await wait_status(api, run["id"], "COMPLETED")
    code, body = await api("GET", f"sweeps/{sweep_id}/curves")
    assert code == 200, body
    assert body["by"] == ["general_settings.max_iters"] == body["varying"]
    assert body["runs"] == 2 == body["with_results"]
    assert [c["label"] for c in body["curves"]] == ["max_iters = 1", "max_iters = 2"]
    assert [c["values"] for c in body["curves"]] == [
        {"general_settings.max_iters": 1},
        {"general_settings.max_iters": 2},
    ]
    # Each curve is that run's results table, point for point.
    for curve, run in zip(body["curves"], made["runs"], strict=True):
        _, table = await api("GET", f"runs/{run['id']}/results")
        columns = ("erlang", "blocking_mean", "ci_lower", "ci_upper")
        expected = [[r[c] for c in columns] for r in table["rows"]]
        got = [[p[c] for c in columns] for p in curve["points"]]
        assert got == sorted(expected) and got
    code, both = await api(
        "GET", f"sweeps/{sweep_id}/curves", params={"by": "routing_settings.k_paths"}
    )
    assert [c["label"] for c in both["curves"]] == ["k_paths = 3"]  # the two runs' mean
    code, flat = await api("GET", f"sweeps/{sweep_id}/curves", params={"by": ""})
    assert [c["label"] for c in flat["curves"]] == ["all runs"]


async def test_sweep_curves_count_a_rerun_point_once(api: Api) -> None:
    body = {"template": "minimal", "grid": {"stub.exit_code": [0, 3]}}
    sweep_id = (await api("POST", "sweeps", body))[1]["sweep"]["id"]
    await wait_sweep_settled(api, sweep_id)
    code, before = await api("GET", f"sweeps/{sweep_id}/curves")
    assert code == 200 and before["runs"] == 2
    await api("POST", f"sweeps/{sweep_id}/rerun-failed")
    await wait_sweep_settled(api, sweep_id)
    code, after = await api("GET", f"sweeps/{sweep_id}/curves")
    assert after["runs"] == 2 and after["with_results"] == before["with_results"]


async def test_sweep_curves_refuse_a_bad_by_naming_it(api: Api) -> None:
    grid = {"general_settings.max_iters": [1, 2]}
    _, made = await api("POST", "sweeps", {"template": "minimal", "grid": grid})
    path = f"sweeps/{made['sweep']['id']}/curves"
    for by in ("routing_settings.nope", "general_settings.max_iters,", "x" * 3000, "a\x01b"):
        error = assert_error(await api("GET", path, params={"by": by}), 400, "by")
        assert "by" in error["message"] or error["details"][0]["key"] == "by"
    error = assert_error(await api("GET", path, params={"by": "routing_settings.nope"}), 400)
    assert "routing_settings.nope is not a grid parameter" in error["message"]
    assert_error(await api("GET", "sweeps/0123456789ab/curves"), 404)


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (b"{not json", ""),
        (b"", ""),
        (b"[1, 2]", ""),
        (b'{"template": "minimal", "template": "x"}', ""),
        (b'{"template": "minimal", "overrides": {"a": {"b": NaN}}}', ""),
        (b'{"template": "minimal", "overrides": {"a": {"b": 1e999}}}', ""),
        (b'{"template": "minimal", "nme": "typo"}', "nme"),
        (b'{"template": 3}', "template"),
        (b'{"template": "minimal", "name": 5}', "name"),
        (b'{"template": "minimal", "tags": "a"}', "tags"),
        (b'{"template": "minimal", "overrides": []}', "overrides"),
        (b'{"template": "minimal", "executor": "nope"}', "executor"),
        (b'{"template": "minimal", "name": "' + b"x" * 300 + b'"}', "name"),
        (b'{"template": "minimal", "overrides": {"general_settings": {"max_iters": "x"}}}', None),
        (b"\xff\xfe", ""),
        (b'{"template": "minimal", "name": "a\\ud800b"}', "name"),
        (b'{"template": "minimal", "tags": ["\\udfff"]}', "tags"),
        (b'{"template": "minimal", "overrides": {"s": {"\\ud800": 1}}}', "overrides"),
        (b'{"template": "minimal", "tags": ["t"], "name": "' + b"x" * 300 + b'"}', "name"),
    ],
)
async def test_post_runs_refuses_bad_bodies(api: Api, raw: bytes, key: str | None) -> None:
    assert_error(await api("POST", "runs", raw=raw), 400, key)


async def test_names_longer_than_the_file_system_allows_are_not_found(api: Api) -> None:
    run = await create(api)
    long_name = "n" * 300  # a path component over 255 bytes: ENAMETOOLONG
    assert_error(await api("GET", f"runs/{run['id']}/artifacts/{long_name}"), 404)
    assert_error(await api("GET", f"runs/{run['id']}/artifacts/output/{long_name}/x"), 404)
    # A template name that long is not a template name (400) or names none (404).
    for method, path, body in (
        ("GET", f"templates/{long_name}", None),
        ("POST", "runs", {"template": long_name}),
        ("POST", "sweeps", {"template": long_name, "grid": {"a.b": [1]}}),
    ):
        code, answer = await api(method, path, body)
        assert code in (400, 404) and set(answer) == {"error"}, (path, answer)
    code, answer = await api("POST", "configs/validate", {"template": long_name})
    assert code in (200, 400, 404) and (code != 200 or answer["valid"] is False), answer


async def test_more_tags_than_allowed_are_refused_naming_tags(api: Api) -> None:
    tags = [f"t{i}" for i in range(MAX_TAGS + 1)]
    error = assert_error(await api("POST", "runs", {"template": "minimal", "tags": tags}), 400)
    assert error["details"][0]["key"] == "tags" and str(MAX_TAGS) in error["message"]
    grid = {"general_settings.max_iters": list(range(1, 201))} | {
        f"general_settings.k{i}": list(range(100)) for i in range(3)
    }
    sweep = {"template": "minimal", "grid": grid}
    assert "expands to" in assert_error(await api("POST", "sweeps", sweep), 400)["message"]


async def test_limits_depth_keys_strings(api: Api) -> None:
    deep = b'{"template": "minimal", "overrides": ' + b'{"a": ' * 40 + b"1" + b"}" * 41
    assert "deeper" in assert_error(await api("POST", "runs", raw=deep), 400)["message"]
    very_deep = b"[" * 100_000 + b"]" * 100_000
    assert_error(await api("POST", "runs", raw=very_deep), 400)
    many = {"template": "minimal", "overrides": {f"s.k{i}": 1 for i in range(10_001)}}
    assert "keys" in assert_error(await api("POST", "runs", many), 400)["message"]
    long = {"template": "minimal", "overrides": {"s": {"k": "x" * 70_000}}}
    assert "longer" in assert_error(await api("POST", "runs", long), 400)["message"]


async def test_body_over_limit_is_413(api: Api) -> None:
    big = json.dumps({"template": "minimal", "name": "x" * (1 << 20)}).encode()
    error = assert_error(await api("POST", "runs", raw=big), 413)
    assert error["code"] == "payload_too_large" and error["details"] == {"limit": 1 << 20}


# --------------------------------------------------------------------------- OpenAPI, events


async def test_openapi_document_served_and_covers_every_route(api: Api) -> None:
    from openapi_spec_validator import validate

    code, document = await api("GET", "openapi.json")
    assert code == 200 and document == json.loads(OPENAPI_FILE.read_text())
    validate(document)
    documented = {
        path.replace("{run_id}", "(?P<run_id>[^/]+)")
        .replace("{sweep_id}", "(?P<sweep_id>[^/]+)")
        .replace("{name}", "(?P<name>[^/]+)")
        .replace("{path}", "(?P<path>.+)")
        for path in document["paths"]
    }
    routed = {pattern.removeprefix("/fusion/api") for pattern, _ in route_table()}
    assert routed - documented == {"/(?P<path>.*)"}


async def test_status_changes_on_the_event_bus(api: Api, jp_serverapp: Any) -> None:
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(data)

    jp_serverapp.event_logger.add_listener(schema_id=SCHEMA_ID, listener=listener)
    run = await create(api)
    await wait_status(api, run["id"], "COMPLETED")
    await async_wait_until(
        lambda: [d["status"] for d in seen if d["run_id"] == run["id"]][-1:] == ["COMPLETED"],
        10,
        "the COMPLETED event",
    )
    statuses = [d["status"] for d in seen if d["run_id"] == run["id"]]
    assert statuses[0] == "PENDING" and statuses[-1] == "COMPLETED", seen
    assert "RUNNING" in statuses


async def test_traitlets_reach_the_engine(app: FusionJupyter, tmp_path: Path) -> None:
    assert app.manager is not None
    settings = app.manager.settings
    assert settings.runs_dir == tmp_path / "runs"
    assert settings.max_concurrent_runs == FAST_ENGINE["max_concurrent_runs"]
    assert settings.simulator_command == stub_sim_command()


def test_trait_defaults_are_the_engines() -> None:
    from fusion_jupyter.engine.settings import EngineSettings
    from fusion_jupyter.paths import default_locations

    engine, app = EngineSettings(**default_locations()), FusionJupyter()
    for name in ("max_concurrent_runs", "cancel_grace_seconds", "on_shutdown", "default_executor"):
        assert getattr(app, name) == getattr(engine, name), name
    assert app.db_url == ""  # the engine's default: a SQLite file beside runs_dir
    assert Path(app.runs_dir) == engine.runs_dir
    assert app.simulator_command == engine.simulator_command
    assert app.max_body_bytes == 1 << 20


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("ws_ping_interval_seconds", -1, "must be 0 or more"),
        ("ws_ping_interval_seconds", float("inf"), "must be 0 or more"),
        ("ws_fanout_share", 0, "must be more than 0 and at most 1"),
    ],
)
def test_a_bad_stream_setting_is_refused_naming_it(name: str, value: float, reason: str) -> None:
    from traitlets import TraitError

    with pytest.raises(TraitError, match=f"{name} {reason}"):
        FusionJupyter(**{name: value})


@pytest.mark.parametrize("path", ["runs", "sweeps"])
async def test_a_missing_fusion_is_refused_with_503_naming_the_setting(
    api: Api, app: FusionJupyter, tmp_path: Path, path: str
) -> None:
    assert app.manager is not None
    app.manager.settings.fusion_command = str(tmp_path / "no-fusion" / "fusion-sim")
    body: dict[str, Any] = {"template": "minimal", "simulator": "fusion"}
    if path == "sweeps":
        body["grid"] = {"general_settings.max_iters": [1, 2]}
    error = assert_error(await api("POST", path, body), 503)
    assert "c.FusionJupyter.fusion_command" in error["message"]
    assert error["details"] == {"simulator": "fusion", "setting": "c.FusionJupyter.fusion_command"}
    # Nothing was created: no record, no directory.
    code, page = await api("GET", "runs")
    assert code == 200 and page["runs"] == []
    assert not any((tmp_path / "runs").iterdir())
    # A name that is no simulator is bad input, named.
    body["simulator"] = "nope"
    assert_error(await api("POST", path, body), 400, "simulator")


async def test_a_run_records_its_simulator(api: Api) -> None:
    run = await create(api, simulator="builtin")
    assert run["simulator"] == "builtin"
    code, again = await api("GET", f"runs/{run['id']}")
    assert code == 200 and again["simulator"] == "builtin"
