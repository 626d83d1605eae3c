"""A real local OpenAI-compatible server for the tests: llama.cpp's own HTTP server, from the PyPI
wheel xllamacpp (nothing compiled), serving the tiny random-weights model `make_tiny_gguf.py`
writes. The server is real; only the model is a stand-in (see make_tiny_gguf.py).

.. code-block:: python

    with llama_server(tmp_path) as base_url:   # http://127.0.0.1:PORT/v1
        ...                                    # POST base_url + "/chat/completions"

`llama_server(folder, pure_random=True)` serves the model without its bias: its answers are
garbage inside the schema, or are cut at max_tokens.

The server runs in a process of its own (this file, run as a script: `python llama_server.py
MODEL CTX`, with the API key if any in `LLAMA_API_KEY`), bound to 127.0.0.1 on a port the kernel
picks; it says which on its first line, and is ready once `/health` answers 200. It is stopped
with SIGTERM however the block ends, and dies with the test process if that dies first.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from make_tiny_gguf import Shape, write_model

#: Tokens of context: the tiny model's vocabulary is bytes, so a prompt is about one token per
#: character, and the whole catalogue of the bundled agents is ~12,000 characters.
CONTEXT = 32768
#: How long the server may take to load and answer /health (0.15 s here); only a hang hits it.
READY_TIMEOUT = 60.0
#: How often /health is asked while the server loads.
POLL = 0.05

_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []


def _health(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def llama_server(
    folder: Path, *, pure_random: bool = False, api_key: str = "", model: Path | None = None
) -> Iterator[str]:
    """Writes the tiny model into ``folder`` (or serves ``model``, a GGUF file of a real one: the
    benchmarks'), serves it, yields the API's base URL (``http://127.0.0.1:PORT/v1``), and stops
    the server. With ``api_key``, the server answers only requests that carry it
    (``Authorization: Bearer``), as a hosted API would."""
    folder.mkdir(parents=True, exist_ok=True)
    if model is None:
        name = "tiny-pure-random.gguf" if pure_random else "tiny.gguf"
        model = folder / name
        write_model(model, Shape(ctx=CONTEXT, pure_random=pure_random))
    log = (folder / f"{model.stem}.server.log").open("w")
    proc = subprocess.Popen(
        [*_DIE_WITH_PARENT, sys.executable, __file__, str(model), str(CONTEXT)],
        # The key goes by the environment, not the command line (which `ps` shows).
        env={**os.environ, "LLAMA_API_KEY": api_key},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("LISTENING "):
            raise AssertionError(
                f"the llama.cpp server did not start (exit {proc.poll()}); see {log.name}"
            )
        url = line.split()[1].rstrip("/")
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + READY_TIMEOUT
        while not _health(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the llama.cpp server at {url} never got ready; see {log.name}"
                )
            time.sleep(POLL)
        yield f"{url}/v1"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def serve(model: str, context: int) -> None:
    """Serves ``model`` on 127.0.0.1 (a free port, printed) until SIGTERM."""
    import xllamacpp  # noqa: PLC0415 - only the server process needs it

    p = xllamacpp.CommonParams()
    p.model.path = model
    p.hostnames = ["127.0.0.1"]
    p.port = 0
    p.n_ctx = context
    p.n_parallel = 1
    # One thread: the cores are shared with the manager, the agents and the build.
    p.cpuparams.n_threads = 1
    p.cpuparams_batch.n_threads = 1
    p.warmup = False
    if key := os.environ.get("LLAMA_API_KEY", ""):
        p.api_keys = [key]
    server = xllamacpp.Server(p)
    print("LISTENING", server.listening_address, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            signal.pause()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
