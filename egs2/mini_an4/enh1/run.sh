#!/usr/bin/env bash
# mini_an4/enh1: SE front-ends fine-tuned through a frozen SSL model on a small
# AN4 subset.  Only corpus settings live here; the stages are in
# ../../TEMPLATE/enh_ssl1/enh_ssl.sh (./enh_ssl.sh --help lists every option).
#
#   ./run.sh --an4_root /path/to/an4 --noise_dir /path/to/noise   # whole recipe
#   ./run.sh --stage 3                                            # resume at training
#   ./run.sh --conf_dir conf/tiny ...                              # the 1-2 epoch test configs
set -e -u -o pipefail

an4_root=""        # empty: CMU's an4_sphere.tar.gz is downloaded into downloads/
noise_dir=""       # empty: generated coloured noise + babble

./enh_ssl.sh \
    --an4_root "${an4_root}" \
    --noise_dir "${noise_dir}" \
    --num_dev_spk 4 \
    --snrs "20 10 5 0" \
    --upstream tiny \
    --ssl_losses "ssl_mse ssl_mse_pad ssl_sdtw" \
    --conf_dir conf \
    --nj 2 \
    --parallel_models true \
    "$@"
