"""The audit command line: its surface changes only on purpose; keys with a passphrase; exclusive options."""

import click

from glassworks.cli import main
from glassworks.provenance.cli import audit_group

SURFACE = {
    "verify": ["allow_unsigned", "as_json", "fingerprints", "identities", "oidc_issuer", "repo", "report_dir", "roots",
               "strict", "trusted_keys", "unchecked", "verbose"],
    "keygen": ["name", "out_dir", "passphrase_env"],
    "sign": ["key_path", "keyless", "passphrase_env", "repository"],
    "regenerate": ["as_json", "recipe_dir", "report_dir", "roots", "threads", "train_steps", "workdir", "workers"],
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
    sign = ["audit", "sign", str(run), "--repository", "https://github.com/example/glassworks"]
    assert main([*sign, "--key", str(keys / "signing.key")]) == 1
    assert "the key is encrypted" in capsys.readouterr().err
    monkeypatch.setenv("GW_TEST_PASS", "wrong")
    assert main([*sign, "--key", str(keys / "signing.key"), "--passphrase-env", "GW_TEST_PASS"]) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    monkeypatch.setenv("GW_TEST_PASS", "correct horse")
    assert main([*sign, "--key", str(keys / "signing.key"), "--passphrase-env", "GW_TEST_PASS"]) == 0
    assert "signed 0 files" in capsys.readouterr().out
    monkeypatch.delenv("GW_TEST_PASS")
    assert main([*sign, "--key", str(keys / "signing.key"), "--passphrase-env", "GW_TEST_PASS"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["glassworks: error: --passphrase-env GW_TEST_PASS: the environment variable is not set or empty"]


def test_sign_takes_a_key_or_keyless_and_verify_refuses_a_pin_with_allow_unsigned(tmp_path, capsys):
    (tmp_path / "manifests").mkdir()
    assert main(["audit", "sign", str(tmp_path)]) == 2
    assert "give --key KEY or --keyless" in capsys.readouterr().err
    assert main(["audit", "keygen", "--out", str(tmp_path / "keys")]) == 0
    capsys.readouterr()
    pin = ["--trusted-key", str(tmp_path / "keys" / "signing.pub")]
    assert main(["audit", "verify", str(tmp_path), *pin, "--allow-unsigned"]) == 2
    assert "--allow-unsigned contradicts a trusted key" in capsys.readouterr().err
