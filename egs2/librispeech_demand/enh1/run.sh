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
# Corpus options (given to local/data.sh): --librispeech_root, the folder
# holding train-clean-100/, dev-clean/, test-clean/
# (<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac + <spk>-<chapter>.trans.txt);
# --demand_root, the folder holding DEMAND's 16 kHz environments, <ENV>/ch01.wav;
# --train_subset, --dev_subset, --test_subset, --skip_bad_audio.
# --upstream: hubert_base (default) or wavlm_base_plus, torchaudio bundles
# downloaded into $TORCH_HOME on first use (offline: checkpoint:/path, see README).
# Stage 6 uses pocketsphinx's own CMU dictionary and en-us LM.
set -e -u -o pipefail

local_data_opts=""
corpus_options="librispeech_root demand_root train_subset dev_subset test_subset skip_bad_audio"
. utils/corpus_opts.sh "$@"

./enh_ssl.sh \
    --local_data_opts "${local_data_opts}" \
    --snrs "20 10 5" \
    --upstream hubert_base \
    --ssl_losses "ssl_mse ssl_mse_pad ssl_sdtw" \
    --eval_sets "dev test_seen test_unseen" \
    --asr_set "test_seen test_unseen" \
    --downstream_tasks "asr pr" \
    --conf_dir conf \
    --nj 8 \
    --ngpu 1 \
    "${enh_ssl_opts[@]}"
