"""The deployment files, checked statically: Dockerfile, .dockerignore, docker-compose.yml,
.env.example, and the settings and invite link the README documents.

No Docker engine runs in the test environment, so these tests read the files; they do
**not** build the image or start a container. What they cannot tell:

* whether ``docker build`` succeeds (base image available, dependencies install on it);
* whether the container really starts, runs as the unprivileged user and can write the
  volume (ownership is checked in the Dockerfile text, not on a mounted volume);
* whether Docker reports the container healthy (the HEALTHCHECK command is checked to be
  ``launchwatch healthcheck``, which ``tests/test_healthcheck.py`` tests as a process);
* anything Docker Compose adds on top of the Compose Specification's JSON schema (the
  schema says a file is well formed, not that this Compose version accepts every field).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import discord
import jsonschema
import pytest
import yaml

from bot.__main__ import build_parser
from bot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
SLIM_BASES = re.compile(r"^python:3\.1[12]-slim$")
SETTING_NAMES = [str(f.alias) for f in Settings.model_fields.values()]


# ------------------------------------------------------------------------ Dockerfile


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int

    def exec_form(self) -> list[str]:
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} should use the JSON exec form"
        return [str(v) for v in value]


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; FROM starts a stage."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def _final(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def _env_pairs(args: str) -> dict[str, str]:
    pairs = {}
    for token in shlex.split(args):
        key, sep, value = token.partition("=")
        assert sep, f"use ENV KEY=value, not {args!r}"
        pairs[key] = value
    return pairs


def _base_images(instructions: list[Instruction]) -> list[str]:
    defaults = {}
    for i in instructions:
        if i.keyword == "ARG" and i.stage == -1:
            name, _, value = i.args.partition("=")
            defaults[name] = value
    images = []
    for i in instructions:
        if i.keyword == "FROM":
            image = i.args.split()[0]
            for name, value in defaults.items():
                image = image.replace("${" + name + "}", value).replace("$" + name, value)
            images.append(image)
    return images


def test_multi_stage_build_on_a_slim_python_base(dockerfile):
    images = _base_images(dockerfile)
    assert len(images) >= 2, "build and runtime stages"
    assert all(SLIM_BASES.match(image) for image in images), images
    final_from = next(i for i in _final(dockerfile) if i.keyword == "FROM")
    assert "--from" not in final_from.args
    copies = [i.args for i in _final(dockerfile) if i.keyword == "COPY"]
    assert any(c.startswith("--from=") for c in copies), "the runtime copies the built stage"


def test_runs_as_an_unprivileged_user_that_owns_the_data_volume(dockerfile):
    final = _final(dockerfile)
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    assert re.search(rf"useradd\b.*--uid {user}\b", runs), "USER is the created account"
    assert "chown launchwatch:launchwatch /data" in runs
    keywords = [i.keyword for i in final]
    # Changes to a volume's directory after VOLUME are discarded: chown must come first.
    chown_at = next(n for n, i in enumerate(final) if "chown" in i.args)
    assert chown_at < keywords.index("VOLUME") and keywords.index("USER") < keywords.index(
        "ENTRYPOINT"
    )


def test_database_lives_on_the_data_volume(dockerfile):
    final = _final(dockerfile)
    env: dict[str, str] = {}
    for i in final:
        if i.keyword == "ENV":
            env.update(_env_pairs(i.args))
    assert env["LAUNCHWATCH_DB"] == "/data/launchwatch.db"
    volumes = [v for i in final if i.keyword == "VOLUME" for v in i.exec_form()]
    assert volumes == ["/data"]


def test_healthcheck_and_start_command(dockerfile):
    final = _final(dockerfile)
    (health,) = [i.args for i in final if i.keyword == "HEALTHCHECK"]
    options, _, command = health.partition(" CMD ")
    assert json.loads(command) == ["launchwatch", "healthcheck"]
    assert "--start-period=" in options  # first poll and gateway login get time
    (entry,) = [i.exec_form() for i in final if i.keyword == "ENTRYPOINT"]
    (cmd,) = [i.exec_form() for i in final if i.keyword == "CMD"]
    assert entry + cmd == ["launchwatch", "run"]
    # The console script and both sub-commands exist.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "launchwatch" in project["scripts"]
    assert build_parser().parse_args(["healthcheck"]).command == "healthcheck"
    assert build_parser().parse_args(cmd).command == "run"


def test_no_secret_is_baked_into_the_image(dockerfile):
    for i in dockerfile:
        if i.keyword in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"TOKEN|SECRET|PASSWORD", i.args, re.IGNORECASE), i
        if i.keyword in ("COPY", "ADD"):
            assert ".env" not in i.args and "*" not in i.args, i


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: the last matching pattern wins; ``!`` re-includes."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, bare) or fnmatch.fnmatch(p.split("/")[-1], bare) for p in prefixes
        ):
            result = not negate
    return result


def test_dockerignore_keeps_secrets_state_and_caches_out(dockerfile):
    patterns = _dockerignore()
    for required in (
        ".env",
        ".venv",
        "*.db",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        ".git",
    ):
        assert required in patterns
    for path in (
        ".env",
        ".env.production",
        "launchwatch.db",
        "data/launchwatch.db-wal",
        ".git/config",
        "bot/__pycache__/x.pyc",
        ".venv/bin/python",
    ):
        assert _ignored(path, patterns), path


def test_everything_the_build_copies_exists_and_is_in_the_context(dockerfile):
    sources = []
    for i in dockerfile:
        if i.keyword == "COPY" and not i.args.startswith("--from"):
            sources.extend(i.args.split()[:-1])
    patterns = _dockerignore()
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is excluded by .dockerignore"
    # Every package pyproject installs, and the README it names, are in the build stage.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages | {"pyproject.toml", pyproject["project"]["readme"]} <= set(sources)


# ------------------------------------------------------------------------ docker-compose.yml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _compose_schema() -> dict[str, Any]:
    if find_spec("check_jsonschema") is None:
        pytest.skip(
            "the Compose Specification schema comes from the check-jsonschema package "
            "(pip install -e '.[test]' installs it); not installed here"
        )
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text("utf-8"))
    return schema


def _validator() -> jsonschema.protocols.Validator:
    schema = _compose_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_compose_file_follows_the_compose_specification(compose):
    validator = _validator()
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose)
    ]
    assert errors == []


def test_the_schema_check_would_catch_a_broken_file(compose):
    validator = _validator()
    service = compose["services"]["launchwatch"]
    assert not validator.is_valid(
        {**compose, "services": {"launchwatch": {**service, "restart": 3}}}
    )
    assert not validator.is_valid(
        {**compose, "services": {"launchwatch": {**service, "envfile": ".env"}}}
    )


def test_compose_service_runs_the_image_with_its_settings_volume_and_health(compose, dockerfile):
    ((_name, service),) = compose["services"].items()
    build = service["build"]
    context = build if isinstance(build, str) else build["context"]
    assert (ROOT / context / "Dockerfile").is_file()
    assert service["env_file"] in (".env", [".env"])
    assert service["restart"] == "unless-stopped"
    # Same command as the image's HEALTHCHECK.
    assert service["healthcheck"]["test"] == ["CMD", "launchwatch", "healthcheck"]
    logging = service["logging"]
    assert logging["driver"] == "json-file"
    assert {"max-size", "max-file"} <= set(logging["options"])
    # A named volume, declared at the top level, holds the database.
    volume, _, target = service["volumes"][0].partition(":")
    assert target == "/data" and volume in compose["volumes"]
    assert service["environment"]["LAUNCHWATCH_DB"].startswith("/data/")
    # The token only ever comes from .env.
    assert "DISCORD_TOKEN" not in json.dumps(service)


# ------------------------------------------------------------------------ .env.example

ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def _example() -> list[tuple[bool, str, str, str]]:
    """(commented?, name, value, comment just above) for every setting line of .env.example."""
    found = []
    comment: list[str] = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            found.append((bool(match[1]), match[2], match[3], " ".join(comment)))
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("# ").strip())
        else:
            comment = []
    return found


def test_env_example_documents_every_setting_once_with_an_explanation():
    example = _example()
    names = [name for _, name, _, _ in example]
    assert sorted(names) == sorted(SETTING_NAMES)
    for _, name, _, comment in example:
        assert len(comment) > 20, f"{name} has no explanation above it"
    # Only the token is to be filled in; everything else keeps its default until changed.
    assert [name for commented, name, _, _ in example if not commented] == ["DISCORD_TOKEN"]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("LAUNCHWATCH_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_env_example_shows_the_real_defaults(clean_env, tmp_path):
    """Uncommenting every line gives the defaults (or a valid example where there is none)."""
    env_file = tmp_path / "all.env"
    env_file.write_text(
        "\n".join(f"{name}={value}" for _, name, value, _ in _example() if name != "DISCORD_TOKEN"),
        encoding="utf-8",
    )
    documented = load_settings(str(env_file))
    defaults = load_settings(None)
    for field_name, field in Settings.model_fields.items():
        if field.alias == "DISCORD_TOKEN":
            continue
        if field.default is None:
            assert getattr(documented, field_name) is not None, f"{field.alias}: an example value"
        else:
            assert getattr(documented, field_name) == getattr(defaults, field_name), field.alias


def test_env_example_as_copied_loads(clean_env):
    settings = load_settings(str(ROOT / ".env.example"))
    assert settings.db == Path("launchwatch.db") and settings.http_port is None


# ------------------------------------------------------------------------ README


def test_readme_documents_every_setting_and_the_exact_invite_permissions():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in SETTING_NAMES:
        assert f"`{name}`" in readme, name
    needed = discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        send_messages_in_threads=True,
        read_message_history=True,
    )
    assert needed.value == 274877991936
    urls = re.findall(r"https://discord\.com/oauth2/authorize\?\S+", readme)
    assert urls, "the README has an invite URL"
    for url in urls:
        assert f"permissions={needed.value}" in url
        assert "scope=bot+applications.commands" in url


def test_readme_first_screen_keeps_the_quick_start_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# LaunchWatch\n")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick, re.DOTALL)
    assert commands == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install . "
        "&& launchwatch run --dry-run",
        "pip install -e '.[test]' && pytest",
    ]
    assert "## Guarantees" in readme and "## Performance" in readme
