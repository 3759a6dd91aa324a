#!/usr/bin/env bash
# mini_an4/sep1: transcription-free fine-tuning of a two-speaker separator for
# multi-speaker ASR, through a frozen encoder under guided PIT, on WHAMR!-style
# mixtures (offsets, reverberation, noise) simulated from a small AN4 subset.
# Only corpus settings live here; the stages are in
# ../../TEMPLATE/enh_ssl1/enh_ssl.sh (./enh_ssl.sh --help lists every option).
#
#   ./run.sh --an4_root /path/to/an4 --noise_dir /path/to/noise   # whole recipe
#   ./run.sh --stage 3                                            # resume at training
#   ./run.sh --conf_dir conf/tiny --upstream tiny ...              # the 2-epoch test configs
#   ./run.sh --sep_losses "si_snr ssl_mse ssl_sdtw"                # also the soft-DTW loss
#
# Corpus options (given to local/data.sh, that of ../enh1): --an4_root,
# --download_dir, --num_dev_spk (6 here), --skip_bad_audio.
set -e -u -o pipefail

an4_root=""
download_dir=downloads
local_data_opts="--num_dev_spk 6"
corpus_options="an4_root download_dir num_dev_spk skip_bad_audio"
. utils/corpus_opts.sh "$@"
[ -z "${an4_root}" ] || [ -d "${an4_root}" ] || { echo "$0: --an4_root ${an4_root} is not a directory" >&2; exit 1; }
an4=${an4_root:-${download_dir}/an4}   # pocketsphinx with AN4's dictionary and LM (stage 6)

./enh_ssl.sh \
    --num_spk 2 \
    --local_data_opts "${local_data_opts}" \
    --snrs "10 15 20" \
    --reverb true \
    --rt60 "0.2 0.4" \
    --offsets "0.2 1.0" \
    --sir_range "0 5" \
    --ref_prefix spk \
    --upstream whisper_tiny_en \
    --seeds "0 1 2" \
    --sep_losses "si_snr ssl_mse" \
    --eval_sets test \
    --recognizers "sphinx whisper" \
    --whisper_recognizer whisper_base \
    --probe true \
    --probe_opts "--max_utts 8" \
    --sphinx_dict "${an4}/etc/an4.dic" \
    --sphinx_lm "${an4}/etc/an4.ug.lm" \
    --sphinx_desc "AN4 dictionary and LM" \
    --conf_dir conf \
    --nj 2 \
    --train_threads 1 \
    --parallel_models true \
    "${enh_ssl_opts[@]}"
