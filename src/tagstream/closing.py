"""The context-manager base of everything that holds a resource until closed (runs, devices):
``with`` closes it on the way out, error or not."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Use as ``with obj: ...``; :meth:`close` runs when the block is left."""

    def close(self) -> None:
        """Release what the object holds (files, devices, threads)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
