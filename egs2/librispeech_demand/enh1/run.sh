#!/usr/bin/env bash
# librispeech_demand/enh1: SE front-ends fine-tuned through a frozen SSL model
# (HuBERT / WavLM) on LibriSpeech clean speech mixed with DEMAND noise, scored
# by signal metrics, an independent recognizer and two SUPERB-style downstream
# tasks (ASR: WER, phoneme recognition: PER), on test-clean with seen and with
# unseen noise environments.  Only corpus settings live here; the stages are in
# ../../TEMPLATE/enh_ssl1/enh_ssl.sh (./enh_ssl.sh --help lists every option).
#
#   ./run.sh --librispeech_root /data/LibriSpeech --demand_root /data/DEMAND
#   ./run.sh ... --upstream wavlm_base_plus --exp exp_wavlm --results RESULTS_wavlm.md
#   ./run.sh ... --train_subset train-clean-360
#   ./run.sh ... --stage 3                                   # resume at training
#
# --librispeech_root: the folder holding train-clean-100/, dev-clean/, test-clean/
# (<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac + <spk>-<chapter>.trans.txt).
# --demand_root: the folder holding DEMAND's 16 kHz environments, <ENV>/ch01.wav.
# --upstream: hubert_base (default) or wavlm_base_plus, torchaudio bundles
# downloaded into $TORCH_HOME on first use (offline: checkpoint:/path, see README).
set -e -u -o pipefail

librispeech_root=""
demand_root=""
train_subset=train-clean-100
dev_subset=dev-clean
test_subset=test-clean
upstream=hubert_base
# (paths given here must not contain blanks)

. ./path.sh
# pocketsphinx with its own US-English model, CMU dictionary and LM (stage 6)
sphinx_model=$(python -c 'from pocketsphinx import get_model_path; print(get_model_path())' 2>/dev/null || true)

opts=()
while [ $# -gt 0 ]; do  # the corpus options; everything else goes to enh_ssl.sh
    case "$1" in
        --librispeech_root|--demand_root|--train_subset|--dev_subset|--test_subset|--upstream)
            [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; exit 1; }
            declare "${1#--}=$2"; shift 2 ;;
        --help|-h) exec ./enh_ssl.sh --help ;;
        *) opts+=("$1"); shift ;;
    esac
done
[ -n "${librispeech_root}" ] || { echo "$0: --librispeech_root is required" >&2; exit 1; }
[ -n "${demand_root}" ] || { echo "$0: --demand_root is required" >&2; exit 1; }
for d in "${librispeech_root}" "${demand_root}"; do
    [ -d "${d}" ] || { echo "$0: ${d} is not a directory" >&2; exit 1; }
done
librispeech_root=$(cd "${librispeech_root}" && pwd)
demand_root=$(cd "${demand_root}" && pwd)
data_opts="--librispeech_root ${librispeech_root} --demand_root ${demand_root}"
data_opts+=" --train_subset ${train_subset} --dev_subset ${dev_subset} --test_subset ${test_subset}"

./enh_ssl.sh \
    --local_data_opts "${data_opts}" \
    --snrs "20 10 5" \
    --upstream "${upstream}" \
    --ssl_losses "ssl_mse ssl_mse_pad ssl_sdtw" \
    --eval_sets "dev test_seen test_unseen" \
    --asr_set "test_seen test_unseen" \
    --downstream_tasks "asr pr" \
    --sphinx_dict "${sphinx_model}/en-us/cmudict-en-us.dict" \
    --sphinx_lm "${sphinx_model}/en-us/en-us.lm.bin" \
    --conf_dir conf \
    --nj 8 \
    --ngpu 1 \
    "${opts[@]}"
