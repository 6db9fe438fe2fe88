"""Broker credentials: encrypted at rest, masked in views, rotated without losing a row, and
never in plain text anywhere on disk, in logs or in reprs."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tui_trader.domain.errors import ValidationError, VaultError
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService, rotate_master_key

API_KEY = "kiteKEY9f3a7c21"
API_SECRET = "s3cr3t-7d1e0b9c-a44f"
TOKEN = "acc3ssT0k3n-5be2f1d09c8a"


@pytest.fixture
def accounts(ctx):
    user = AuthService(ctx).sign_up("a@example.com", "password-a")
    return BrokerAccountService(ctx, user.id)


def test_round_trip_and_masked_view(accounts, ctx):
    view = accounts.add_kite(API_KEY, API_SECRET, label="Main")
    assert view.api_key_hint == "••••7c21" and view.has_secret and not view.has_token
    assert view.token_state == "none"
    expires = ctx.clock.now() + timedelta(hours=20)
    accounts.store_access_token(view.id, TOKEN, expires)
    creds = accounts.credentials(view.id)
    assert creds.api_key.reveal() == API_KEY
    assert creds.api_secret.reveal() == API_SECRET
    assert creds.access_token.reveal() == TOKEN
    for text in (repr(creds), str(creds), repr(view), repr(accounts.list())):
        assert API_KEY not in text and API_SECRET not in text and TOKEN not in text
    assert accounts.list()[0].token_state == "valid"
    ctx.clock.advance(timedelta(hours=19))
    assert accounts.list()[0].token_state == "expiring"
    ctx.clock.advance(timedelta(hours=2))
    assert accounts.list()[0].token_state == "lapsed"


def test_nothing_in_plain_text_on_disk_or_in_logs(accounts, ctx, caplog):
    caplog.set_level(logging.DEBUG)
    view = accounts.add_kite(API_KEY, API_SECRET)
    accounts.store_access_token(view.id, TOKEN, ctx.clock.now() + timedelta(hours=5))
    accounts.credentials(view.id)
    rotate_master_key(ctx)
    accounts.credentials(view.id)
    secrets = [API_KEY, API_SECRET, TOKEN]
    with ctx.db.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM broker_accounts")).all()
        dump = repr(rows)
    assert all(s not in dump for s in secrets)
    if ctx.db.dialect.name == "sqlite":
        ctx.db.dispose()
        for path in Path(ctx.db.url.database).parent.glob("test.db*"):
            blob = path.read_bytes()
            assert all(s.encode() not in blob for s in secrets), path
    for path in ctx.settings.data_dir.rglob("*"):
        if path.is_file():
            assert all(s.encode() not in path.read_bytes() for s in secrets), path
    assert all(s not in caplog.text for s in secrets)


def test_tampered_ciphertext_is_detected(accounts, ctx):
    view = accounts.add_kite(API_KEY, API_SECRET)
    with ctx.db.begin() as conn:
        enc = conn.execute(sa.text("SELECT api_secret_enc FROM broker_accounts")).scalar_one()
        flipped = enc[:-6] + ("A" if enc[-6] != "A" else "B") + enc[-5:]
        conn.execute(sa.text("UPDATE broker_accounts SET api_secret_enc = :v"), {"v": flipped})
    with pytest.raises(VaultError) as err:
        accounts.credentials(view.id)
    assert API_SECRET not in str(err.value)


def test_ciphertext_moved_to_another_column_fails(accounts, ctx):
    view = accounts.add_kite(API_KEY, API_SECRET)
    with ctx.db.begin() as conn:
        conn.execute(sa.text("UPDATE broker_accounts SET api_secret_enc = api_key_enc"))
    with pytest.raises(VaultError):
        accounts.credentials(view.id)


def test_database_refuses_plaintext_credentials(accounts, ctx):
    accounts.add_kite(API_KEY, API_SECRET)
    with pytest.raises(sa.exc.IntegrityError), ctx.db.begin() as conn:
        conn.execute(sa.text("UPDATE broker_accounts SET api_key_enc = :v"), {"v": API_KEY})


def test_rotation_keeps_every_row_readable(accounts, ctx):
    ids = [accounts.add_kite(f"key{i}abcdef12", f"secret-{i}", label=f"acct {i}").id
           for i in range(5)]
    accounts.store_access_token(ids[0], TOKEN, ctx.clock.now() + timedelta(hours=3))
    before = ctx.vault.current_key_id()
    report = rotate_master_key(ctx)
    assert report.ok and report.rotated == 11 and before in report.retired
    assert ctx.vault.current_key_id() != before
    for i, account_id in enumerate(ids):
        assert accounts.credentials(account_id).api_secret.reveal() == f"secret-{i}"
    assert accounts.credentials(ids[0]).access_token.reveal() == TOKEN


def test_missing_master_key_is_one_clear_error(accounts, ctx):
    view = accounts.add_kite(API_KEY, API_SECRET)
    (ctx.settings.data_dir / "master.key").unlink()
    ctx.vault.keystore.__init__(ctx.settings.data_dir / "master.key")
    with pytest.raises(VaultError, match="master key .* missing"):
        accounts.credentials(view.id)


def test_bad_kite_keys(accounts):
    with pytest.raises(ValidationError, match="API key: "):
        accounts.add_kite("", "x")
    with pytest.raises(ValidationError, match="API key: "):
        accounts.add_kite("bad key!", "x")
    with pytest.raises(ValidationError, match="API secret: "):
        accounts.add_kite("goodkey123", "")
    assert accounts.list() == []


def test_a_new_api_key_follows_the_same_rule_as_the_first(accounts):
    from tui_trader.domain.errors import ValidationError

    view = accounts.add_kite("kiteapikey1", "kitesecret9")
    with pytest.raises(ValidationError) as err:
        accounts.update_kite_keys(view.id, api_key="not a key!")
    assert err.value.field == "api_key" and "letters and digits" in str(err.value)
    assert accounts.credentials(view.id).api_key.reveal() == "kiteapikey1"  # nothing changed


def test_a_deleted_key_file_is_an_error_never_a_new_empty_one(accounts, ctx):
    """Credentials are sealed under the key file's keys: starting with the file gone must not
    quietly make a new, empty one (which would orphan every credential for good)."""
    from tui_trader.services.context import bootstrap

    accounts.add_kite(API_KEY, API_SECRET)
    key_id = ctx.vault.current_key_id()
    key_file = ctx.settings.data_dir / "master.key"
    key_file.rename(ctx.settings.data_dir / "moved-away.key")
    with pytest.raises(VaultError) as err:
        bootstrap(ctx.settings, clock=ctx.clock, store=ctx.store)
    text = str(err.value)
    assert f"sealed with master key(s) {key_id}" in text and str(key_file) in text
    assert "is missing: restore it from a backup" in text and "\n" not in text
    assert not key_file.exists()
    # Put back, it starts as before.
    (ctx.settings.data_dir / "moved-away.key").rename(key_file)
    again = bootstrap(ctx.settings, clock=ctx.clock, store=ctx.store)
    try:
        view = BrokerAccountService(again, accounts.user_id).list()[0]
        assert BrokerAccountService(again, accounts.user_id).credentials(view.id) \
            .api_secret.reveal() == API_SECRET
    finally:
        again.db.dispose()


def test_a_key_file_without_the_needed_keys_is_an_error(accounts, ctx):
    from tui_trader.security.keystore import FileKeyStore
    from tui_trader.services.context import bootstrap

    accounts.add_kite(API_KEY, API_SECRET)
    key_id = ctx.vault.current_key_id()
    key_file = ctx.settings.data_dir / "master.key"
    key_file.unlink()
    FileKeyStore(key_file).initialize()  # someone made a fresh, empty one by hand
    with pytest.raises(VaultError, match=f"master key\\(s\\) {key_id}, and key file .* "
                                         f"lacks them"):
        bootstrap(ctx.settings, clock=ctx.clock, store=ctx.store)


def test_no_credentials_no_key_file_needed(ctx):
    from tui_trader.services.context import bootstrap

    (ctx.settings.data_dir / "master.key").unlink()
    again = bootstrap(ctx.settings, clock=ctx.clock, store=ctx.store)
    again.db.dispose()
    assert (ctx.settings.data_dir / "master.key").exists()


@pytest.mark.parametrize("root,rule", [
    ("http://api.kite.trade", "must start with https://"),
    ("http://10.0.0.5:5010", "must start with https://"),
    ("ftp://127.0.0.1", "must start with https://"),
    ("https://user:pw@api.kite.trade", "must not carry a user name or password"),
    ("https://", "must be a URL like https://api.kite.trade"),
    ("https://api.kite.trade:port", "must be a URL like https://api.kite.trade"),
])
def test_an_api_root_must_be_https_unless_loopback(accounts, root, rule):
    with pytest.raises(ValidationError) as err:
        accounts.add_kite(API_KEY, API_SECRET, api_root=root)
    assert err.value.field == "api_root" and rule in err.value.rule
    assert "pw" not in str(err.value)
    assert accounts.list() == []


@pytest.mark.parametrize("root", ["https://api.kite.trade", "http://127.0.0.1:5010",
                                  "http://localhost:5010", "http://[::1]:5010"])
def test_https_and_loopback_roots_are_accepted(accounts, root):
    assert accounts.add_kite(API_KEY, API_SECRET, api_root=root).broker.value == "kite"
