"""The audit command line: its surface changes only on purpose; keys with a passphrase."""

import click

from glassworks.cli import main
from glassworks.provenance.cli import audit_group

SURFACE = {
    "verify": ["as_json", "fingerprints", "repo", "report_dir", "roots", "strict", "trusted_keys", "unchecked", "verbose"],
    "keygen": ["name", "out_dir", "passphrase_env"],
    "sign": ["key_path", "passphrase_env"],
    "regenerate": ["as_json", "recipe_dir", "roots", "workdir", "workers"],
}


def test_the_audit_surface_is_frozen():
    found = {name: sorted(p.name for p in cmd.params if isinstance(p, click.Option) and p.name != "help")
             for name, cmd in audit_group.commands.items()}
    assert found == SURFACE
    assert list(audit_group.list_commands(click.Context(audit_group))) == list(SURFACE)


def test_encrypted_key_needs_its_passphrase(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GW_TEST_PASS", "correct horse")
    keys = tmp_path / "keys"
    assert main(["audit", "keygen", "--out", str(keys), "--passphrase-env", "GW_TEST_PASS"]) == 0
    run = tmp_path / "run"
    (run / "manifests").mkdir(parents=True)
    assert main(["audit", "sign", str(run), "--key", str(keys / "signing.key")]) == 1
    assert "the key is encrypted" in capsys.readouterr().err
    monkeypatch.setenv("GW_TEST_PASS", "wrong")
    assert main(["audit", "sign", str(run), "--key", str(keys / "signing.key"), "--passphrase-env", "GW_TEST_PASS"]) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    monkeypatch.setenv("GW_TEST_PASS", "correct horse")
    assert main(["audit", "sign", str(run), "--key", str(keys / "signing.key"), "--passphrase-env", "GW_TEST_PASS"]) == 0
    assert "signed 0 files" in capsys.readouterr().out
    monkeypatch.delenv("GW_TEST_PASS")
    assert main(["audit", "sign", str(run), "--key", str(keys / "signing.key"), "--passphrase-env", "GW_TEST_PASS"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["glassworks: error: --passphrase-env GW_TEST_PASS: the environment variable is not set or empty"]
