"""The launcher's ``slurm.conf`` (not Slurm's own): resource options to ``sbatch``
options, defaults, and the backend's settings (see :class:`SlurmConfig`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_ext.launch.base import JobOptions, LaunchError

# Mapping used for every option the config file has no ``option`` line for.
BUILTIN_CONFIG = """\
command sbatch
option gpu=0
option gpu=* --gres=gpu:$0
option num_threads=* --cpus-per-task=$0
option mem=* --mem=$0
option time=* --time=$0
option partition=* --partition=$0
option name=* --job-name=$0
option num_nodes=1
option num_nodes=* --nodes=$0 --ntasks-per-node=1
"""

# ``setting`` keys of the config file, with their defaults (seconds).
DEFAULT_SETTINGS: Dict[str, float] = {
    # longest pause between two checks of a running job
    "poll_interval": 10.0,
    # longest time a single Slurm client command (sbatch, scontrol) may take
    "client_timeout": 30.0,
    # how long the controller may stay unreachable while tasks are unfinished
    "controller_timeout": 300.0,
    # how long to wait for a task's status file after Slurm reports the task
    # finished (covers the attribute caches of network file systems)
    "status_grace": 30.0,
}

def norm_name(name: str) -> str:
    return name.strip().replace("-", "_")


@dataclass
class SlurmConfig:
    """The parsed ``slurm.conf`` of the launcher (not Slurm's own slurm.conf).

    The file has one directive per line; ``#`` starts a comment; arguments are
    split like a shell would (quotes allowed)::

        command sbatch [ARGS...]     # the submit command and options always given
        option NAME=VALUE [ARGS...]  # --NAME VALUE adds ARGS (none: adds nothing)
        option NAME=* ARGS...        # any other value; "$0" in ARGS is the value
        default NAME=VALUE           # the value of NAME when --NAME is not given
        setting KEY=VALUE            # backend behaviour (poll_interval, ...)

    NAME is a launcher option without its dashes (``gpu``, ``mem``,
    ``num_threads``, ``time``, or any other ``--name value`` such as
    ``partition``); ``-`` and ``_`` are the same.  An option the file has no
    ``option`` line for keeps the built-in rule (:data:`BUILTIN_CONFIG`);
    one ``option`` line for a NAME replaces all built-in rules for it.  An
    option given a value that no rule matches is an error.  ``--max_jobs_run``
    needs no rule: it becomes the array throttle (``--array=1-N%M``).
    """

    command: List[str] = field(default_factory=lambda: ["sbatch"])
    rules: Dict[str, Dict[str, List[str]]] = field(default_factory=dict)
    defaults: Dict[str, str] = field(default_factory=dict)
    settings: Dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    source: str = "<built-in>"

    @classmethod
    def parse(cls, text: str, source: str = "<string>") -> "SlurmConfig":
        """Parse config text over the built-in rules."""
        cfg = cls._parse_lines(BUILTIN_CONFIG, "<built-in>", cls())
        own = cls._parse_lines(text, source, cls(command=[], settings={}))
        if own.command:
            cfg.command = own.command
        cfg.rules.update(own.rules)  # per option name: the file's rules win
        cfg.defaults.update(own.defaults)
        cfg.settings.update(own.settings)
        cfg.source = source
        return cfg

    @classmethod
    def load(cls, path: Optional[Path]) -> "SlurmConfig":
        if path is None:
            return cls.parse("", "<built-in>")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise LaunchError(f"slurm backend: cannot read config {path}: {e}") from e
        return cls.parse(text, str(path))

    @staticmethod
    def _parse_lines(text: str, source: str, cfg: "SlurmConfig") -> "SlurmConfig":
        for lineno, raw in enumerate(text.splitlines(), 1):
            where = f"{source}:{lineno}"
            try:
                words = shlex.split(raw, comments=True)
            except ValueError as e:
                raise LaunchError(f"{where}: {e}: {raw.strip()!r}") from None
            if not words:
                continue
            key, args = words[0], words[1:]
            if key == "command":
                if not args:
                    raise LaunchError(f"{where}: 'command' needs the submit program, e.g. 'command sbatch'")
                cfg.command = args
                continue
            if key not in ("option", "default", "setting"):
                raise LaunchError(
                    f"{where}: unknown directive {key!r} (expected command, option, default or setting)"
                )
            if not args or "=" not in args[0]:
                raise LaunchError(f"{where}: expected '{key} NAME=VALUE ...', got {raw.strip()!r}")
            name, value = args[0].split("=", 1)
            name = norm_name(name)
            if not name:
                raise LaunchError(f"{where}: empty option name in {raw.strip()!r}")
            if key == "option":
                if name == "max_jobs_run":
                    raise LaunchError(f"{where}: max_jobs_run is not mapped (it is the array throttle)")
                if value == "*" and not args[1:]:
                    raise LaunchError(f"{where}: 'option {name}=*' needs sbatch arguments using $0")
                cfg.rules.setdefault(name, {})[value] = args[1:]
            elif key == "default":
                if args[1:]:
                    raise LaunchError(f"{where}: 'default' takes a single NAME=VALUE")
                cfg.defaults[name] = value
            else:
                if args[1:]:
                    raise LaunchError(f"{where}: 'setting' takes a single KEY=VALUE")
                if name not in DEFAULT_SETTINGS:
                    raise LaunchError(
                        f"{where}: unknown setting {name!r} (known: {', '.join(sorted(DEFAULT_SETTINGS))})"
                    )
                try:
                    seconds = float(value)
                except ValueError:
                    raise LaunchError(f"{where}: setting {name} expects seconds, got {value!r}") from None
                if seconds <= 0:
                    raise LaunchError(f"{where}: setting {name} must be > 0, got {value!r}")
                cfg.settings[name] = seconds
        return cfg

    def option_values(self, opts: JobOptions) -> List[Tuple[str, str]]:
        """The options of a launch and their values, in the order mapped.

        Defaults of options not given come first, then ``gpu``,
        ``num_threads``, ``mem``, ``time`` and the other options given, so
        that (sbatch taking the last of a repeated option) an option given on
        the command line beats one implied by a rule, which beats a default.
        """
        given: Dict[str, str] = {"gpu": str(opts.gpu), "num_threads": str(opts.num_threads)}
        if opts.mem is not None:
            given["mem"] = str(opts.mem)
        if opts.time is not None:
            given["time"] = str(opts.time)
        for k, v in (opts.extra or {}).items():
            given[norm_name(k)] = str(v)
        given.pop("max_jobs_run", None)
        out = [(k, v) for k, v in self.defaults.items() if k not in given]
        return out + list(given.items())

    def sbatch_args(self, opts: JobOptions) -> List[str]:
        """The sbatch options the resource options map to."""
        out: List[str] = []
        for name, value in self.option_values(opts):
            rules = self.rules.get(name)
            if rules is None:
                raise LaunchError(
                    f"slurm backend: option --{name} {value} has no rule in {self.source}; "
                    f"add e.g. 'option {name}=* --{name.replace('_', '-')}=$0'"
                )
            if value in rules:
                args = rules[value]
            elif "*" in rules:
                args = [a.replace("$0", value) for a in rules["*"]]
            else:
                raise LaunchError(
                    f"slurm backend: no rule in {self.source} matches --{name} {value} "
                    f"(rules exist for: {', '.join(sorted(rules))})"
                )
            out.extend(args)
        return out


