"""The 0.1.x README's examples run unchanged against the dev server (examples/seed/)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from desam_testing.tls import generate_test_certificates

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"
KEYS = [
    "--api-key",
    "sk-your-api-key=alice",
    "--api-key",
    "sk-admin-1234567890abcdef=admin",
    "--admin-key",
    "sk-admin-1234567890abcdef",
    "--cpu",
    "64",
    "--memory-mb",
    "262144",
    "--gpu",
    "8",
]

EXPECTED = {
    "上下文管理器.py": ["作业提交成功: job-"],
    "深度学习训练作业.py": ["作业提交成功: job-"],
    "批量操作.py": ["获取到 5 个作业信息", "取消成功"],
    "监控作业状态.py": ["作业状态: ", "作业完成: FAILED", "错误信息: "],
    "错误处理.py": ["DeSAM错误: [INSUFFICIENT_RESOURCES"],
}


def _port_50051_free() -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 50051))
        except OSError:
            pytest.fail("port 50051 is in use: the seed examples hard-code it; stop whatever listens there")


def _run(script: Path, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(script)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.devserver
def test_seed_examples_run_unchanged(dev_server: Any, tmp_path: Path) -> None:
    _port_50051_free()
    with dev_server("--port", "50051", "--executor", "local", *KEYS):
        for name, fragments in EXPECTED.items():
            out = _run(SEED / name, tmp_path)
            for fragment in fragments:
                assert fragment in out, f"{name}: {fragment!r} not in {out!r}"


@pytest.mark.devserver
def test_first_example_over_tls_with_only_the_host_replaced(dev_server: Any, tmp_path: Path) -> None:
    _port_50051_free()
    pki = generate_test_certificates(tmp_path / "pki", hostnames=("localhost",), ip_addresses=("127.0.0.1",))
    (tmp_path / "server.crt").write_bytes(pki.ca_cert)
    source = (SEED / "基本使用.py").read_text(encoding="utf-8")
    assert source.count('host="192.168.1.100"') == 1
    script = tmp_path / "基本使用.py"
    script.write_text(source.replace('host="192.168.1.100"', 'host="localhost"'), encoding="utf-8")
    tls = ["--tls-cert", str(pki.server_cert_path), "--tls-key", str(pki.server_key_path)]
    with dev_server("--port", "50051", "--executor", "manual", *KEYS, *tls):
        out = _run(script, tmp_path)
    assert "作业已提交: job-" in out and "状态: QUEUED" in out and "作业已取消" in out
    assert "name='训练任务'" in out
