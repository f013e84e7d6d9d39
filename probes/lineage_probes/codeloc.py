"""Where in the application's own code a capture happened: `path:line`.

The first frame, walking out from the hook, whose file is neither the probes,
nor the standard library, nor an installed package. Paths under the working
directory are written relative to it. Only sampled captures pay for the walk.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from functools import lru_cache
from types import CodeType, FrameType

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIBS = tuple(
    {os.path.abspath(p) for key in ("stdlib", "platstdlib", "purelib", "platlib")
     if (p := sysconfig.get_paths().get(key))}
)


@lru_cache(maxsize=4096)
def _app_file(filename: str) -> str | None:
    """The display name of an application file, or None for library code."""
    if not filename or filename.startswith("<"):
        return None
    path = os.path.abspath(filename)
    if path.startswith(_HERE) or path.startswith(_LIBS) or "site-packages" in path:
        return None
    cwd = os.getcwd()
    return os.path.relpath(path, cwd) if path.startswith(cwd + os.sep) else path


def of_code(code: CodeType) -> str | None:
    name = _app_file(code.co_filename)
    return f"{name}:{code.co_firstlineno}" if name else None


def here(skip: int = 2) -> str | None:
    frame: FrameType | None = sys._getframe(skip)
    while frame is not None:
        name = _app_file(frame.f_code.co_filename)
        if name is not None:
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return None
