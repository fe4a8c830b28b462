"""Throw-away PKI for the sandbox: a CA, a serving certificate signed by it
(127.0.0.1 and localhost, plus whatever addresses a caller adds), a key pair
for signing ServiceAccount tokens, and client certificates on request."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox-ca")])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _signed(subject: x509.Name, public_key: rsa.RSAPublicKey, ca_key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(_CA_NAME)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
    )


def write(cert_dir: Path, *, names: Sequence[str] = ()) -> tuple[Path, Path, Path, Path, Path]:
    """A CA (its key kept as ca.key, for `client_cert`), a serving certificate
    for 127.0.0.1, localhost and `names` signed by it, and the SA signing key."""
    ca_key, serving_key, sa_key = _key(), _key(), _key()
    ca = (
        _signed(_CA_NAME, ca_key.public_key(), ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    sans = ["localhost", "127.0.0.1", "kubernetes.default.svc", *names]
    serving = (
        _signed(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), serving_key.public_key(), ca_key
        )
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in dict.fromkeys(sans)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (
        cert_dir / "ca.crt",
        cert_dir / "apiserver.crt",
        cert_dir / "apiserver.key",
        cert_dir / "sa.key",
        cert_dir / "sa.pub",
    )
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(serving.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_pem_key(serving_key))
    paths[3].write_bytes(_pem_key(sa_key))
    paths[4].write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (cert_dir / "ca.key").write_bytes(_pem_key(ca_key))
    for p in (*paths, cert_dir / "ca.key"):
        p.chmod(0o600)
    return paths


def client_cert(cert_dir: Path, name: str, *, user: str, groups: Sequence[str] = ()) -> tuple[Path, Path]:
    """A client certificate for `user` in `groups`, signed by the CA `write` made
    in `cert_dir`: how the apiserver proves itself to the kubelet."""
    ca_key = serialization.load_pem_private_key((cert_dir / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key = _key()
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, user)]
        + [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    )
    cert = (
        _signed(subject, key.public_key(), ca_key)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    crt_path, key_path = cert_dir / f"{name}.crt", cert_dir / f"{name}.key"
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(key))
    key_path.chmod(0o600)
    return crt_path, key_path
