"""Build checks (`--call=check,format=json` and the warnings a build prints), the host file server
that `ADD URL` fetches from, and the CLI-only legacy helpers. Parsers run on text buildx 0.29.1
really printed; the engine tests build for real."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import helpers as wb
from helpers.engine.buildchecks import build_warnings, parse_check_json
from helpers.errors import InvalidInput

# `docker buildx build --progress=quiet --call=check,format=json .` (buildx 0.29.1), trimmed to two warnings
CHECK_JSON = """
{
  "warnings": [
    {
      "ruleName": "JSONArgsRecommended",
      "description": "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior",
      "url": "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/",
      "detail": "JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
      "location": {"ranges": [{"start": {"line": 5}, "end": {"line": 5}}]}
    },
    {
      "ruleName": "FromAsCasing",
      "description": "The 'as' keyword should match the case of the 'from' keyword",
      "url": "https://docs.docker.com/go/dockerfile/rule/from-as-casing/",
      "detail": "'as' and 'FROM' keywords' casing do not match",
      "location": {"ranges": [{"start": {"line": 1}, "end": {"line": 1}}]}
    }
  ],
  "sources": [{"filename": "Dockerfile", "data": "RlJPTQ==", "language": "Dockerfile"}]
}
ERROR: lint violation found for rules: FromAsCasing
"""

# The end of a `docker buildx build --progress=plain` log with warnings (colour codes included)
BUILD_LOG = """#5 [2/2] RUN echo hi
#5 0.252 hi
#5 DONE 0.3s

 \x1b[33m3 warnings found (use docker --debug to expand):
\x1b[0m - SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG "API_TOKEN") (line 2)
 - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 5)
 - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)
"""


def test_check_json_becomes_rows_sorted_by_line() -> None:
    frame = parse_check_json(CHECK_JSON)
    assert list(frame.columns) == ["rule", "line", "detail"]
    assert list(frame.rule) == ["FromAsCasing", "JSONArgsRecommended"]
    assert list(frame.line) == [1, 5]
    assert frame.attrs["url"]["FromAsCasing"].endswith("/from-as-casing/")


def test_a_clean_report_is_an_empty_table() -> None:
    assert parse_check_json('{"sources": []}').empty
    assert parse_check_json('\n{"warnings": null}').empty


def test_build_warnings_read_the_end_of_a_build_log() -> None:
    frame = build_warnings(BUILD_LOG)
    assert list(zip(frame.rule, frame.line, strict=True)) == [
        ("FromAsCasing", 1),
        ("SecretsUsedInArgOrEnv", 2),
        ("JSONArgsRecommended", 5),
    ]
    assert frame.detail[1].endswith('(ARG "API_TOKEN")')


def test_a_log_without_warnings_has_none() -> None:
    assert build_warnings("#5 [2/2] RUN echo - not: a warning (line 3)\n#5 DONE 0.1s\n").empty


@pytest.mark.parametrize(
    "text",
    [
        "ERROR: failed to read dockerfile",  # no JSON at all
        '{"warnings": [',  # cut short
        '{"warnings": "many"}',  # wrong shape
        '{"warnings": [{"detail": "no rule name"}]}',
        '{"warnings": [' + ",".join(['{"ruleName": "X"}'] * 501) + "]}",  # too many
        "{" + " " * (5 << 20) + "}",  # too large
    ],
)
def test_hostile_check_output_is_refused_plainly(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_check_json(text)


def test_odd_locations_give_no_line() -> None:
    report = {"warnings": [{"ruleName": "X", "location": {"ranges": [{"start": {"line": "1; rm"}}]}}]}
    frame = parse_check_json(json.dumps(report))
    assert frame.line.isna().all()


def test_file_server_serves_named_files_only(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.txt").write_text("inner\n")
    with wb.fileserver.serve(tmp_path) as server:
        url = server.url("notes.txt")
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.read() == b"hello\n"
        root = url.rsplit("/", 1)[0]
        for refused in ("/", "/sub/inner.txt", "/../etc/passwd", "/missing.txt"):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(root + refused, timeout=10)
            assert error.value.code == 404
        with pytest.raises(InvalidInput):
            server.url("missing.txt")


def test_file_server_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput), wb.fileserver.serve(tmp_path / "absent"):
        pass


def test_cli_command_takes_one_word() -> None:
    with pytest.raises(InvalidInput):
        wb.legacy.cli_command("scan; rm -rf /")


@pytest.mark.engine
def test_check_and_build_report_the_same_warnings() -> None:
    app = wb.make_app("test-build-checks", {"Dockerfile": "FROM busybox:1.37 as base\nARG API_TOKEN\nCMD echo hello\n"})
    report = wb.buildchecks.check(app)
    assert set(report.rule) == {"FromAsCasing", "SecretsUsedInArgOrEnv", "JSONArgsRecommended"}
    built = wb.build(app, tag=wb.image_name("test-build-checks"), quiet=True)
    assert build_warnings(built.log)[["rule", "line"]].equals(report[["rule", "line"]])


@pytest.mark.engine
def test_add_checksum_from_the_file_server(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("notes\n")
    digest = hashlib.sha256(b"notes\n").hexdigest()
    app = wb.make_app(
        "test-add-checksum",
        {"Dockerfile": "FROM busybox:1.37\nARG URL\nARG SUM\nADD --checksum=sha256:${SUM} ${URL} /notes.txt\n"},
    )
    with wb.fileserver.serve(tmp_path) as server:
        args = {"URL": server.url("notes.txt"), "SUM": digest}
        built = wb.build(app, tag=wb.image_name("test-add-checksum"), build_args=args, quiet=True)
        assert wb.run_once(built.ref, "cat /notes.txt").output == "notes\n"
        with pytest.raises(wb.errors.BuildFailed, match="digest mismatch"):
            wb.build(app, tag=wb.image_name("test-add-checksum", "bad"), build_args={**args, "SUM": "0" * 64})
