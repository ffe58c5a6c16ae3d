"""One Settings dataclass, filled from defaults < YAML file < LORAG_* environment < CLI flags.

Every field carries its help text in `metadata`, so `launch.py --help` and the README stay in step.
This module imports only the standard library (and PyYAML when a config file is given), so
`launch.py --help` is fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

from engine.errors import LoragError
from engine.fields import option

ENV_PREFIX = "LORAG_"
CONSISTENCY_LEVELS = ("ONE", "QUORUM", "ALL")  # Weaviate's, for replicated collections
MAX_WEAVIATE_NODES = 9


def _opt(default: Any, help: str, *, flag: str | None = None, group: str = "studio") -> Any:
    return option(default, help, flag=flag, group=group)


@dataclass
class Settings:
    """Everything the studio needs to start. Field names map to flags (--data-dir) and env (LORAG_DATA_DIR)."""

    data_dir: Path = _opt(Path("data"), "Folder for chats, jobs, documents, adapters, models and Weaviate's data.")
    config: Path | None = _opt(None, "YAML file with any of these settings (flags and LORAG_* env override it).")
    host: str = _opt("127.0.0.1", "Interface to bind. Anything but loopback requires a login.", group="server")
    port: int = _opt(7860, "Port of the web page (and of the API when --api is on).", group="server")
    listen: bool = _opt(False, "Serve on all interfaces (0.0.0.0). Requires --auth or --auth-file.", group="server")
    share: bool = _opt(False, "Create a temporary public Gradio link. Requires a login (one is generated if "
                              "none is given).", group="server")
    auth: str = _opt("", "Login as user:password (several separated by commas).", group="server")
    auth_file: Path | None = _opt(None, "File with one user:password per line.", group="server")
    insecure_no_auth: bool = _opt(False, "Allow --listen/--share without a login. Dangerous.", group="server")
    api: bool = _opt(False, "Serve the OpenAI-compatible API under /v1 on the same port.", group="server")
    api_key: str = _opt("", "Require this bearer key on every /v1 request.", group="server")
    api_max_tokens: int = _opt(4096, "Most tokens one API request may ask to generate (max_tokens above it: "
                                     "HTTP 400).", group="server")
    api_queue_limit: int = _opt(8, "Requests waiting for the model past which a non-streaming API request is "
                                    "refused (HTTP 429 with Retry-After); a streaming one waits and is told its "
                                    "place in SSE comments.", group="server")
    rate_limit: int = _opt(30, "Generation requests per minute per person (chat, notebook and API); over it: a "
                               "message / HTTP 429 with Retry-After. 0 turns the limit off.", group="server")
    max_upload_mb: int = _opt(200, "Largest file a person may upload, in MB.", group="server")
    weaviate_url: str = _opt("", "Use this Weaviate server (http://host:port) instead of starting one.",
                             group="weaviate")
    weaviate_grpc_port: int = _opt(0, "gRPC port of --weaviate-url (default: 50051).", group="weaviate")
    weaviate_api_key: str = _opt("", "API key for --weaviate-url.", group="weaviate")
    weaviate_binary: Path | None = _opt(None, "weaviate-server binary for the managed server (default: the one "
                                              "scripts/setup.sh builds).", group="weaviate")
    weaviate_timeout: float = _opt(90.0, "Seconds to wait for the managed Weaviate to become ready.",
                                   group="weaviate")
    weaviate_nodes: int = _opt(1, "Managed Weaviate nodes on this machine, forming one cluster (collections are "
                                  "replicated on min(3, nodes) of them).", group="weaviate")
    weaviate_consistency: str = _opt("QUORUM", "Consistency level of a replicated collection's reads and writes "
                                               "(ONE, QUORUM or ALL), fixed when the collection is made.",
                                     group="weaviate")
    no_weaviate: bool = _opt(False, "Start without Weaviate (documents are unavailable).", group="weaviate")
    device: str = _opt("auto", "Where models run: auto, cuda or cpu.", group="models")
    model: str = _opt("", "Model to load at start (a preset name, hub id or local folder). Empty: none.",
                      group="models")
    engine_url: str = _opt("", "An OpenAI-compatible engine (vLLM, SGLang, llama.cpp, Ollama, another Lorag) whose "
                               "models the Models tab offers, e.g. http://127.0.0.1:8000/v1.", group="models")
    engine_key: str = _opt("", "Bearer key for --engine-url.", group="models")
    log_level: str = _opt("INFO", "Logging level (DEBUG, INFO, WARNING).")
    no_auto_resume: bool = _opt(False, "Leave the evaluation runs a restart stopped for their Resume button instead "
                                       "of resuming them when the studio starts.")

    def __post_init__(self) -> None:
        self.weaviate_consistency = str(self.weaviate_consistency).upper()
        if self.weaviate_consistency not in CONSISTENCY_LEVELS:
            levels = ", ".join(CONSISTENCY_LEVELS)
            raise LoragError(f"--weaviate-consistency must be one of {levels}, not {self.weaviate_consistency!r}.",
                             key="settings.consistency", params={"levels": levels, "level": self.weaviate_consistency})
        if not 1 <= int(self.weaviate_nodes) <= MAX_WEAVIATE_NODES:
            raise LoragError(f"--weaviate-nodes must be between 1 and {MAX_WEAVIATE_NODES}, not "
                             f"{self.weaviate_nodes}.", key="settings.weaviate_nodes",
                             params={"most": MAX_WEAVIATE_NODES, "nodes": self.weaviate_nodes})

    @property
    def bind_host(self) -> str:
        return "0.0.0.0" if self.listen else self.host

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb) * 2**20

    def path(self, *parts: str) -> Path:
        """A path inside the data folder."""
        return Path(self.data_dir).joinpath(*parts)


def _flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _field_type(f: dataclasses.Field) -> str:
    return str(f.type).replace("Path | None", "Path").replace("typing.", "")


def _convert(f: dataclasses.Field, raw: Any, source: str) -> Any:
    kind = _field_type(f)
    if raw is None:
        return None
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(os.path.expanduser(str(raw))) if str(raw) else None
        return str(raw)
    except ValueError:
        raise LoragError(f"Setting {f.name} from {source} must be a {kind}, not {raw!r}.",
                         key="settings.wrong_type",
                         params={"field": f.name, "source": source, "kind": kind, "raw": raw}) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="launch.py",
        description="Lorag: a local web studio for Qwen models. Every flag can also be set as LORAG_<NAME> "
                    "in the environment or in a --config YAML file.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in fields(Settings):
        group = groups.setdefault(f.metadata["group"], parser.add_argument_group(f.metadata["group"]))
        env = ENV_PREFIX + f.name.upper()
        help_text = f"{f.metadata['help']} [env {env}]"
        if _field_type(f) == "bool":
            group.add_argument(_flag(f), dest=f.name, action="store_true", default=None, help=help_text)
        else:
            group.add_argument(_flag(f), dest=f.name, default=None, metavar=f.name.upper(), help=help_text)
    return parser


def _from_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise LoragError(f"Config file {path} does not exist.",
                         key="settings.no_config_file", params={"path": path}) from None
    except yaml.YAMLError as exc:
        raise LoragError(f"Config file {path} is not valid YAML: {exc}",
                         key="settings.bad_config_yaml", params={"path": path, "exc": exc}) from None
    if not isinstance(data, dict):
        raise LoragError(f"Config file {path} must hold a mapping of setting: value.",
                         key="settings.config_not_mapping", params={"path": path})
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def load_settings(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from defaults, then the YAML file (--config / LORAG_CONFIG), then env, then flags."""
    env = os.environ if env is None else env
    cli = {k: v for k, v in vars(build_parser().parse_args(argv)).items() if v is not None}
    by_name = {f.name: f for f in fields(Settings)}
    from_env = {name: env[ENV_PREFIX + name.upper()] for name in by_name if ENV_PREFIX + name.upper() in env}

    values: dict[str, Any] = {}
    config_path = cli.get("config") or from_env.get("config")
    if config_path:
        for name, raw in _from_yaml(Path(config_path)).items():
            if name not in by_name:
                raise LoragError(f"Config file {config_path}: unknown setting {name!r}.",
                                 key="settings.unknown_setting", params={"path": config_path, "name": name})
            values[name] = _convert(by_name[name], raw, f"config file {config_path}")
    values.update({n: _convert(by_name[n], v, f"env {ENV_PREFIX + n.upper()}") for n, v in from_env.items()})
    values.update({n: _convert(by_name[n], v, f"flag {_flag(by_name[n])}") for n, v in cli.items()})
    values = {k: v for k, v in values.items() if not (v is None and by_name[k].default is not None)}
    return Settings(**values)
