"""The live web view: a page beside the experiment that follows a run's analyses.

:mod:`.feeds` and :mod:`.remote` say where the results come from (a run file that another
process writes or wrote; a live run, whose process hands them over: :mod:`.process`),
:mod:`.hub` turns them into the page's messages (the panels of every measurement kind in the
registry, and the run's status), :mod:`.server` serves the page and its websocket (loopback by
default; a token for anything else), and ``static/`` holds the page.
"""

from .address import ViewAddress, parse_view_address
from .hub import ViewHub
from .process import ViewProcess
from .server import ViewServer

__all__ = ["ViewAddress", "ViewHub", "ViewProcess", "ViewServer", "parse_view_address"]
