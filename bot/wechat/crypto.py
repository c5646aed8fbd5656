"""WeChat message signatures and AES message encryption (安全模式 / 兼容模式), lean enough for the hot path.

The algorithm is WeChat's: AES-256-CBC with the EncodingAESKey (base64 of 32 bytes; IV = its first 16 bytes),
PKCS#7 padding to 32-byte blocks, and a plaintext of 16 random bytes + 4-byte big-endian length + the XML +
the AppID. We implement it on `cryptography` directly instead of wechatpy's `WeChatCrypto` because the webhook
does it for every message and wechatpy's version parses and renders the XML envelope again with xmltodict;
tests check both against each other and against Tencent's published vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    """The payload cannot be decrypted with any configured key."""


class AppIdMismatch(CryptoError):
    """The payload decrypted, but it was encrypted for another AppID."""


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify(expected: str | None, *parts: str) -> bool:
    """Constant-time check of a signature sent by WeChat."""
    if not expected:
        return False
    return hmac.compare_digest(signature(*parts).encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class _Key:
    key: bytes
    iv: bytes

    @classmethod
    def from_encoding_aes_key(cls, encoding_aes_key: str) -> _Key:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not valid base64") from exc
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        return cls(key, key[:16])


class MessageCrypto:
    """Encrypts replies with the current key; decrypts with the current key, then the previous one."""

    def __init__(self, token: str, aes_keys: Sequence[str], appid: str) -> None:
        if not aes_keys:
            raise ValueError("at least one EncodingAESKey is needed")
        self.token = token
        self.appid = appid
        self._appid_bytes = appid.encode()
        self._keys = [_Key.from_encoding_aes_key(k) for k in aes_keys]

    def verify_msg_signature(self, msg_signature: str | None, timestamp: str, nonce: str, encrypted: str) -> bool:
        return verify(msg_signature, self.token, timestamp, nonce, encrypted)

    def decrypt(self, encrypted: str) -> bytes:
        """The XML inside `encrypted`; raises AppIdMismatch or CryptoError."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("encrypted payload is not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("encrypted payload has a bad length")
        mismatch = False
        for k in self._keys:
            dec = Cipher(algorithms.AES(k.key), modes.CBC(k.iv)).decryptor()
            plain = dec.update(data) + dec.finalize()
            pad = plain[-1]
            if not 1 <= pad <= BLOCK or pad > len(plain) - 20:
                continue
            body = plain[16:-pad]
            (length,) = struct.unpack(">I", body[:4])
            if length > len(body) - 4:
                continue
            if body[4 + length :] != self._appid_bytes:
                mismatch = True
                continue
            return body[4 : 4 + length]
        if mismatch:
            raise AppIdMismatch("payload was encrypted for another AppID")
        raise CryptoError("payload cannot be decrypted with the configured EncodingAESKey")

    def encrypt(self, xml: bytes, random_prefix: bytes | None = None) -> str:
        """Base64 ciphertext of `xml` for this AppID; `random_prefix` (16 bytes) is fixed only in tests."""
        prefix = os.urandom(16) if random_prefix is None else random_prefix
        body = prefix + struct.pack(">I", len(xml)) + xml + self._appid_bytes
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        k = self._keys[0]
        enc = Cipher(algorithms.AES(k.key), modes.CBC(k.iv)).encryptor()
        return base64.b64encode(enc.update(body) + enc.finalize()).decode()

    def envelope(self, xml: bytes, nonce: str, timestamp: str, random_prefix: bytes | None = None) -> bytes:
        """The encrypted reply envelope WeChat expects (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        encrypted = self.encrypt(xml, random_prefix)
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml>\n<Encrypt><![CDATA[{encrypted}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
        ).encode()
