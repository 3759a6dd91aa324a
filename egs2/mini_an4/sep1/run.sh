#!/usr/bin/env bash
# mini_an4/sep1: transcription-free fine-tuning of a two-speaker separator for
# multi-speaker ASR, through a frozen encoder under guided PIT, on WHAMR!-style
# mixtures (offsets, reverberation, noise) simulated from a small AN4 subset.
# Only corpus settings live here; the stages are in
# ../../TEMPLATE/enh_ssl1/enh_ssl.sh (./enh_ssl.sh --help lists every option).
#
#   ./run.sh --an4_root /path/to/an4 --noise_dir /path/to/noise   # whole recipe
#   ./run.sh --stage 3                                            # resume at training
#   ./run.sh --conf_dir conf/tiny ...                              # the 2-epoch test configs
#   ./run.sh --sep_losses "si_snr ssl_mse ssl_sdtw"                # also the soft-DTW loss
set -e -u -o pipefail

an4_root=""        # empty: CMU's an4_sphere.tar.gz is downloaded into downloads/
noise_dir=""       # empty: generated coloured noise

./enh_ssl.sh \
    --num_spk 2 \
    --an4_root "${an4_root}" \
    --noise_dir "${noise_dir}" \
    --num_dev_spk 6 \
    --snrs "10 15 20" \
    --reverb true \
    --rt60 "0.2 0.4" \
    --offsets "0.2 1.0" \
    --sir_range "0 5" \
    --ref_prefix spk \
    --upstream tiny \
    --sep_losses "si_snr ssl_mse" \
    --eval_sets test \
    --conf_dir conf \
    --nj 2 \
    --parallel_models true \
    "$@"
