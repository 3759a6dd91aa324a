#!/usr/bin/env bash
# LibriSpeech + DEMAND -> Kaldi-style data/{train,dev,test_seen,test_unseen}
# (stage 1 of enh_ssl.sh; run.sh gives --librispeech_root DIR --demand_root DIR
# ... through --local_data_opts).  Every LibriSpeech file is validated
# (readable, mono, 16 kHz, >= 400 samples, not silent); bad files stop the
# stage with the list of utterances and reasons, unless --skip_bad_audio true.
# Each set gets the DEMAND recordings it is mixed with in stage 2
# (data/SET/noise_sources.scp): the 12 seen environments for train, dev and
# test_seen, the 6 unseen ones for test_unseen.
set -e -u -o pipefail

librispeech_root=""
demand_root=""
train_subset=train-clean-100
dev_subset=dev-clean
test_subset=test-clean
skip_bad_audio=false
data=data
python=python
help_message="Usage: $0 --librispeech_root DIR --demand_root DIR [--train_subset train-clean-100] [--dev_subset dev-clean] [--test_subset test-clean] [--skip_bad_audio false] [--data data]"

. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected arguments: $*" >&2; exit 1; }
for opt in librispeech_root demand_root; do
    [ -n "${!opt}" ] || { echo "$0: --${opt} is required (run.sh --${opt} DIR)" >&2; exit 1; }
    [ -d "${!opt}" ] || { echo "$0: --${opt} ${!opt} is not a directory" >&2; exit 1; }
done

${python} -m espnet2_ext.bin.prep_librispeech_demand \
    --librispeech_root "${librispeech_root}" --demand_root "${demand_root}" --data_dir "${data}" \
    --train_subset "${train_subset}" --dev_subset "${dev_subset}" --test_subset "${test_subset}" \
    --skip_bad_audio "${skip_bad_audio}"
