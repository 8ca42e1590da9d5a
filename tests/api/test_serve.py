"""labelloop serve: registered on the CLI, loopback by default, a warning when it is not."""

from __future__ import annotations

from typer.testing import CliRunner

from labelloop.cli import app
from labelloop.cli.serve import is_loopback


def test_loopback_addresses():
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.20")
    assert not is_loopback("example.org")


def test_serve_is_a_command_with_loopback_default():
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "127.0.0.1" in result.output
    assert "--port" in result.output


def test_serve_warns_when_shared(monkeypatch, cli_env):
    started = {}

    def fake_run(application, host, port, log_level):
        started.update(host=host, port=port)

    monkeypatch.setattr("uvicorn.run", fake_run)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert started == {"host": "0.0.0.0", "port": 8123}
    assert "anyone who can reach this address" in result.output
    assert "http://0.0.0.0:8123/" in result.output
