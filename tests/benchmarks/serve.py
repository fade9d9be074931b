"""A scheduler in a process of its own, driven over its stdin and stdout.

The benchmarks run every server (the fake scheduler, or a constant-answer servicer
with the same server settings) in a child process, so that the client being
measured does not share an interpreter lock with it: the figures are the client's.

``python -m benchmarks.serve fake|constant [--jobs N] [--quota BYTES]`` prints one
JSON line ``{"address": ..., "job_id": ...}``, then answers one JSON command per
line: ``{"cmd": "inject", "n": 1000, "status": 1}`` -> ``{"ids": [...]}``,
``{"cmd": "count", "rpc": "QueryJob"}`` -> ``{"count": n}``, ``{"cmd": "stop"}``.
It stops when its stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

#: The job every server answers QueryJob with (the fake stores it; the constant servicer sends a copy).
JOB_FIELDS: dict[str, Any] = {
    "name": "bench",
    "command": "python train.py --epochs 3",
    "resources": {"cpu_cores": 2, "memory_mb": 2048},
    "labels": {"team": "bench"},
    "env": {"MODE": "bench"},
    "submit_time": 1_700_000_000,
}
API_KEY = "sk-test"
USER = "alice"

# The fake scheduler's server settings (see desam_testing._server.FakeScheduler.start).
MAX_WORKERS = 32
SERVER_OPTIONS = [("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 4 * 1024 * 1024)]


def _constant_server() -> tuple[Any, str, str]:
    import grpc

    from desam_proto import client_pb2 as pb
    from desam_proto import client_pb2_grpc as pb_grpc

    job = pb.Job(job_id="job-000000000001", user_id=USER, status=pb.QUEUED, **JOB_FIELDS)
    reply = pb.QueryJobResponse(response=pb.CommonResponse(success=True), job=job)

    class Constant(pb_grpc.ClientServiceServicer):
        def QueryJob(self, request: Any, context: Any) -> Any:
            return reply

    server = grpc.server(ThreadPoolExecutor(MAX_WORKERS), options=SERVER_OPTIONS)
    pb_grpc.add_ClientServiceServicer_to_server(Constant(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}", job.job_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("kind", choices=["fake", "constant"])
    parser.add_argument("--jobs", type=int, default=0, help="jobs to store before serving (fake)")
    parser.add_argument("--quota", type=int, default=1 << 30, help="blob cache quota in bytes (fake)")
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.kind == "constant":
        server, address, job_id = _constant_server()
        fake = None
    else:
        from desam_testing import FakeScheduler

        fake = FakeScheduler(api_keys={API_KEY: USER}, quota_bytes=args.quota, max_workers=MAX_WORKERS)
        fake.start()
        job_id = fake.inject_job(**JOB_FIELDS)
        for index in range(args.jobs):
            fake.inject_job(name=f"bench-{index}", command="true", submit_time=1_700_000_000 + index)
        address = fake.address
    out.write(json.dumps({"address": address, "job_id": job_id, "pid": os.getpid()}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            command = json.loads(line)
            answer: dict[str, Any] = {}
            if command["cmd"] == "stop":
                break
            if fake is None:
                answer = {"error": "the constant servicer takes no commands"}
            elif command["cmd"] == "inject":
                ids = [
                    fake.inject_job(name=f"wait-{i}", command="true", status=command.get("status", 1))
                    for i in range(command["n"])
                ]
                answer = {"ids": ids}
            elif command["cmd"] == "count":
                answer = {"count": fake.request_count(command.get("rpc"))}
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        if fake is not None:
            fake.stop()
        else:
            server.stop(None)
    return 0


class Server:
    """The parent's handle on a server process (a context manager)."""

    def __init__(self, kind: str, *, jobs: int = 0, quota: int = 1 << 30) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent.parent), env.get("PYTHONPATH", "")])
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.serve", kind, "--jobs", str(jobs), "--quota", str(quota)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        hello = self._read()
        self.address: str = hello["address"]
        self.job_id: str = hello["job_id"]
        self.pid: int = hello["pid"]

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark server exited with {self._proc.wait()}")
        return json.loads(line)  # type: ignore[no-any-return]

    def command(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def inject(self, n: int, status: int = 1) -> list[str]:
        return self.command("inject", n=n, status=status)["ids"]  # type: ignore[no-any-return]

    def count(self, rpc: str | None = None) -> int:
        return int(self.command("count", rpc=rpc)["count"])

    def stop(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    raise SystemExit(main())
