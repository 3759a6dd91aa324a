# Environment of the recipe (sourced by enh_ssl.sh).
# Recipes link here.  The repository root is three levels up from this file
# (egs2/TEMPLATE/enh_ssl1, or egs2/<corpus>/<recipe> for a copy;
# symbolic links resolved); its .venv,
# when present, provides `python`, and the root goes on PYTHONPATH so that
# espnet2_ext is importable without installing it.
ESPNET2_EXT_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
export ESPNET2_EXT_ROOT
if [ -x "${ESPNET2_EXT_ROOT}/.venv/bin/python" ]; then
    export PATH="${ESPNET2_EXT_ROOT}/.venv/bin:${PATH}"
fi
export PYTHONPATH="${ESPNET2_EXT_ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
export LC_ALL=C
export PYTHONIOENCODING=UTF-8
# ESPnet/torch threads: the launcher sets OMP_NUM_THREADS per job (--num_threads)
export TOKENIZERS_PARALLELISM=false
