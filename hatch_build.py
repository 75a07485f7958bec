"""Build hook: the built-in simulator's core compiled with mypyc in every wheel.

The simulator's event loop and physical layer are plain typed Python; mypyc turns the
modules listed under ``[tool.hatch.build.targets.wheel.hooks.custom] compile`` into C
extensions beside their sources, which the interpreter loads in place of the ``.py``
files (its import system tries extensions first). The compiled core makes the same
decisions bit for bit, and ``tests/wheel/test_compiled_core.py`` holds it to that: every
result file of FUSION's fixtures, byte for byte, against the pure-Python package.
The C sources listed under ``extensions`` are built beside them, one module each (the
``_svml`` extension that calls numpy's SVML routines without numpy: see
``fusion_jupyter/sim/numpy_math.py``, which falls back to numpy without it).

Editable installs stay pure Python, so an edited module takes effect at once. A build
without a C compiler (or with ``FUSION_JUPYTER_PURE_PYTHON=1``) makes a pure-Python
wheel and says so; ``fusion_jupyter.sim.compiled()`` tells which one is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: The setup script mypyc builds through (setuptools compiles the generated C). It runs
#: in a scratch directory, where setuptools does not read this project's pyproject.toml.
SETUP = """\
from setuptools import Extension, setup
from mypyc.build import mypycify

setup(
    name="fusion_jupyter_core",
    ext_modules=mypycify({args!r}, opt_level="3", target_dir={target!r})
    + [Extension(name, [source]) for name, source in {extensions!r}],
)
"""


class CompiledCoreHook(BuildHookInterface):
    """Adds the compiled modules to a (non-editable) wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile the listed modules and add what that made to the wheel."""
        self._scratch: Path | None = None
        if self.target_name != "wheel" or version == "editable":
            return
        if os.environ.get("FUSION_JUPYTER_PURE_PYTHON", "") not in ("", "0"):
            self.app.display_info("FUSION_JUPYTER_PURE_PYTHON is set: simulator not compiled")
            return
        self._scratch = Path(tempfile.mkdtemp(prefix="fusion-jupyter-mypyc-"))
        try:
            built = compile_modules(
                Path(self.root),
                self.config["compile"],
                self._scratch,
                self.config.get("extensions", []),
            )
        except CompileError as error:
            self.app.display_warning(f"simulator not compiled, the wheel is pure Python: {error}")
            return
        for path, wheel_path in built.items():
            build_data["force_include"][str(path)] = wheel_path
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        self.app.display_info(f"simulator compiled with mypyc: {len(built)} files")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the scratch directory once the wheel holds its files."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


class CompileError(Exception):
    """mypyc or the C compiler failed (the message holds the end of their output)."""


def compile_modules(
    root: Path, modules: list[str], scratch: Path, extensions: list[str] | None = None
) -> dict[Path, str]:
    """Compile ``modules`` (paths relative to ``root``) in ``scratch``, and build each
    of ``extensions`` (C sources relative to ``root``, a module each, named by its path).

    Returns each built file with its path in the wheel. mypy type-checks the modules
    with the project's settings; what they import but are not compiled is followed
    silently, so the build needs none of the server's dependencies.
    """
    lib = scratch / "lib"
    sources = [
        (Path(source).with_suffix("").as_posix().replace("/", "."), str(root / source))
        for source in extensions or []
    ]
    args = [str(root / module) for module in modules]
    args += ["--config-file", str(root / "pyproject.toml"), "--follow-imports=silent"]
    # mypyc compiles for the interpreter that builds, not the version the config names.
    args += ["--python-version", f"{sys.version_info.major}.{sys.version_info.minor}"]
    (scratch / "setup.py").write_text(
        SETUP.format(args=args, target=str(scratch / "c"), extensions=sources)
    )
    command = [sys.executable, "setup.py", "build_ext", "--build-lib", str(lib)]
    command += ["--build-temp", str(scratch / "temp")]
    try:
        done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
    except OSError as error:
        raise CompileError(str(error)) from error
    if done.returncode != 0:
        raise CompileError((done.stdout + done.stderr)[-3000:])
    return {path: path.relative_to(lib).as_posix() for path in lib.rglob("*") if path.is_file()}
