"""Entry point of the local model server process: llama.cpp's server plus a parent watchdog.

``PR_SET_PDEATHSIG`` fires when the *thread* that spawned a child exits, and valact starts
the server from worker threads, so instead this wrapper polls its parent pid and exits as
soon as the parent is gone (also after ``kill -9``): no orphaned model server.
Usage: ``python -m pipeline.llm.serve_child PARENT_PID [llama_cpp.server args...]``.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def main() -> None:
    """Start the watchdog, then run ``llama_cpp.server`` as if from the command line."""
    parent_pid = int(sys.argv[1])
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
