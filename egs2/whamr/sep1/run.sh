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
# --upstream wav2vec2_asr_base_960h (default): the ASR-encoder embedding loss
# (ssl_mse through wav2vec 2.0 fine-tuned for ASR on LibriSpeech 960 h);
# hubert_base: the SSL-feature loss.  Both are torchaudio bundles (downloaded
# into $TORCH_HOME on first use; offline: checkpoint:/path, see README).
set -e -u -o pipefail

whamr_root=""
fs=16k
mode=min
mix=mix_both_reverb
wsj0_text=""       # Kaldi text keyed by WSJ0 utterance id; empty: no WER (stage 6 skipped)
# (paths given here must not contain blanks)
upstream=wav2vec2_asr_base_960h

. ./path.sh
# pocketsphinx with its own US-English model, dictionary and LM (WSJ's vocabulary)
sphinx_model=$(python -c 'from pocketsphinx import get_model_path; print(get_model_path())' 2>/dev/null || true)

opts=()
while [ $# -gt 0 ]; do  # the corpus options; everything else goes to enh_ssl.sh
    case "$1" in
        --whamr_root|--fs|--mode|--mix|--wsj0_text|--upstream)
            [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; exit 1; }
            declare "${1#--}=$2"; shift 2 ;;
        *) opts+=("$1"); shift ;;
    esac
done
[ -n "${whamr_root}" ] || { echo "$0: --whamr_root is required" >&2; exit 1; }
whamr_root=$(cd "${whamr_root}" && pwd)
data_opts="--whamr_root ${whamr_root} --fs ${fs} --mode ${mode} --mix ${mix}"
[ -z "${wsj0_text}" ] || data_opts+=" --transcripts $(readlink -f "${wsj0_text}")"

./enh_ssl.sh \
    --num_spk 2 \
    --local_data_opts "${data_opts}" \
    --simulate false \
    --ref_prefix spk \
    --upstream "${upstream}" \
    --sep_losses "si_snr ssl_mse" \
    --eval_sets test \
    --sphinx_dict "${sphinx_model}/en-us/cmudict-en-us.dict" \
    --sphinx_lm "${sphinx_model}/en-us/en-us.lm.bin" \
    --conf_dir conf \
    --nj 8 \
    --ngpu 1 \
    "${opts[@]}"
