"""Real local receivers on 127.0.0.1: an HTTP webhook endpoint and a minimal SMTP server
(plain, STARTTLS or implicit TLS, with a certificate from a throw-away CA)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class WebhookReceiver:
    """Collects JSON POST bodies; `status` lets a test make it fail."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.status = status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """Enough SMTP (RFC 5321 happy path) for smtplib: EHLO/HELO, STARTTLS, AUTH, MAIL, RCPT,
    DATA, QUIT. With `tls` ("starttls" or "implicit") it serves the certificate of `certs`.
    `log` keeps each session's verbs and whether TLS was on when each arrived."""

    def __init__(self, tls: str | None = None, certs: TestCA | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.log: list[tuple[str, bool]] = []
        receiver = self
        context = certs.server_context() if certs else None

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                self.tls = False
                if tls == "implicit":
                    assert context is not None
                    self.request = context.wrap_socket(self.request, server_side=True)
                    self.tls = True
                super().setup()

            def handle(self) -> None:
                def say(line: str) -> None:
                    self.wfile.write((line + "\r\n").encode())
                    self.wfile.flush()

                say("220 localhost test SMTP")
                mail: dict[str, Any] = {"rcpt": []}
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    cmd = raw.decode().strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    receiver.log.append((verb, self.tls))
                    if verb in ("EHLO", "HELO"):
                        extra = ["250-STARTTLS"] if tls == "starttls" and not self.tls else []
                        for line in ["250-localhost", *extra, "250 AUTH PLAIN LOGIN"]:
                            say(line)
                    elif verb == "STARTTLS" and tls == "starttls" and context is not None:
                        say("220 go ahead")
                        self.request = context.wrap_socket(self.request, server_side=True)
                        self.tls = True
                        self.rfile = self.request.makefile("rb")
                        self.wfile = self.request.makefile("wb")
                    elif verb == "AUTH":
                        mail["auth"] = cmd
                        say("235 authenticated")
                    elif verb == "MAIL":
                        mail["from"] = cmd
                        say("250 OK")
                    elif verb == "RCPT":
                        mail["rcpt"].append(cmd)
                        say("250 OK")
                    elif verb == "DATA":
                        say("354 end with .")
                        lines = []
                        while (line := self.rfile.readline().decode()) not in (".\r\n", ""):
                            lines.append(line)
                        mail["data"] = "".join(lines)
                        mail["tls"] = self.tls
                        receiver.messages.append(mail)
                        mail = {"rcpt": []}
                        say("250 queued")
                    elif verb == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TestCA:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost, written as PEM."""

    __test__ = False  # not a test class

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        def name(cn: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(name("wms-ops test CA"))
              .issuer_name(name("wms-ops test CA")).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5))
              .not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(
                  digital_signature=True, content_commitment=False, key_encipherment=False,
                  data_encipherment=False, key_agreement=False, key_cert_sign=True,
                  crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
        alt = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        cert = (x509.CertificateBuilder().subject_name(name("localhost"))
                .issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=1))
                .add_extension(alt, critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(pem))
        self.cert_file = directory / "server.pem"
        self.cert_file.write_bytes(cert.public_bytes(pem))
        self.key_file = directory / "server.key"
        self.key_file.write_bytes(key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context
