"""Each in-process invocation sees its own function's environment, and only on its thread."""

import os
import threading

from devkit.local_cloud.environ import ThreadEnviron


def test_an_overlay_is_seen_by_its_thread_only_and_writes_inside_it_stay_there():
    environ = ThreadEnviron(dict(os.environ))
    environ["SHARED"] = "process"
    seen: dict[str, object] = {}
    inside = threading.Event()
    release = threading.Event()

    def invocation():
        with environ.overlay({"TABLE": "tagging-table", "SHARED": "function"}):
            environ["WRITTEN"] = "by the handler"
            del environ["SHARED"]
            seen["inside"] = (environ.get("TABLE"), environ.get("SHARED"), environ["WRITTEN"])
            inside.set()
            release.wait(5)
        seen["after"] = (environ.get("TABLE"), environ.get("SHARED"), environ.get("WRITTEN"))

    worker = threading.Thread(target=invocation)
    worker.start()
    inside.wait(5)
    # Meanwhile another thread sees the process environment unchanged.
    assert (environ.get("TABLE"), environ["SHARED"], "WRITTEN" in environ) == (
        None, "process", False)
    release.set()
    worker.join(5)
    assert seen["inside"] == ("tagging-table", None, "by the handler")
    assert seen["after"] == (None, "process", None)
    assert "SHARED" in dict(environ) and (environ | {"X": "1"})["X"] == "1"
