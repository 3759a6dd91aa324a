#!/usr/bin/env bash
# mini_an4/enh1: SE front-ends fine-tuned through a frozen SSL model on a small
# AN4 subset.  Only corpus settings live here; the stages are in
# ../../TEMPLATE/enh_ssl1/enh_ssl.sh (./enh_ssl.sh --help lists every option).
#
#   ./run.sh --an4_root /path/to/an4 --noise_dir /path/to/noise   # whole recipe
#   ./run.sh --stage 3                                            # resume at training
#   ./run.sh --conf_dir conf/tiny --upstream tiny ...              # the 1-2 epoch test configs
#   ./run.sh --downstream_tasks asr                               # also stage 7 (off here: see README)
#
# Corpus options (given to local/data.sh): --an4_root (empty: CMU's
# an4_sphere.tar.gz is downloaded into --download_dir), --download_dir
# (downloads), --num_dev_spk (4 here), --skip_bad_audio (false).
set -e -u -o pipefail

an4_root=""
download_dir=downloads
local_data_opts="--num_dev_spk 4"
corpus_options="an4_root download_dir num_dev_spk skip_bad_audio"
. utils/corpus_opts.sh "$@"
[ -z "${an4_root}" ] || [ -d "${an4_root}" ] || { echo "$0: --an4_root ${an4_root} is not a directory" >&2; exit 1; }
an4=${an4_root:-${download_dir}/an4}   # pocketsphinx with AN4's dictionary and LM (stage 6)

./enh_ssl.sh \
    --local_data_opts "${local_data_opts}" \
    --snrs "20 10 5 0" \
    --upstream whisper_tiny_en \
    --seeds "0 1 2" \
    --ssl_losses "ssl_mse ssl_mse_pad ssl_sdtw" \
    --recognizers "sphinx whisper" \
    --whisper_recognizer whisper_base \
    --probe true \
    --probe_opts "--max_utts 8" \
    --downstream_tasks "" \
    --sphinx_dict "${an4}/etc/an4.dic" \
    --sphinx_lm "${an4}/etc/an4.ug.lm" \
    --sphinx_desc "AN4 dictionary and LM" \
    --conf_dir conf \
    --nj 2 \
    --train_threads 1 \
    --parallel_models true \
    "${enh_ssl_opts[@]}"
