#!/usr/bin/env bash
# WHAMR! -> Kaldi-style separation data dirs data/{train,dev,test} (stage 1 of
# enh_ssl.sh; run.sh gives --whamr_root DIR ... through --local_data_opts).
# WHAMR! is not downloadable here: generate it with the official scripts
# (wham_noise + wsj0-2mix + whamr_scripts) and give its output folder.
# Audio at another rate than --target_fs (the encoder's, 16 kHz) is resampled
# into --dump_dir; 16 kHz audio is used in place.
set -e -u -o pipefail

whamr_root=""
fs=16k                 # 8k or 16k (WHAMR!'s wav8k / wav16k)
mode=min               # min or max
mix=mix_both_reverb    # mix_both_reverb (noise + reverb), mix_single_reverb, mix_clean_reverb, *_anechoic
ref=reverb             # sources in spk{1,2}.scp: reverb or anechoic (dereverb{1,2}.scp: always anechoic)
target_fs=16000
dump_dir=dump/whamr
wsj0_text=""           # Kaldi text keyed by WSJ0 utterance id (e.g. from WSJ0's .dot files): text_spk{1,2}
data=data
python=python
help_message="Usage: $0 --whamr_root DIR [--fs 16k|8k] [--mode min|max] [--mix mix_both_reverb] [--ref reverb|anechoic] [--wsj0_text text] [--dump_dir dump/whamr] [--data data]"

. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected arguments: $*" >&2; exit 1; }
[ -n "${whamr_root}" ] || { echo "$0: --whamr_root is required (run.sh --whamr_root DIR)" >&2; exit 1; }

${python} -m espnet2_ext.bin.prep_whamr \
    --whamr_root "${whamr_root}" --data_dir "${data}" --fs "${fs}" --mode "${mode}" \
    --mix "${mix}" --ref "${ref}" --target_fs "${target_fs}" --dump_dir "${dump_dir}" \
    --transcripts "${wsj0_text}"
