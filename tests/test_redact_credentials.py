"""De-identification of credentials and addresses in the shapes tools print them.

tcpdump's ``ADDRESS.PORT`` endpoints, AWS secret access keys beside their key ids, and the
passwords of ``scheme://user:password@host`` URLs; and the import summary naming the kind.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from understudy.cli import app
from understudy.replay.redact import KINDS, redact_text

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
STS_ID = "ASIAY34FZKBOKMUTVV7A"
STS_SECRET = "Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789+/Zz"


def _one(text: str) -> tuple[str, dict[str, int]]:
    out, counts = redact_text(text)
    return out, dict(counts)


# --------------------------------------------------------------------------- tcpdump addresses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "12:00:01.123 IP 10.0.2.15.48750 > 93.184.216.34.443: Flags [S], seq 1",
            "12:00:01.123 IP <IP_1>.48750 > <IP_2>.443: Flags [S], seq 1",
        ),
        (
            "IP 93.184.216.34.443 > 10.0.2.15.48750: Flags [S.], ack 2",
            "IP <IP_1>.443 > <IP_2>.48750: Flags [S.], ack 2",
        ),
        (  # without -n, tcpdump names well-known ports
            "IP 192.168.1.20.53211 > 8.8.8.8.domain: 1234+ A? example.com.",
            "IP <IP_1>.53211 > <IP_2>.domain: 1234+ A? example.com.",
        ),
        (  # a resolved host name on one side is kept
            "IP 10.0.2.15.22 > laptop.lan.50123: Flags [P.]",
            "IP <IP_1>.22 > laptop.lan.50123: Flags [P.]",
        ),
        (
            "IP6 2001:db8::7.546 > 2001:db8::1.547: dhcp6 solicit",
            "IP6 <IP_1>.546 > <IP_2>.547: dhcp6 solicit",
        ),
        (  # macOS netstat prints ADDRESS.PORT too; a port over 255 is no octet
            "tcp4  0  0  192.168.1.5.52345  17.57.146.20.5223  ESTABLISHED",
            "tcp4  0  0  <IP_1>.52345  <IP_2>.5223  ESTABLISHED",
        ),
    ],
)
def test_addresses_with_a_dotted_port_are_redacted_and_the_port_kept(
    text: str, expected: str
) -> None:
    out, counts = _one(text)
    assert out == expected
    assert set(counts) == {"ip"}


def test_an_address_keeps_its_placeholder_with_and_without_a_port() -> None:
    out, counts = _one("ping 10.0.2.15\nIP 10.0.2.15.48750 > 10.0.2.1.53: 1+ A?")
    assert out == "ping <IP_1>\nIP <IP_1>.48750 > <IP_2>.53: 1+ A?"
    assert counts == {"ip": 3}


def test_an_address_after_a_user_name_is_an_address() -> None:
    out, counts = _one("ssh root@10.0.0.5 && scp f.txt deploy@203.0.113.9:/srv")
    assert out == "ssh root@<IP_1> && scp f.txt deploy@<IP_2>:/srv"
    assert counts == {"ip": 2}


@pytest.mark.parametrize(
    "text",
    [
        "pip install pkg==1.2.3.4.5 and pkg 1.2.3.4.5 installed",
        "Successfully installed foo-1.2.3.4.5 bar 1.2.3.4.100",
        "upgrade 1.2.3.4.5 > 1.2.3.4.4 done",
        "oid 1.3.6.1.4.1.311.21.7 > 1.3.6.1.4.1.311.2: ok",
        "version 10.0.2.15.48750 and v10.0.2.15.48750",
        "a.b.c > d.e.f: no addresses here",
    ],
)
def test_dotted_versions_are_not_taken_for_addresses(text: str) -> None:
    assert _one(text) == (text, {})


# --------------------------------------------------------------------------- AWS secret keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # aws configure, interactive
            f"AWS Access Key ID [None]: {AWS_ID}\nAWS Secret Access Key [None]: {AWS_SECRET}\n",
            "AWS Access Key ID [None]: <API_KEY_1>\nAWS Secret Access Key [None]: <API_KEY_2>\n",
        ),
        (  # an environment dump
            f"AWS_ACCESS_KEY_ID={AWS_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\nHOME=/root",
            "AWS_ACCESS_KEY_ID=<API_KEY_1>\nAWS_SECRET_ACCESS_KEY=<API_KEY_2>\nHOME=/root",
        ),
        (  # aws sts get-session-token / aws iam create-access-key
            json.dumps({"Credentials": {"AccessKeyId": STS_ID, "SecretAccessKey": STS_SECRET}}),
            '{"Credentials": {"AccessKeyId": "<API_KEY_1>", "SecretAccessKey": "<API_KEY_2>"}}',
        ),
        (  # the same, with the secret first
            f'"SecretAccessKey": "{STS_SECRET}",\n    "AccessKeyId": "{STS_ID}"',
            '"SecretAccessKey": "<API_KEY_1>",\n    "AccessKeyId": "<API_KEY_2>"',
        ),
        (  # a credentials CSV row: only the key id says what the other column is
            f"User name,Access key ID,Secret access key\nci-bot,{AWS_ID},{AWS_SECRET}",
            "User name,Access key ID,Secret access key\nci-bot,<API_KEY_1>,<API_KEY_2>",
        ),
        (  # a table row
            f"|  {AWS_ID}  |  Active  |  {AWS_SECRET}  |",
            "|  <API_KEY_1>  |  Active  |  <API_KEY_2>  |",
        ),
    ],
)
def test_aws_secret_keys_are_redacted_by_name_or_beside_a_key_id(text: str, expected: str) -> None:
    out, counts = _one(text)
    assert out == expected
    assert counts == {"api_key": 2}


def test_git_shas_stay_even_beside_an_aws_key_id() -> None:
    log = (
        "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f\n"
        "Author: Dev <dev@example.com>\n\n    rotate AKIAIOSFODNN7EXAMPLE out of config\n\n"
        "commit 0123456789ABCDEF0123456789ABCDEF01234567\n"
        "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 refs/heads/main\n"
        "path src/components/Widget/Button/index.tsx"
    )
    out, counts = _one(log)
    assert out == log.replace(AWS_ID, "<API_KEY_1>")
    assert counts == {"api_key": 1}


def test_forty_character_strings_far_from_a_key_id_stay() -> None:
    text = f"{AWS_SECRET} " + "far " * 70 + f"{AWS_ID} " + "away " * 60 + STS_SECRET
    assert _one(text)[0] == text.replace(AWS_ID, "<API_KEY_1>")


# --------------------------------------------------------------------------- URL passwords


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "DATABASE_URL=postgres://bob:s3cret@db.corp.io:5432/app",
            "DATABASE_URL=postgres://bob:<URL_PASSWORD_1>@db.corp.io:5432/app",
        ),
        (
            "psql postgresql://bob:s3cret@db.example.com/app",
            "psql postgresql://bob:<URL_PASSWORD_1>@db.example.com/app",
        ),
        (
            "mysql://root:Tr0ub4dor&3@10.0.0.5:3306/shop",
            "mysql://root:<URL_PASSWORD_1>@<IP_1>:3306/shop",
        ),
        (
            "mongodb+srv://app:p%40ss;word@cluster0.ab1cd.mongodb.net/?retryWrites=true",
            "mongodb+srv://app:<URL_PASSWORD_1>@cluster0.ab1cd.mongodb.net/?retryWrites=true",
        ),
        (
            "redis://:hunter2@cache.internal:6379/0",
            "redis://:<URL_PASSWORD_1>@cache.internal:6379/0",
        ),
        (
            "jdbc:postgresql://svc:pw@[2001:db8::5]:5432/x",
            "jdbc:postgresql://svc:<URL_PASSWORD_1>@[<IP_1>]:5432/x",
        ),
        (
            "pip install -i https://deploy:pa:ss@pypi.corp.io/simple pkg",
            "pip install -i https://deploy:<URL_PASSWORD_1>@pypi.corp.io/simple pkg",
        ),
        (
            '"url": "amqp://guest:guest@rabbit/"',
            '"url": "amqp://guest:<URL_PASSWORD_1>@rabbit/"',
        ),
    ],
)
def test_url_passwords_get_their_own_kind(text: str, expected: str) -> None:
    out, counts = _one(text)
    assert out == expected
    assert counts.pop("url_password") == 1
    assert "email" not in counts


def test_the_user_info_ends_at_the_last_at_sign_of_the_authority() -> None:
    assert _one("postgres://u:p@ss@db.corp.io/x@y") == (
        "postgres://u:<URL_PASSWORD_1>@db.corp.io/x@y",
        {"url_password": 1},
    )
    assert _one("see https://corp.io:8080?to=a@b.io") == (
        "see https://corp.io:8080?to=<EMAIL_1>",
        {"email": 1},
    )


def test_a_url_password_keeps_its_placeholder_and_is_not_an_email() -> None:
    text = "postgres://bob:s3cret@db.corp.io/a then postgres://eve:s3cret@db.corp.io/b, bob@corp.io"
    out, counts = _one(text)
    assert out == (
        "postgres://bob:<URL_PASSWORD_1>@db.corp.io/a then "
        "postgres://eve:<URL_PASSWORD_1>@db.corp.io/b, <EMAIL_1>"
    )
    assert counts == {"url_password": 2, "email": 1}
    assert "url_password" in KINDS


@pytest.mark.parametrize(
    "text",
    [
        "postgres://user:${DB_PASSWORD}@db/app and mysql://u:$PASS@h/d",
        "redis://:%s@%s:%d and amqp://{user}:{password}@host",
        "https://x:<URL_PASSWORD_1>@host and postgres://u:****@h/d",
        "http://localhost:8080/path@v2 and ssh://git@github.com:22/o/r",
    ],
)
def test_url_templates_and_ports_are_kept(text: str) -> None:
    assert _one(text) == (text, {})


def test_a_token_in_a_url_stays_an_api_key() -> None:
    token = "ghs_" + "Ab1Cd2Ef3Gh4" * 3
    out, counts = _one(f"https://x-access-token:{token}@github.com/o/r.git")
    assert out == "https://x-access-token:<API_KEY_1>@github.com/o/r.git"
    assert counts == {"api_key": 1}


def test_the_import_summary_names_the_new_kinds(tmp_path: Path) -> None:
    chat = [
        {"role": "user", "content": "connect to postgres://bob:s3cret@db.corp.io/app"},
        {"role": "assistant", "content": f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}"},
        {"role": "user", "content": "alice says hi from /home/alice/work"},
    ]
    log = tmp_path / "chat.json"
    log.write_text(json.dumps(chat))
    out = tmp_path / "sessions.jsonl"
    result = CliRunner().invoke(
        app, ["import", "auto", str(log), "-o", str(out)], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "chat.json" in line)
    # The task (the first user message) is redacted too, so the URL password counts twice.
    assert "api_key=1 url_password=2 user=2" in row
    stored = out.read_text()
    assert "s3cret" not in stored and "alice" not in stored
    assert Counter(stored.count(p) for p in ("<URL_PASSWORD_1>", "<USER_1>")) == Counter({2: 2})
