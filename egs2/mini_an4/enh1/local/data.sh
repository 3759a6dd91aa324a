#!/usr/bin/env bash
# AN4 -> Kaldi-style data/{train,dev,test} (stage 1 of enh_ssl.sh; run.sh gives
# the corpus options through --local_data_opts).  With --an4_root empty, CMU's
# an4_sphere.tar.gz is downloaded into --download_dir and extracted there.
# Every audio file is validated (readable, mono, 16 kHz, >= 400 samples, not
# silent); bad files stop the stage with the list of utterances and reasons,
# unless --skip_bad_audio true.
set -e -u -o pipefail

an4_root=""
download_dir=downloads
num_dev_spk=3           # training speakers held out as dev
skip_bad_audio=false    # true: leave invalid audio out (listed in data/bad_audio.txt)
data=data
python=python
help_message="Usage: $0 [--an4_root DIR] [--download_dir downloads] [--num_dev_spk 3] [--skip_bad_audio false] [--data data]"

. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: unexpected arguments: $*" >&2; exit 1; }
[ -z "${an4_root}" ] || [ -d "${an4_root}" ] || { echo "$0: --an4_root ${an4_root} is not a directory" >&2; exit 1; }

${python} -m espnet2_ext.bin.prep_an4 \
    --an4_root "${an4_root}" --download_dir "${download_dir}" --data_dir "${data}" \
    --num_dev_spk "${num_dev_spk}" --skip_bad_audio "${skip_bad_audio}"
