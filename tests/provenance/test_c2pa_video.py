"""A validly signed C2PA manifest in an MP4, made at test time and offline.

A 1-second benign clip (PyAV) is signed with ``c2pa-python``'s :class:`Builder` by an ES256
end-entity certificate issued by a throwaway test CA (both made with ``cryptography``), with a
``c2pa.created`` action whose digital source type is ``trainedAlgorithmicMedia``. No trust
anchors are configured, so Verisight must read it as ``valid`` with ``signingCredential.untrusted``;
a byte changed in the ``mdat`` payload after signing must give ``assertion.bmffHash.mismatch``.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from verisight.analysis import analyse_bytes, analyse_path
from verisight.analysis.provenance.containers import find_bmff_c2pa
from verisight.analysis.provenance.limits import DEFAULT_LIMITS
from verisight.analysis.provenance.model import ProvenanceReport
from verisight.case import Case, media_json
from verisight.demo_video import make_video
from verisight.limits import Limits

c2pa = pytest.importorskip("c2pa", reason="c2pa-python signs and validates manifests")

AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATOR = "verisight-test-signer"
ORG = "Verisight test fixtures"
WHERE = "ISOBMFF C2PA uuid box"
#: Text of x264's SEI user-data NAL in the first access unit: inside ``mdat``, so covered by the
#: manifest's BMFF hash, and ignored by the decoder (the tampered clip still decodes).
X264_SEI = b"x264 - core"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
        ]
    )


def _key_usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not sign,
        crl_sign=not sign,
        encipher_only=False,
        decipher_only=False,
    )


def _test_chain() -> tuple[bytes, bytes]:
    """A CA and an end-entity certificate (PEM chain, leaf first) and the leaf's PKCS#8 key.

    C2PA's certificate profile wants a leaf that is not a CA, has ``digitalSignature`` key usage
    and an allowed extended key usage (here ``emailProtection``), issued by a separate CA.
    """
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())

    def builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> Any:
        return (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )

    ca = (
        builder("Verisight Test Root CA", _name("Verisight Test Root CA"), ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        builder("Verisight Test Signer", ca.subject, leaf_key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return leaf.public_bytes(pem) + ca.public_bytes(pem), key


def _sign(video: bytes) -> bytes:
    chain, key = _test_chain()
    manifest = {
        "claim_generator_info": [{"name": GENERATOR, "version": "1.0"}],
        "title": "generated.mp4",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [{"action": "c2pa.created", "digitalSourceType": AI_SOURCE_TYPE}]
                },
            }
        ],
    }
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)  # no TSA: offline
    out = io.BytesIO()
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
        builder.sign(signer, "video/mp4", io.BytesIO(video), out)
    return out.getvalue()


@pytest.fixture(scope="module")
def clip() -> bytes:
    return make_video(1, fps=10, size=(160, 120), seed=5)


@pytest.fixture(scope="module")
def signed(clip: bytes) -> bytes:
    return _sign(clip)


@pytest.fixture(scope="module")
def tampered(signed: bytes) -> bytes:
    assert signed.count(X264_SEI) == 1
    return signed.replace(X264_SEI, X264_SEI.upper())


def _provenance(data: bytes, tmp_path: Path) -> ProvenanceReport:
    """The video's report from its bytes, checked equal to the one streamed from its path."""
    rec = analyse_bytes(data, Limits())
    assert rec.kind == "video" and rec.error is None
    assert rec.video is not None and rec.video.frames  # the clip itself still decodes
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    assert analyse_path(path, Limits()).provenance == rec.provenance
    assert rec.provenance is not None and rec.provenance.parse_errors == ()
    return rec.provenance


def test_signing_embeds_a_c2pa_uuid_box(clip: bytes, signed: bytes) -> None:
    assert find_bmff_c2pa(io.BytesIO(clip), DEFAULT_LIMITS) == (None, [])
    assert find_bmff_c2pa(io.BytesIO(signed), DEFAULT_LIMITS) == (WHERE, [])


def test_signed_mp4_is_valid_untrusted_and_ai_declared(signed: bytes, tmp_path: Path) -> None:
    p = _provenance(signed, tmp_path)
    c = p.c2pa
    assert c is not None
    assert (c.state, c.embedded, c.error) == ("valid", True, None)
    assert [s.code for s in c.problems] == ["signingCredential.untrusted"]
    assert c.claim_generator == GENERATOR and c.claim_generator_names == (GENERATOR,)
    assert c.signature_issuer == ORG
    assert [(a.action, a.digital_source_type, a.active) for a in c.actions] == [
        ("c2pa.created", "trainedAlgorithmicMedia", True)
    ]
    assert c.digital_source_types == ("trainedAlgorithmicMedia",)
    assert p.provenance == "ai-declared" and not p.conflict and p.conflict_reasons == ()
    by_kind = {e.kind: e for e in p.evidence}
    manifest, action = by_kind["c2pa-manifest"], by_kind["c2pa-action"]
    assert manifest.source == f"C2PA manifest ({WHERE})"
    assert manifest.value == f"valid; claim generator {GENERATOR}"
    assert "signingCredential.untrusted" in manifest.excerpt
    assert (action.value, action.signal) == ("trainedAlgorithmicMedia", "ai-generated")


def test_payload_changed_after_signing_is_a_conflict(tampered: bytes, tmp_path: Path) -> None:
    p = _provenance(tampered, tmp_path)
    c = p.c2pa
    assert c is not None and c.state == "invalid"
    assert {s.code for s in c.problems} == {
        "signingCredential.untrusted",
        "assertion.bmffHash.mismatch",
    }
    assert c.claim_generator == GENERATOR  # what the file declares is still reported
    assert p.provenance == "ai-declared"
    assert p.conflict
    assert p.conflict_reasons == ("C2PA manifest fails validation: assertion.bmffHash.mismatch",)


def test_scan_stores_the_video_manifest(
    signed: bytes, tampered: bytes, tmp_path: Path, database_url: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "signed.mp4").write_bytes(signed)
    (src / "tampered.mp4").write_bytes(tampered)
    case = Case(tmp_path / "case", database_url, create=True)
    try:
        case.scan([src], workers=1)
        by_name = {Path(m.sightings[0].path).name: media_json(m) for m in case.media()}
    finally:
        case.close()
    good, bad = by_name["signed.mp4"], by_name["tampered.mp4"]
    assert good["provenance"] == bad["provenance"] == "ai-declared"
    assert (good["c2pa"]["state"], good["provenance_conflict"]) == ("valid", False)
    assert good["c2pa"]["claim_generator"] == GENERATOR
    assert good["c2pa"]["digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert (bad["c2pa"]["state"], bad["provenance_conflict"]) == ("invalid", True)
