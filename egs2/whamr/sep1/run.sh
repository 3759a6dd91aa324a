#!/usr/bin/env bash
# whamr/sep1: transcription-free fine-tuning of a two-speaker separator for
# multi-speaker ASR on WHAMR! (noisy, reverberant two-speaker mixtures), through
# a frozen encoder under guided PIT.  Only corpus settings live here; the
# stages are in ../../TEMPLATE/enh_ssl1/enh_ssl.sh (./enh_ssl.sh --help).
#
#   ./run.sh --whamr_root /data/whamr                      # wav16k/min, mix_both_reverb
#   ./run.sh --whamr_root /data/whamr --fs 8k              # 8 kHz, resampled to 16 kHz
#   ./run.sh --whamr_root ... --wsj0_text data/local/wsj0.text   # + cpWER (stage 6)
#   ./run.sh --whamr_root ... --upstream hubert_base --exp exp_hubert
#   ./run.sh --whamr_root ... --init_param /path/base/valid.loss.best.pth  # skip base training
#
# Corpus options (given to local/data.sh): --whamr_root, --fs 8k|16k, --mode
# min|max, --mix, --ref reverb|anechoic, --wsj0_text (Kaldi text keyed by WSJ0
# utterance id; empty: no WER, stage 6 skipped).
# --upstream wav2vec2_asr_base_960h (default): the ASR-encoder embedding loss
# (ssl_mse through wav2vec 2.0 fine-tuned for ASR on LibriSpeech 960 h);
# hubert_base: the SSL-feature loss.  Both are torchaudio bundles (downloaded
# into $TORCH_HOME on first use; offline: checkpoint:/path, see README).
# Stage 6 uses pocketsphinx's own model, dictionary and LM (WSJ's vocabulary).
set -e -u -o pipefail

local_data_opts=""
corpus_options="whamr_root fs mode mix ref wsj0_text"
. utils/corpus_opts.sh "$@"

./enh_ssl.sh \
    --num_spk 2 \
    --local_data_opts "${local_data_opts}" \
    --simulate false \
    --ref_prefix spk \
    --upstream wav2vec2_asr_base_960h \
    --sep_losses "si_snr ssl_mse" \
    --eval_sets test \
    --conf_dir conf \
    --nj 8 \
    --ngpu 1 \
    "${enh_ssl_opts[@]}"
