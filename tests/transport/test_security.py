"""Who may talk to a pipeline: keys, the ZAP handler, and the refusal to bind other hosts'
addresses without keys."""

from __future__ import annotations

import socket
import stat

import pytest
import zmq

import tagstream as ts
from tagstream.cli import main
from tagstream.pipeline.live_run import LivePipeline
from tagstream.pipeline.run_config import OutputSettings, PipelineSettings, parse_run_config
from tagstream.transport.security import (
    CONTROL,
    DATA,
    GUEST,
    TRUSTED,
    ClientKeys,
    Gatekeeper,
    RunKeys,
    SecurityError,
    check_exposure,
    is_local,
    trusted_sender,
)


@pytest.mark.parametrize(
    "endpoint, local",
    [
        ("tcp://127.0.0.1:5555", True),
        ("tcp://127.8.0.1:*", True),
        ("tcp://localhost:5555", True),
        ("tcp://[::1]:5555", True),
        ("ipc:///tmp/tags", True),
        ("inproc://tags", True),
        ("tcp://0.0.0.0:5555", False),
        ("tcp://*:5555", False),
        ("tcp://192.168.1.20:5555", False),
        ("tcp://eth0:5555", False),
        ("tcp://[::]:5555", False),
    ],
)
def test_which_endpoints_only_this_host_reaches(endpoint, local):
    assert is_local(endpoint) is local


def test_other_hosts_addresses_need_a_key_folder():
    with pytest.raises(SecurityError, match=r"\[pipeline\] data = 'tcp://0.0.0.0:5555'"):
        check_exposure({"data": "tcp://0.0.0.0:5555"}, keyed=False)
    check_exposure({"data": "tcp://0.0.0.0:5555"}, keyed=True)
    with pytest.raises(ts.TagstreamError, match="can be reached from other hosts"):
        parse_run_config({"pipeline": {"control": "tcp://*:5557"}})
    with pytest.raises(ts.TagstreamError, match="can be reached from other hosts"):
        LivePipeline(
            ts.simulate("cspbi3-10nm", duration="1 s"),
            OutputSettings("x.h5"),
            PipelineSettings(results="tcp://0.0.0.0:*"),
        )


def test_a_run_on_an_open_address_without_keys_is_a_one_line_error(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(
        '[source]\nsimulator = "cspbi3-10nm"\n[output]\npath = "x.h5"\n'
        '[pipeline]\ndata = "tcp://0.0.0.0:*"\n'
    )
    assert main(["run", str(config), "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "tagstream keys DIR" in err
    assert not (tmp_path / "x.h5").exists()


def test_key_folder_is_made_once_with_private_secrets(tmp_path, capsys):
    folder = tmp_path / "keys"
    assert main(["keys", str(folder)]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["acquisition.key", "acquisition.key_secret", "worker.key", "worker.key_secret"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    keys = RunKeys.for_run(folder)  # secrets stay out of reprs (logs, tracebacks)
    assert keys.secret.decode() not in repr(keys) and keys.local.secret.decode() not in repr(keys)
    for secret in folder.glob("*.key_secret"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    before = (folder / "worker.key_secret").read_bytes()
    capsys.readouterr()
    assert main(["keys", str(folder)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (folder / "worker.key_secret").read_bytes() == before
    assert main(["keys", str(folder), "--force"]) == 0
    assert (folder / "worker.key_secret").read_bytes() != before


def test_run_keys_from_a_folder_trust_its_worker_keys(tmp_path):
    folder = tmp_path / "keys"
    main(["keys", str(folder)])
    run = RunKeys.for_run(folder)
    worker = ClientKeys.from_folder(folder)
    assert worker.server_public == run.public
    assert worker.public in run.trusted and run.local.public in run.trusted
    assert run.public not in run.trusted
    fresh = RunKeys.for_run()
    assert fresh.trusted == {fresh.local.public} and fresh.public != run.public
    assert ClientKeys.from_env(run.local.to_env()) == run.local


def test_unusable_keys_are_one_line_errors(tmp_path):
    with pytest.raises(SecurityError, match="no such key folder"):
        RunKeys.for_run(tmp_path / "missing")
    folder = tmp_path / "keys"
    main(["keys", str(folder)])
    (folder / "worker.key").unlink()
    with pytest.raises(SecurityError, match="no worker key"):
        RunKeys.for_run(folder)
    (folder / "acquisition.key").write_text("rubbish")
    with pytest.raises(SecurityError, match=r"acquisition\.key: not a ZeroMQ key file"):
        ClientKeys.from_folder(folder)
    with pytest.raises(SecurityError, match="three Z85 keys"):
        ClientKeys.from_env("abc")


def test_the_gatekeeper_admits_trusted_keys_everywhere_and_guests_to_control_only():
    keys = RunKeys.for_run()
    context = zmq.Context()
    gate = Gatekeeper(context, keys)
    gate.start()
    sockets = []
    try:
        servers = {}
        for domain in (DATA, CONTROL):
            server = context.socket(zmq.PULL)
            keys.apply(server, "tcp://127.0.0.1:*", domain)
            port = server.bind_to_random_port("tcp://127.0.0.1")
            servers[domain] = (server, f"tcp://127.0.0.1:{port}")
            sockets.append(server)
        guest = ClientKeys.guest(keys.public)
        received = {}
        for domain, (server, endpoint) in servers.items():
            for name, client_keys in (("trusted", keys.local), ("guest", guest)):
                client = context.socket(zmq.PUSH)
                sockets.append(client)
                client_keys.apply(client, endpoint)
                client.connect(endpoint)
                client.send(name.encode())
            while server.poll(1500):
                frame = server.recv(copy=False)
                received[(domain, frame.bytes.decode())] = frame.get("User-Id")
                assert trusted_sender(frame, endpoint) == (frame.get("User-Id") == TRUSTED)
        assert received == {
            (DATA, "trusted"): TRUSTED,
            (CONTROL, "trusted"): TRUSTED,
            (CONTROL, "guest"): GUEST,
        }
        assert gate.refused >= 1  # the guest on the data socket
    finally:
        for socket in sockets:
            socket.close(0)
        gate.stop()
        context.term()


def test_what_a_run_turned_away_is_reported():
    from tagstream.cli.live_view import rejections

    status = {"malformed_control": 2, "refused_requests": 0, "refused_peers": 1}
    assert rejections(status) == [
        "2 malformed control requests",
        "1 handshakes with keys the run does not trust",
    ]
    assert rejections({}) == []


def test_a_malformed_control_endpoint_is_a_one_line_error(tmp_path, capsys):
    folder = tmp_path / "keys"
    main(["keys", str(folder)])
    capsys.readouterr()
    assert main(["worker", "--control", "tcp://bad", "--keys", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot connect to 'tcp://bad'" in err[0]


def test_a_worker_with_nothing_listening_says_so(tmp_path, capsys):
    folder = tmp_path / "keys"
    main(["keys", str(folder)])
    capsys.readouterr()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["worker", "--control", f"tcp://127.0.0.1:{port}", "--keys", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"tagstream worker: joining the run at tcp://127.0.0.1:{port} ..."
    assert len(err) == 2 and "error:" in err[1] and "no answer to 'hello'" in err[1]
    assert "is the run up" in err[1]
