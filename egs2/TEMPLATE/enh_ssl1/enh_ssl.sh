#!/usr/bin/env bash
# Speech enhancement fine-tuned through a frozen SSL model, with ESPnet.
#
# Stages (--stage N --stop_stage M):
#   1 data preparation (AN4 reader + audio validation -> data/{train,dev,test})
#   2 noisy (optionally reverberant) simulation -> data/{train,dev,test}_noisy
#     (every set of train, dev, --eval_sets, --asr_set; a set whose clean dir
#     has noise_sources.scp, NAME PATH per line, takes its noise from exactly
#     those recordings, e.g. seen vs unseen DEMAND environments)
#   3 enhancement training: stats, base model (si_snr), one fine-tune per SSL loss
#   4 enhancement of the dev and test sets with every model
#   5 signal scores: SI-SDR, PESQ, STOI, ESTOI
#   6 independent ASR (pocketsphinx, AN4 dictionary + LM): WER
#   7 SUPERB-style downstream tasks (frozen SSL, weighted layer sum, BLSTM-CTC),
#     --downstream_tasks: asr (characters, WER) and/or pr (phonemes from the
#     CMU dictionary, PER)
#   8 report: RESULTS.md + convergence plot
#
# With --num_spk 2 (separation; egs2/*/sep1) the same stages handle two-speaker
# mixtures: stage 2 simulates WHAMR!-style mixtures (or, with --simulate
# false, uses the mixtures local/data.sh gave), stage 3 trains a base separator
# (PIT over SI-SNR) and one fine-tuned copy per --sep_losses (configs
# sep_base.yaml, sep_finetune_LOSS.yaml), stage 5 scores SI-SDR(i)/STOI under
# the best permutation, stage 6 gives cpWER/ORC-WER (meeteval) of the separated
# streams, stage 7 is skipped, stage 8 adds the encoder passes of pit vs gpit.
#
# Every step writes a ".done" marker last; the marker holds a signature of the
# step's inputs (options, config contents, upstream markers), so a rerun skips
# finished steps and redoes a step whose inputs changed.
#
# Run from a recipe directory (egs2/<corpus>/enh1) that has path.sh, cmd.sh,
# conf/ and local/data.sh.  Written for espnet2_ext; ESPnet's enh.sh/asr.sh
# conventions (collect_stats, shape files, $cmd JOB=1:N) are followed.
set -e
set -u
set -o pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
die() { log "ERROR: $*" >&2; exit 1; }
min() { local a=$1; shift; for b in "$@"; do [ "$b" -lt "$a" ] && a=$b; done; echo "$a"; }

SECONDS=0

# ---------------------------------------------------------------- options
stage=1                 # first stage to run
stop_stage=100          # last stage to run
nj=2                    # parallel jobs of collect_stats
inference_nj=""         # parallel jobs of enhancement / ASR decoding (default: --nj)
ngpu=0                  # GPUs for training / inference (0: CPU)
train_threads=2         # CPU threads of a training job
parallel_models=false   # true: fine-tune (stage 3) and enhance (stage 4) all models at once
python=python           # python interpreter (path.sh puts the repo's .venv first)
num_spk=1               # 1: enhancement; >= 2: separation of N-speaker mixtures

# stage 1
an4_root=""             # extracted AN4 (CMU layout); empty: download into downloads/
download_dir=downloads
num_dev_spk=3           # training speakers held out as dev
skip_bad_audio=false    # true: leave invalid audio out (listed in data/bad_audio.txt)
local_data_opts=""      # extra options to local/data.sh (e.g. a corpus root)
# stage 2
noise_dir=""            # folder of noise recordings; empty: generated (coloured + babble)
snrs="20 10 5 0"        # SNRs (dB) drawn per utterance
reverb=false            # true: pyroomacoustics room impulse responses
train_copies=1          # noisy copies per training utterance
seed=0
simulate=true           # false: data/{train,dev,test} already hold the noisy mixtures (real corpora)
offsets="0 1.0"         # separation: start of speaker 2 after speaker 1 (s, MIN MAX)
sir_range="0 5"         # separation: level of speaker 1 over speaker 2 (dB, MIN MAX)
rt60="0.2 0.5"          # separation with --reverb true: reverberation time (s, MIN MAX)
# stage 3
conf_dir=conf           # where the default configs are
enh_config=""           # base model config (default: ${conf_dir}/enh_base.yaml)
finetune_config=""      # fine-tune config, LOSS = loss name (default: ${conf_dir}/enh_finetune_LOSS.yaml)
ssl_losses="ssl_mse ssl_mse_pad ssl_sdtw"
upstream=tiny           # SSL model of the losses and of the downstream ASR
init_param=""           # an existing base model (.pth): skip base training
base_config=""          # its config.yaml (default: next to --init_param)
enh_args=""             # extra options to enh_train
sep_losses="si_snr ssl_mse"  # separation: fine-tuned models (any criterion with a config)
ref_prefix=spk          # separation: references REF_PREFIXn.scp (spk: as in the mixture, dereverb: dry)
# stage 4-7
eval_sets="dev test"    # sets to enhance and score
asr_set=test            # set(s) for the ASR WERs and the report (e.g. "test_seen test_unseen")
sphinx_dict=""          # pocketsphinx dictionary (default: AN4's etc/an4.dic)
sphinx_lm=""            # pocketsphinx LM (default: AN4's etc/an4.ug.lm)
asr_config=""           # default: ${conf_dir}/asr_superb.yaml
decode_config=""        # default: ${conf_dir}/decode_asr.yaml
asr_args=""             # extra options to asr_train
downstream_tasks=asr    # stage 7: asr (WER) and/or pr (phoneme recognition, PER)
pr_config=""            # default: ${conf_dir}/pr_superb.yaml
phone_dict=""           # pronunciation dictionary of the PR targets (default: pocketsphinx's CMU dict)
# stage 8
results=RESULTS.md
plot=convergence.png

data=data
dump=dump
exp=exp

help_message=$(cat <<EOF
Usage: $0 [options]   (run from the recipe directory)

Stages: 1 data, 2 simulation, 3 enhancement training, 4 enhancement, 5 signal
scores, 6 independent ASR, 7 SUPERB-style ASR, 8 RESULTS.md.  Finished steps
are skipped on rerun (".done" markers).

Options (default):
  --stage ${stage} --stop_stage ${stop_stage} --nj ${nj} --inference_nj N --ngpu ${ngpu} --train_threads ${train_threads}
  --an4_root PATH       extracted AN4 (CMU layout); empty: download into --download_dir
  --download_dir ${download_dir} --num_dev_spk ${num_dev_spk} --skip_bad_audio ${skip_bad_audio}
  --noise_dir PATH      noise recordings; empty: generated coloured noise + babble
  --snrs "${snrs}" --reverb ${reverb} --train_copies ${train_copies} --seed ${seed}
  --conf_dir ${conf_dir} --enh_config FILE --finetune_config FILE_WITH_LOSS
  --ssl_losses "${ssl_losses}" --upstream ${upstream} --parallel_models ${parallel_models}
  --init_param BASE.pth [--base_config config.yaml]   skip base training
  --enh_args "..." --asr_args "..." (extra ESPnet training options)
  --eval_sets "${eval_sets}" --asr_set ${asr_set} --sphinx_dict FILE --sphinx_lm FILE
  --asr_config FILE --decode_config FILE --results ${results} --plot ${plot}
  --downstream_tasks "${downstream_tasks}" (asr and/or pr) --pr_config FILE --phone_dict FILE
  --local_data_opts "..." --simulate ${simulate}   (false: local/data.sh gives the mixtures)
Separation (--num_spk ${num_spk}; >= 2):
  --sep_losses "${sep_losses}" --ref_prefix ${ref_prefix} --offsets "${offsets}"
  --sir_range "${sir_range}" --rt60 "${rt60}"   configs: sep_base.yaml, sep_finetune_LOSS.yaml
EOF
)

log "$0 $*"
run_args="$*"
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
. utils/parse_options.sh
[ $# -eq 0 ] || die "unexpected positional arguments: $*"

# ---------------------------------------------------------------- checks
is_int() { [[ "$1" =~ ^[0-9]+$ ]]; }
for v in stage stop_stage nj ngpu train_threads num_dev_spk train_copies seed num_spk; do
    is_int "${!v}" || die "--${v} must be a non-negative integer, got '${!v}'"
done
[ "${nj}" -ge 1 ] || die "--nj must be >= 1"
inference_nj=${inference_nj:-${nj}}
is_int "${inference_nj}" && [ "${inference_nj}" -ge 1 ] || die "--inference_nj must be >= 1, got '${inference_nj}'"
for s in ${snrs}; do
    [[ "$s" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || die "--snrs: '$s' is not a number (dB)"
done
[ -n "${snrs}" ] || die "--snrs is empty"
[ "${num_spk}" -ge 1 ] || die "--num_spk must be >= 1"
[ "${simulate}" = true ] || [ "${simulate}" = false ] || die "--simulate must be true or false"
if [ "${num_spk}" -eq 1 ]; then
    for l in ${ssl_losses}; do
        case "$l" in ssl_*) ;; *) die "--ssl_losses: '$l' is not an ssl_* criterion" ;; esac
    done
    ft_losses=${ssl_losses}
else
    [[ "${ref_prefix}" =~ ^(spk|dereverb)$ ]] || die "--ref_prefix must be spk or dereverb"
    [ -n "${sep_losses}" ] || die "--sep_losses is empty"
    ft_losses=${sep_losses}
fi
[ -z "${an4_root}" ] || [ -d "${an4_root}" ] || die "--an4_root ${an4_root} is not a directory"
[ -z "${noise_dir}" ] || [ -d "${noise_dir}" ] || die "--noise_dir ${noise_dir} is not a directory"
[ -z "${init_param}" ] || [ -f "${init_param}" ] || die "--init_param ${init_param} does not exist"

if [ "${num_spk}" -eq 1 ]; then _cfg=enh; else _cfg=sep; fi
enh_config=${enh_config:-${conf_dir}/${_cfg}_base.yaml}
finetune_config=${finetune_config:-${conf_dir}/${_cfg}_finetune_LOSS.yaml}
asr_config=${asr_config:-${conf_dir}/asr_superb.yaml}
decode_config=${decode_config:-${conf_dir}/decode_asr.yaml}
if [ -n "${an4_root}" ]; then
    an4_dir=$(cd "${an4_root}" && pwd)
else
    an4_dir=$(pwd)/${download_dir}/an4
fi
sphinx_dict=${sphinx_dict:-${an4_dir}/etc/an4.dic}
sphinx_lm=${sphinx_lm:-${an4_dir}/etc/an4.ug.lm}

# espnet2_ext's recipe tools: python -m espnet2_ext.bin.NAME (importing espnet2_ext
# does not load ESPnet: fast start); ext_dir: the package directory
ext_dir=$(${python} -c 'import importlib.util as u; s = u.find_spec("espnet2_ext"); print(s.submodule_search_locations[0])' 2>/dev/null) \
    || die "python (${python}) cannot find espnet2_ext; run from a recipe dir with path.sh, or pip install -e the repo"
tool() { local name=$1; shift; ${python} -m "espnet2_ext.bin.${name}" "$@"; }

# every ESPnet config the requested stages will use, checked against ESPnet's
# tasks now (unknown keys, unregistered names, impossible values, the model
# build), in one process, before any stage writes anything
_check=()
if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    _check+=(--task enh "${enh_config}")
    for l in ${ft_losses}; do
        [ -f "${finetune_config//LOSS/${l}}" ] \
            || die "fine-tune config for ${l} not found: ${finetune_config//LOSS/${l}}"
        _check+=("${finetune_config//LOSS/${l}}")
    done
fi
if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ] && [ "${num_spk}" -eq 1 ]; then
    _check+=(--task asr)
    for t in ${downstream_tasks}; do
        case "$t" in
            asr) _check+=("${asr_config}") ;;
            pr) _check+=("${pr_config:-${conf_dir}/pr_superb.yaml}") ;;
        esac
    done
    _check+=(--task asr_inference "${decode_config}")
fi
# (a set of configs that passed is not checked again: ${exp}/.configs_checked
# holds the md5 of the upstream, the options and the config contents)
if [ ${#_check[@]} -gt 0 ]; then
    _csig=$( { echo "${upstream}"; for a in "${_check[@]}"; do
                 if [ -f "$a" ]; then echo "$a $(md5sum < "$a")"; else echo "$a"; fi; done; } \
             | md5sum | cut -c1-32)
    if [ -f "${exp}/.configs_checked" ] && [ "$(cat "${exp}/.configs_checked")" = "${_csig}" ]; then
        log "configs unchanged since they passed the check; not checked again"
    else
        _t0=${SECONDS}
        tool check_config --upstream "${upstream}" "${_check[@]}" \
            || die "bad config (see the lines above); nothing was run"
        log "configs checked in $((SECONDS - _t0)) s"
        mkdir -p "${exp}"
        echo "${_csig}" > "${exp}/.configs_checked"
    fi
fi

# ---------------------------------------------------------------- markers
# signature: the words given plus the md5 of the files among them
signature() {
    local a
    for a in "$@"; do
        if [ -f "$a" ]; then
            echo "$a $(md5sum < "$a" | cut -c1-32)"
        else
            echo "$a"
        fi
    done
}
# is_done MARKER SIG...: the step finished with the same inputs.  The
# signature is taken here, before the step runs, and mark_done writes that one
# (inputs edited while a step runs make the step rerun next time).
declare -A _sig_at_check=()
# A step that is not done loses its marker here, before it (re)runs: a step
# interrupted from then on (SIGKILL, preemption, a time limit) leaves no
# marker, so no later stage takes its partial outputs for finished work.
is_done() {
    local marker=$1; shift
    _sig_at_check[${marker}]=$(signature "$@")
    if [ -f "${marker}" ] && [ "${_sig_at_check[${marker}]}" = "$(cat "${marker}")" ]; then
        return 0
    fi
    rm -f "${marker}"
    return 1
}
# need_done MARKER WHAT: stop unless the step WHAT (which writes MARKER last) finished
need_done() { [ -f "$1" ] || die "$2 has not finished ($1 missing): run it first"; }
mark_done() {  # mark_done MARKER SIG... (written last, atomically)
    local marker=$1; shift
    mkdir -p "$(dirname "${marker}")"
    if [ -n "${_sig_at_check[${marker}]+set}" ]; then
        echo "${_sig_at_check[${marker}]}" > "${marker}.tmp.$$"
    else
        signature "$@" > "${marker}.tmp.$$"
    fi
    mv "${marker}.tmp.$$" "${marker}"
}
# begin_dir DIR MARKER: before (re)running a training step; DIR is kept for
# ESPnet's --resume only if it was started with the same inputs, else it is
# moved aside (DIR.stale.<time>) so that no checkpoint of another config is resumed
begin_dir() {
    local dir=$1 marker=$2
    local sig=${_sig_at_check[${marker}]:-}
    if [ -d "${dir}" ] && { [ ! -f "${dir}/.started" ] || [ "$(cat "${dir}/.started")" != "${sig}" ]; } \
        && [ -n "$(ls -A "${dir}")" ]; then
        local old
        old=${dir}.stale.$(date +%s)
        log "${dir} was made with other inputs (config/data/options changed): moved to ${old}"
        mv "${dir}" "${old}"
    fi
    mkdir -p "${dir}"
    echo "${sig}" > "${dir}/.started"
}
# replace_if_changed NEW FILE: move NEW over FILE unless they are equal
replace_if_changed() {
    if cmp -s "$1" "$2"; then rm -f "$1"; else mv "$1" "$2"; fi
}
skipped() { log "$1: already done ($2); skipped"; }

stage_start() {
    _stage_t0=${SECONDS}
    _stage_name="stage $1: $2"
    log "=================== ${_stage_name} ==================="
}
stage_end() {
    local dt=$((SECONDS - _stage_t0))
    log "${_stage_name} finished in ${dt} s"
    mkdir -p "${exp}"
    echo "$(date '+%Y-%m-%dT%H:%M:%S') ${_stage_name// /_} ${dt}" >> "${exp}/stage_times.txt"
}
run_stage() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }

# start_step NAME FUNCTION ARGS...: run a step now, or in the background with
# --parallel_models true; wait_steps waits for them all and fails if any did
_bg_pids=(); _bg_names=()
start_step() {
    local name=$1; shift
    if [ "${parallel_models}" = true ]; then
        ( "$@" ) &
        _bg_pids+=($!); _bg_names+=("${name}")
    else
        "$@"
    fi
}
wait_steps() {
    local i failed=""
    for i in "${!_bg_pids[@]}"; do
        wait "${_bg_pids[$i]}" || failed+=" ${_bg_names[$i]}"
    done
    _bg_pids=(); _bg_names=()
    [ -z "${failed}" ] || die "failed:${failed} (see the messages above)"
}

# split_keys SCP N OUTPREFIX: OUTPREFIX.{1..N}.scp, contiguous, sorted
split_keys() {
    local scp=$1 n=$2 out=$3
    awk -v n="${n}" -v out="${out}" -v total="$(wc -l < "${scp}")" '
        { k = int((NR - 1) * n / total) + 1; print $1 " " $2 > (out "." k ".scp") }' "${scp}"
}
n_lines() { wc -l < "$1" | tr -d ' '; }
# rotate a training log so that a resumed run keeps the earlier epochs' lines
rotate_log() { [ ! -f "$1" ] || mv "$1" "$1.$(date +%s)"; }
# train_model DIR WHAT TOOL ARGS...: ESPnet training (python -m espnet2_ext.bin.TOOL)
# into DIR, resumed from DIR/checkpoint.pth when DIR was started with the same
# inputs; log DIR/train.log; DIR/.done (the signature is_done took) once
# DIR/valid.loss.best.pth exists
train_model() {
    local _dir=$1 what=$2 name=$3; shift 3
    begin_dir "${_dir}" "${_dir}/.done"
    rotate_log "${_dir}/train.log"
    ${cuda_cmd} --gpu "${ngpu}" --num_threads "${train_threads}" "${_dir}/train.log" \
        ${python} -m "espnet2_ext.bin.${name}" --resume true --output_dir "${_dir}" "$@" \
        || die "${what} failed; see ${_dir}/train.log"
    [ -e "${_dir}/valid.loss.best.pth" ] \
        || die "${what} ended without ${_dir}/valid.loss.best.pth; see ${_dir}/train.log"
    mark_done "${_dir}/.done"
}

# ---- downstream tasks and data sets
for t in ${downstream_tasks}; do
    case "$t" in asr|pr) ;; *) die "--downstream_tasks: unknown task '$t' (asr, pr)" ;; esac
done
[ -n "${asr_set}" ] || die "--asr_set is empty"
[ "${num_spk}" -eq 1 ] || [ "$(echo ${asr_set} | wc -w)" -eq 1 ] \
    || die "--asr_set: separation (--num_spk ${num_spk}) scores one set, got '${asr_set}'"
pr_config=${pr_config:-${conf_dir}/pr_superb.yaml}
[ -z "${phone_dict}" ] || [ -f "${phone_dict}" ] || die "--phone_dict ${phone_dict} does not exist"
uniq_words() { local w out=" "; for w in "$@"; do [[ "${out}" == *" ${w} "* ]] || out+="${w} "; done; echo ${out}; }
sim_sets=$(uniq_words train dev ${eval_sets} ${asr_set})  # data sets of stage 2

enh_models="base ${ft_losses}"
if [ "${num_spk}" -eq 1 ]; then
    frontends="noisy ${enh_models}"
    ref_scp() { echo "spk1.scp"; }
else
    frontends="mixture ${enh_models}"
    ref_scp() { echo "${ref_prefix}$1.scp"; }  # ref_scp N: the reference of speaker N
fi
train_dir=${data}/train_noisy
valid_dir=${data}/dev_noisy
data_marker=${data}/.stage1.done
sim_marker=${data}/.stage2.done

# ================================================================ stage 1
if run_stage 1; then
    stage_start 1 "data preparation"
    sig=(an4_root="${an4_root}" num_dev_spk="${num_dev_spk}" skip_bad_audio="${skip_bad_audio}")
    [ -z "${local_data_opts}" ] || sig+=(local_data_opts="${local_data_opts}")
    if is_done "${data_marker}" "${sig[@]}"; then
        skipped "stage 1" "${data_marker}"
    else
        mkdir -p "${exp}/data/log"
        ./local/data.sh --an4_root "${an4_root}" --download_dir "${download_dir}" \
            --data "${data}" --num_dev_spk "${num_dev_spk}" --skip_bad_audio "${skip_bad_audio}" \
            --python "${python}" ${local_data_opts} 2>&1 | tee "${exp}/data/log/data.log" \
            || die "data preparation failed (log: ${exp}/data/log/data.log)"
        mark_done "${data_marker}" "${sig[@]}"
    fi
    stage_end
fi

# ================================================================ stage 2
if run_stage 2; then
    stage_start 2 "noisy simulation"
    need_done "${data_marker}" "stage 1"
    sig=(noise_dir="${noise_dir}" snrs="${snrs}" reverb="${reverb}" seed="${seed}" \
         train_copies="${train_copies}" "${data_marker}")
    [ "${simulate}" = true ] || sig+=(simulate=false)
    [ "${sim_sets}" = "train dev test" ] || sig+=(sets="${sim_sets}")
    for dset in ${sim_sets}; do
        [ ! -f "${data}/${dset}/noise_sources.scp" ] || sig+=("${data}/${dset}/noise_sources.scp")
    done
    [ "${num_spk}" -eq 1 ] || sig+=(num_spk="${num_spk}" offsets="${offsets}" \
                                    sir_range="${sir_range}" rt60="${rt60}")
    if is_done "${sim_marker}" "${sig[@]}"; then
        skipped "stage 2" "${sim_marker}"
    elif [ "${simulate}" = false ]; then
        for dset in ${sim_sets}; do  # the corpus's own mixtures: the data dirs as they are
            [ -f "${data}/${dset}/wav.scp" ] || die "${data}/${dset}/wav.scp missing (stage 1)"
            rm -rf "${data}/${dset}_noisy"; cp -r "${data}/${dset}" "${data}/${dset}_noisy"
        done
        mark_done "${sim_marker}" "${sig[@]}"
    elif [ "${num_spk}" -eq 2 ]; then
        mkdir -p "${exp}/simulation/log"
        for dset in train dev test; do
            if [ "${dset}" = train ]; then part=train; copies=${train_copies}; else part=eval; copies=1; fi
            ${train_cmd} "${exp}/simulation/log/simulate_${dset}.log" \
                ${python} -m espnet2_ext.bin.simulate_mixtures --copies "${copies}" \
                    --src_dir "${data}/${dset}" --out_dir "${data}/${dset}_noisy" \
                    --wav_dir "${dump}/mix/${dset}" --part "${part}" --snrs "${snrs}" \
                    --noise_dir "${noise_dir}" --reverb "${reverb}" --seed "${seed}" \
                    --offsets "${offsets}" --sir_range "${sir_range}" --rt60 "${rt60}" \
                || die "simulation of ${dset} failed (log: ${exp}/simulation/log/simulate_${dset}.log)"
            log "$(tail -n 3 "${exp}/simulation/log/simulate_${dset}.log" | grep simulated || true)"
        done
        mark_done "${sim_marker}" "${sig[@]}"
    elif [ "${num_spk}" -gt 2 ]; then
        die "--num_spk ${num_spk}: the simulation makes two-speaker mixtures; give --simulate false with a corpus of ${num_spk}-speaker mixtures"
    else
        mkdir -p "${exp}/simulation/log"
        for dset in ${sim_sets}; do
            if [ "${dset}" = train ]; then part=train; copies=${train_copies}; else part=eval; copies=1; fi
            [ -f "${data}/${dset}/wav.scp" ] || die "${data}/${dset}/wav.scp missing (stage 1 made no set ${dset})"
            _noise=(--noise_dir "${noise_dir}")  # per-set recordings listed by stage 1 win
            [ ! -f "${data}/${dset}/noise_sources.scp" ] || _noise=(--noise_scp "${data}/${dset}/noise_sources.scp")
            ${train_cmd} "${exp}/simulation/log/simulate_${dset}.log" \
                ${python} -m espnet2_ext.bin.simulate_noisy \
                    --src_dir "${data}/${dset}" --out_dir "${data}/${dset}_noisy" \
                    --wav_dir "${dump}/noisy/${dset}" --part "${part}" --snrs "${snrs}" \
                    "${_noise[@]}" --babble_dir "${data}/train" \
                    --reverb "${reverb}" --seed "${seed}" --copies "${copies}" \
                || die "simulation of ${dset} failed (log: ${exp}/simulation/log/simulate_${dset}.log)"
            log "$(tail -n 3 "${exp}/simulation/log/simulate_${dset}.log" | grep simulated || true)"
        done
        mark_done "${sim_marker}" "${sig[@]}"
    fi
    stage_end
fi

# ================================================================ stage 3
enh_stats=${exp}/enh_stats
if [ -n "${init_param}" ]; then
    base_model=${init_param}
    base_config=${base_config:-$(dirname "${init_param}")/config.yaml}
else
    base_model=${exp}/enh_base/valid.loss.best.pth
    base_config=${exp}/enh_base/config.yaml
fi
enh_data_opts() {  # train and valid data of the enhancement model
    local part dir n
    for part in train valid; do
        if [ "${part}" = train ]; then dir=${train_dir}; else dir=${valid_dir}; fi
        echo --${part}_data_path_and_name_and_type "${dir}/wav.scp,speech_mix,sound"
        for n in $(seq "${num_spk}"); do
            echo --${part}_data_path_and_name_and_type "${dir}/$(ref_scp "${n}"),speech_ref${n},sound"
        done
    done
}
finetune_one() {  # finetune_one LOSS DIR CONFIG
    local loss=$1 _dir=$2 gen=$3
    log "fine-tuning with ${loss} (upstream ${upstream}) from ${base_model}: ${_dir} (log: ${_dir}/train.log)"
    # shellcheck disable=SC2046,SC2086
    train_model "${_dir}" "fine-tuning with ${loss}" enh_train ${common_opts} $(enh_data_opts) \
        ${shape_opts} --init_param "${base_model}" --config "${gen}" ${enh_args}
    log "fine-tuning with ${loss} done"
}
if run_stage 3; then
    stage_start 3 "enhancement training (stats, base, fine-tuning: ${ft_losses})"
    need_done "${sim_marker}" "stage 2"
    [ -f "${enh_config}" ] || die "enhancement config ${enh_config} does not exist"
    common_opts="--ngpu ${ngpu} --use_tensorboard false --use_matplotlib true"

    # --- 3a: shape statistics (ESPnet's --collect_stats)
    sig=("${enh_config}" "${sim_marker}")
    [ "${num_spk}" -eq 1 ] || sig+=(ref_prefix="${ref_prefix}")
    if is_done "${enh_stats}/.done" "${sig[@]}"; then
        skipped "stage 3 (stats)" "${enh_stats}/.done"
    else
        log "collecting shape statistics into ${enh_stats}"
        _logdir=${enh_stats}/logdir
        rm -rf "${_logdir}"; mkdir -p "${_logdir}"
        _nj=$(min "${nj}" "$(n_lines "${train_dir}/wav.scp")" "$(n_lines "${valid_dir}/wav.scp")")
        split_keys "${train_dir}/wav.scp" "${_nj}" "${_logdir}/train"
        split_keys "${valid_dir}/wav.scp" "${_nj}" "${_logdir}/valid"
        # shellcheck disable=SC2046
        ${train_cmd} JOB=1:"${_nj}" "${_logdir}/stats.JOB.log" \
            ${python} -m espnet2_ext.bin.enh_train --collect_stats true ${common_opts} \
                $(enh_data_opts) \
                --train_shape_file "${_logdir}/train.JOB.scp" \
                --valid_shape_file "${_logdir}/valid.JOB.scp" \
                --output_dir "${_logdir}/stats.JOB" --config "${enh_config}" \
            || die "collect_stats failed; see ${_logdir}/stats.*.log"
        _opts=""
        for i in $(seq "${_nj}"); do _opts+="--input_dir ${_logdir}/stats.${i} "; done
        # shellcheck disable=SC2086
        ${python} -m espnet2.bin.aggregate_stats_dirs ${_opts} --output_dir "${enh_stats}" \
            > "${_logdir}/aggregate.log" 2>&1 || die "aggregate_stats_dirs failed; see ${_logdir}/aggregate.log"
        mark_done "${enh_stats}/.done" "${sig[@]}"
    fi
    shape_opts="--train_shape_file ${enh_stats}/train/speech_mix_shape"
    shape_opts+=" --train_shape_file ${enh_stats}/train/speech_ref1_shape"
    shape_opts+=" --valid_shape_file ${enh_stats}/valid/speech_mix_shape"
    shape_opts+=" --valid_shape_file ${enh_stats}/valid/speech_ref1_shape"
    shape_opts+=" --fold_length 80000 --fold_length 80000"  # for batch_type folded

    # --- 3b: base model with a signal loss
    if [ -n "${init_param}" ]; then
        log "using the given base model ${init_param} (config ${base_config}); no base training"
        [ -f "${base_config}" ] || die "config of --init_param not found: ${base_config} (give --base_config)"
    else
        _dir=${exp}/enh_base
        sig=("${enh_config}" "${enh_stats}/.done" enh_args="${enh_args}" ngpu="${ngpu}")
        if is_done "${_dir}/.done" "${sig[@]}"; then
            skipped "stage 3 (base)" "${_dir}/.done"
        else
            log "training the base model: ${_dir} (log: ${_dir}/train.log)"
            # shellcheck disable=SC2046,SC2086
            train_model "${_dir}" "base training" enh_train ${common_opts} $(enh_data_opts) \
                ${shape_opts} --config "${enh_config}" ${enh_args}
        fi
    fi

    # --- 3c: one fine-tuned copy per SSL loss, same budget (config) each
    for loss in ${ft_losses}; do
        _dir=${exp}/enh_${loss}
        src=${finetune_config//LOSS/${loss}}
        [ -f "${src}" ] || die "fine-tune config for ${loss} not found: ${src}"
        gen=${exp}/enh_configs/enh_finetune_${loss}.yaml
        _req=true; [ "${num_spk}" -eq 1 ] || _req=false  # separation: also signal losses
        tool recipe_config set_upstream --in "${src}" --out "${gen}" --upstream "${upstream}" \
            --require "${_req}" || die "cannot make the ${loss} config from ${src}"
        sig=("${gen}" "${enh_stats}/.done" "${base_model}" enh_args="${enh_args}" ngpu="${ngpu}")
        if is_done "${_dir}/.done" "${sig[@]}"; then
            skipped "stage 3 (${loss})" "${_dir}/.done"
            continue
        fi
        start_step "fine-tuning with ${loss}" finetune_one "${loss}" "${_dir}" "${gen}"
    done
    wait_steps
    stage_end
fi

model_of() {  # model_of NAME -> "config model" of an enhancement model
    if [ "$1" = base ]; then
        echo "${base_config} ${base_model}"
    else
        echo "${exp}/enh_$1/config.yaml ${exp}/enh_$1/valid.loss.best.pth"
    fi
}
enh_out() { echo "${exp}/enhanced/$1/$2"; }  # enh_out MODEL SET
model_ready() {  # model_ready NAME: stop unless the training of model NAME finished
    [ "$1" = base ] && [ -n "${init_param}" ] && return 0  # a given model: no marker
    need_done "${exp}/enh_$1/.done" "stage 3 (training of the $1 model)"
}

# ================================================================ stage 4
enhance_one() {  # enhance_one MODEL CONFIG MODEL_FILE ALL_SCP SIG...
    local m=$1 _config=$2 _model=$3 _all=$4; shift 4
    local _base=${exp}/enhanced/${m}
    local _logdir=${_base}/log _nj dset
    log "enhancing ${eval_sets} with ${m} (${_model})"
    rm -rf "${_base}"; mkdir -p "${_logdir}"  # no output of an earlier run survives
    _nj=$(min "${inference_nj}" "$(n_lines "${_all}")")
    split_keys "${_all}" "${_nj}" "${_logdir}/keys"
    ${decode_cmd} --gpu "${ngpu}" JOB=1:"${_nj}" "${_logdir}/enh_inference.JOB.log" \
        ${python} -m espnet2_ext.bin.enh_inference --ngpu "${ngpu}" --fs 16000 \
            --data_path_and_name_and_type "${_all},speech_mix,sound" \
            --key_file "${_logdir}/keys.JOB.scp" \
            --train_config "${_config}" --model_file "${_model}" \
            --output_dir "${_logdir}/output.JOB" \
        || die "enhancement with ${m} failed; see ${_logdir}/enh_inference.*.log"
    for dset in ${eval_sets}; do
        mkdir -p "${_base}/${dset}"
        for n in $(seq "${num_spk}"); do
            cat "${_logdir}"/output.*/spk${n}.scp | sort \
                | awk 'NR == FNR { keep[$1] = 1; next } ($1 in keep)' "${data}/${dset}_noisy/wav.scp" - \
                > "${_base}/${dset}/spk${n}.scp"
            [ "$(n_lines "${_base}/${dset}/spk${n}.scp")" -eq "$(n_lines "${data}/${dset}_noisy/wav.scp")" ] \
                || die "enhanced ${dset} by ${m} is incomplete: see ${_logdir}"
        done
    done
    mark_done "${_base}/.done" "$@"
}
if run_stage 4; then
    stage_start 4 "enhancement of ${eval_sets} with: ${enh_models}"
    # one inference job per model over all evaluation sets together (ESPnet
    # starts slowly), split into nj parts; the output is split back per set
    _all=${exp}/enhanced/eval_keys.scp
    mkdir -p "${exp}/enhanced"
    for dset in ${eval_sets}; do
        [ -f "${data}/${dset}_noisy/wav.scp" ] || die "${data}/${dset}_noisy/wav.scp missing: run stage 2"
        cat "${data}/${dset}_noisy/wav.scp"
    done | sort > "${_all}.tmp"
    [ -z "$(cut -d' ' -f1 "${_all}.tmp" | uniq -d)" ] || die "utterance ids repeat across ${eval_sets}"
    replace_if_changed "${_all}.tmp" "${_all}"
    for m in ${enh_models}; do
        read -r _config _model <<< "$(model_of "${m}")"
        model_ready "${m}"
        [ -e "${_model}" ] || die "model ${_model} missing: run stage 3"
        _base=${exp}/enhanced/${m}
        sig=("${_model}" "${_config}" "${_all}" "${sim_marker}")
        if is_done "${_base}/.done" "${sig[@]}"; then
            skipped "stage 4 (${m})" "${_base}/.done"
            continue
        fi
        start_step "enhancement with ${m}" enhance_one "${m}" "${_config}" "${_model}" "${_all}" "${sig[@]}"
    done
    wait_steps
    stage_end
fi

est_scp() {  # est_scp FRONTEND SET: the signals a front-end gives for a set
    case "$1" in
        clean) echo "${data}/$2/wav.scp" ;;
        noisy|mixture) echo "${data}/$2_noisy/wav.scp" ;;
        *) echo "$(enh_out "$1" "$2")/spk1.scp" ;;
    esac
}
est_scps() {  # est_scps FRONTEND SET: separation: the streams (space-separated scps)
    local n out=""
    case "$1" in
        mixture) echo "${data}/$2_noisy/wav.scp"; return ;;
        clean)  # the dry speech where the simulation / corpus has it
            for n in $(seq "${num_spk}"); do
                if [ -f "${data}/$2_noisy/dereverb${n}.scp" ]; then out+=" ${data}/$2_noisy/dereverb${n}.scp"
                else out+=" ${data}/$2_noisy/$(ref_scp "${n}")"; fi
            done ;;
        *) for n in $(seq "${num_spk}"); do out+=" $(enh_out "$1" "$2")/spk${n}.scp"; done ;;
    esac
    echo ${out}
}

fe_marker() {  # fe_marker FRONTEND: the marker of the step that made its signals
    case "$1" in
        clean) if [ "${num_spk}" -eq 1 ]; then echo "${data_marker}"; else echo "${sim_marker}"; fi ;;
        noisy|mixture) echo "${sim_marker}" ;;
        *) echo "${exp}/enhanced/$1/.done" ;;
    esac
}
fe_ready() {  # fe_ready FRONTEND: stop unless the step that made its signals finished
    local marker what
    marker=$(fe_marker "$1")
    case "${marker}" in
        "${data_marker}") what="stage 1" ;;
        "${sim_marker}") what="stage 2" ;;
        *) what="stage 4 (enhancement with $1)" ;;
    esac
    need_done "${marker}" "${what}"
}

# ================================================================ stage 5
if run_stage 5 && [ "${num_spk}" -gt 1 ]; then
    stage_start 5 "separation scores (SI-SDR, SI-SDRi, STOI under the best permutation)"
    for dset in ${eval_sets}; do
        _dir=${exp}/scores/${dset}
        refs=(); systems=(); sig=("${data}/${dset}_noisy/wav.scp" "${sim_marker}")
        for n in $(seq "${num_spk}"); do
            refs+=(--ref_scp "${data}/${dset}_noisy/$(ref_scp "${n}")")
            sig+=("${data}/${dset}_noisy/$(ref_scp "${n}")")
        done
        for fe in ${frontends}; do
            fe_ready "${fe}"
            scps=$(est_scps "${fe}" "${dset}")
            for scp in ${scps}; do
                [ -f "${scp}" ] || die "${scp} missing: run stage 4"
                sig+=("${scp}")
            done
            systems+=("${fe}=${scps// /,}"); sig+=("$(fe_marker "${fe}")")
        done
        if is_done "${_dir}/.done" "${sig[@]}"; then
            skipped "stage 5 (${dset})" "${_dir}/.done"
            continue
        fi
        rm -rf "${_dir}"
        ${decode_cmd} "${_dir}/log/score.log" \
            ${python} -m espnet2_ext.bin.score_sep --mix_scp "${data}/${dset}_noisy/wav.scp" \
                "${refs[@]}" --out_dir "${_dir}" "${systems[@]}" \
            || die "scoring ${dset} failed; see ${_dir}/log/score.log"
        grep -E '^[a-z_0-9]+: si_sdr' "${_dir}/log/score.log" | sed "s/^/  ${dset} /" || true
        mark_done "${_dir}/.done" "${sig[@]}"
    done
    stage_end
elif run_stage 5; then
    stage_start 5 "signal scores (SI-SDR, PESQ, STOI, ESTOI)"
    for dset in ${eval_sets}; do
        _dir=${exp}/scores/${dset}
        systems=()
        sig=("${data}/${dset}_noisy/spk1.scp" "${sim_marker}")
        for fe in ${frontends}; do
            fe_ready "${fe}"
            scp=$(est_scp "${fe}" "${dset}")
            [ -f "${scp}" ] || die "${scp} missing: run stage 4"
            systems+=("${fe}=${scp}")
            sig+=("${scp}" "$(fe_marker "${fe}")")
        done
        if is_done "${_dir}/.done" "${sig[@]}"; then
            skipped "stage 5 (${dset})" "${_dir}/.done"
            continue
        fi
        rm -rf "${_dir}"
        ${decode_cmd} "${_dir}/log/score.log" \
            ${python} -m espnet2_ext.bin.score_enh --ref_scp "${data}/${dset}_noisy/spk1.scp" \
                --out_dir "${_dir}" "${systems[@]}" \
            || die "scoring ${dset} failed; see ${_dir}/log/score.log"
        grep -E '^[a-z_]+: si_sdr' "${_dir}/log/score.log" | sed "s/^/  ${dset} /" || true
        mark_done "${_dir}/.done" "${sig[@]}"
    done
    stage_end
fi

# ================================================================ stage 6
sep_sphinx_one() {  # sep_sphinx_one FE DIR (streams and refs in args, signature in sig)
    local fe=$1 _dir=$2
    rm -rf "${_dir}"
    ${decode_cmd} "${_dir}/log/decode.log" \
        ${python} -m espnet2_ext.bin.sep_asr_sphinx "${args[@]}" --out_dir "${_dir}" \
            --dict "${sphinx_dict}" --lm "${sphinx_lm}" \
        || die "pocketsphinx decoding of ${fe} failed; see ${_dir}/log/decode.log"
    log "  ${fe}: $(grep -o 'cpWER [0-9.]*% ORC-WER [0-9.]*%' "${_dir}/log/decode.log" | tail -n 1)"
    mark_done "${_dir}/.done" "${sig[@]}"
}
sphinx_one() {  # sphinx_one WHAT DIR (scp, aset and the signature in sig); split by --inference_nj
    local _what=$1 _dir=$2 _logdir=$2/log _nj
    rm -rf "${_dir}"; mkdir -p "${_logdir}"
    _nj=$(min "${inference_nj}" "$(n_lines "${scp}")")
    split_keys "${scp}" "${_nj}" "${_logdir}/keys"
    ${decode_cmd} JOB=1:"${_nj}" "${_logdir}/decode.JOB.log" \
        ${python} -m espnet2_ext.bin.asr_sphinx --wav_scp "${_logdir}/keys.JOB.scp" \
            --out_dir "${_logdir}/output.JOB" --dict "${sphinx_dict}" --lm "${sphinx_lm}" \
        || die "pocketsphinx decoding of ${_what} failed; see ${_logdir}/decode.*.log"
    cat "${_logdir}"/output.*/text | sort > "${_dir}/text.tmp"
    mv "${_dir}/text.tmp" "${_dir}/text"
    tool score_wer --ref "${data}/${aset}/text" --hyp "${_dir}/text" --out "${_dir}/wer.json" \
        > "${_logdir}/score.log" 2>&1 || die "WER scoring of ${_what} failed; see ${_logdir}/score.log"
    log "  ${_what}: $(grep -o 'WER [0-9.]*%' "${_logdir}/score.log" | tail -n 1)"
    mark_done "${_dir}/.done" "${sig[@]}"
}
if run_stage 6 && [ "${num_spk}" -gt 1 ]; then
    stage_start 6 "independent ASR (pocketsphinx + AN4 dictionary/LM) on ${asr_set}: cpWER, ORC-WER"
    [ -f "${sphinx_dict}" ] || die "pocketsphinx dictionary ${sphinx_dict} not found (--sphinx_dict)"
    [ -f "${sphinx_lm}" ] || die "pocketsphinx LM ${sphinx_lm} not found (--sphinx_lm)"
    for fe in clean ${frontends}; do
        fe_ready "${fe}"
        _dir=${exp}/asr_sphinx/${asr_set}/${fe}
        args=(); sig=("${sphinx_dict}" "${sphinx_lm}" "$(fe_marker "${fe}")")
        for scp in $(est_scps "${fe}" "${asr_set}"); do
            [ -f "${scp}" ] || die "${scp} missing: run the earlier stages"
            args+=(--wav_scp "${scp}"); sig+=("${scp}")
        done
        if [ ! -f "${data}/${asr_set}_noisy/text_spk1" ]; then
            log "WARNING: ${data}/${asr_set}_noisy/text_spk1 missing (no transcriptions): no WER"
            break
        fi
        for n in $(seq "${num_spk}"); do
            [ -f "${data}/${asr_set}_noisy/text_spk${n}" ] || die "${data}/${asr_set}_noisy/text_spk${n} missing"
            args+=(--ref "${data}/${asr_set}_noisy/text_spk${n}"); sig+=("${data}/${asr_set}_noisy/text_spk${n}")
        done
        if is_done "${_dir}/.done" "${sig[@]}"; then
            skipped "stage 6 (${fe})" "${_dir}/.done"
            continue
        fi
        # args and sig are read by sep_sphinx_one (in a subshell with --parallel_models true)
        start_step "pocketsphinx on ${fe}" sep_sphinx_one "${fe}" "${_dir}"
    done
    wait_steps
    stage_end
elif run_stage 6; then
    stage_start 6 "independent ASR (pocketsphinx + $(basename "${sphinx_dict}")/$(basename "${sphinx_lm}")) on ${asr_set}"
    [ -f "${sphinx_dict}" ] || die "pocketsphinx dictionary ${sphinx_dict} not found (--sphinx_dict)"
    [ -f "${sphinx_lm}" ] || die "pocketsphinx LM ${sphinx_lm} not found (--sphinx_lm)"
    for aset in ${asr_set}; do
        for fe in clean ${frontends}; do
            fe_ready "${fe}"
            _dir=${exp}/asr_sphinx/${aset}/${fe}
            scp=$(est_scp "${fe}" "${aset}")
            [ -f "${scp}" ] || die "${scp} missing: run the earlier stages"
            sig=("${scp}" "$(fe_marker "${fe}")" "${sphinx_dict}" "${sphinx_lm}" "${data}/${aset}/text")
            _what=${fe}; [ "${aset}" = "${asr_set}" ] || _what="${aset} ${fe}"
            if is_done "${_dir}/.done" "${sig[@]}"; then
                skipped "stage 6 (${_what})" "${_dir}/.done"
                continue
            fi
            # scp, aset and sig are read by sphinx_one (a subshell with --parallel_models true)
            start_step "pocketsphinx on ${_what}" sphinx_one "${_what}" "${_dir}"
        done
    done
    wait_steps
    stage_end
fi

# ================================================================ stage 7
# Downstream tasks, each a frozen upstream + weighted layer sum + BLSTM-CTC
# trained on the clean training set: asr (characters of data/SET/text, WER) and
# pr (phonemes of data/phn/SET/text, made from the words by the CMU dictionary;
# utterances with words it lacks are left out, listed in data/phn/SET/oov.txt; PER)
asr_exp=${exp}/asr_superb
token_list=${data}/token_list/char/tokens.txt
task_setup() {  # task_setup TASK: the t_* variables of a downstream task
    case "$1" in
        asr) t_exp=${asr_exp}; t_stats=${exp}/asr_stats; t_config=${asr_config}
             t_gen=${exp}/asr_configs/asr_superb.yaml; t_tokens=${token_list}; t_type=char
             t_data=${data}; t_metric=wer; t_tag="" ;;
        pr)  t_exp=${exp}/pr_superb; t_stats=${exp}/pr_stats; t_config=${pr_config}
             t_gen=${exp}/asr_configs/pr_superb.yaml; t_tokens=${data}/token_list/phn/tokens.txt
             t_type=word; t_data=${data}/phn; t_metric=per; t_tag="pr " ;;
    esac
}
downstream_one() {  # downstream_one TASK: targets, shapes, training, decoding, scoring
    local task=$1 sig s part aset fe scp _dec _all _logdir _nj _out _what _pdir
    task_setup "${task}"
    [ -f "${t_config}" ] || die "${task^^} config ${t_config} does not exist"
    tool recipe_config set_upstream --in "${t_config}" --out "${t_gen}" --upstream "${upstream}" \
        || die "cannot make the ${task^^} config from ${t_config}"
    ! grep -q "global_mvn" "${t_gen}" \
        || die "${t_config}: normalize: global_mvn needs feature statistics, which this stage does not collect; use utterance_mvn or none"
    if [ "${task}" = pr ]; then
        # phone targets of the training, dev and scored sets
        _pdir=${exp}/pr_data
        sig=("${data_marker}" phone_dict="${phone_dict}")
        for s in $(uniq_words train dev ${asr_set}); do sig+=("${data}/${s}/text" "${data}/${s}/wav.scp"); done
        [ -z "${phone_dict}" ] || sig+=("${phone_dict}")
        if is_done "${_pdir}/.done" "${sig[@]}"; then
            skipped "stage 7 (pr phone targets)" "${_pdir}/.done"
        else
            mkdir -p "${_pdir}/log"
            : > "${_pdir}/log/phone_data.log"
            for s in $(uniq_words train dev ${asr_set}); do
                ${python} -m espnet2_ext.bin.phone_data data --src_dir "${data}/${s}" \
                    --out_dir "${t_data}/${s}" ${phone_dict:+--dict "${phone_dict}"} \
                    >> "${_pdir}/log/phone_data.log" 2>&1 \
                    || die "phone targets of ${s} failed: $(tail -n 1 "${_pdir}/log/phone_data.log")"
            done
            sed 's/^/  /' "${_pdir}/log/phone_data.log"
            mark_done "${_pdir}/.done" "${sig[@]}"
        fi
        ${python} -m espnet2_ext.bin.phone_data tokens --text "${t_data}/train/text" --out "${t_tokens}" \
            || die "cannot make the phone token list"
    else
        tool recipe_config char_tokens --text "${data}/train/text" --out "${t_tokens}" \
            || die "cannot make the token list"
    fi
    asr_common="--ngpu ${ngpu} --use_preprocessor true --token_type ${t_type} --token_list ${t_tokens}"
    asr_common+=" --use_tensorboard false --use_matplotlib true"
    asr_data="--train_data_path_and_name_and_type ${t_data}/train/wav.scp,speech,sound"
    asr_data+=" --train_data_path_and_name_and_type ${t_data}/train/text,text,text"
    asr_data+=" --valid_data_path_and_name_and_type ${t_data}/dev/wav.scp,speech,sound"
    asr_data+=" --valid_data_path_and_name_and_type ${t_data}/dev/text,text,text"

    # shape files (what --collect_stats gives for raw audio + char/phone tokens;
    # the model normalizes per utterance, so no feature statistics are needed)
    sig=("${t_tokens}" "${data_marker}")
    [ "${task}" = asr ] || sig+=("${exp}/pr_data/.done")
    if is_done "${t_stats}/.done" "${sig[@]}"; then
        skipped "stage 7 (${t_tag}shapes)" "${t_stats}/.done"
    else
        for part in train valid; do
            if [ "${part}" = train ]; then s=train; else s=dev; fi
            if [ "${task}" = asr ]; then
                tool recipe_config asr_shapes --data_dir "${data}/${s}" --token_list "${t_tokens}" \
                    --out_dir "${t_stats}/${part}" || die "cannot write the ASR shape files"
            else
                ${python} -m espnet2_ext.bin.phone_data shapes --data_dir "${t_data}/${s}" \
                    --token_list "${t_tokens}" --out_dir "${t_stats}/${part}" \
                    || die "cannot write the PR shape files"
            fi
        done
        mark_done "${t_stats}/.done" "${sig[@]}"
    fi

    sig=("${t_gen}" "${t_stats}/.done" asr_args="${asr_args}" ngpu="${ngpu}")
    if is_done "${t_exp}/.done" "${sig[@]}"; then
        skipped "stage 7 (${t_tag}training)" "${t_exp}/.done"
    else
        log "training the downstream ${task^^} model: ${t_exp} (log: ${t_exp}/train.log)"
        # shellcheck disable=SC2086
        train_model "${t_exp}" "downstream ${task^^} training" asr_train ${asr_common} ${asr_data} \
            --train_shape_file "${t_stats}/train/speech_shape" \
            --train_shape_file "${t_stats}/train/text_shape.${t_type}" \
            --valid_shape_file "${t_stats}/valid/speech_shape" \
            --valid_shape_file "${t_stats}/valid/text_shape.${t_type}" \
            --fold_length 80000 --fold_length 150 --config "${t_gen}" ${asr_args}
    fi

    # decode every front-end's version of every set in one job (keys FE__UTT),
    # split by nj; scored per set into T_EXP/decode_SET/FE/{wer,per}.json
    if [ "$(echo ${asr_set} | wc -w)" -eq 1 ]; then _dec=${t_exp}/decode_${asr_set}; else _dec=${t_exp}/decode_sets; fi
    _all=${_dec}/all_wav.scp
    mkdir -p "${_dec}"
    for aset in ${asr_set}; do
        for fe in clean ${frontends}; do
            fe_ready "${fe}"
            scp=$(est_scp "${fe}" "${aset}")
            [ -f "${scp}" ] || die "${scp} missing: run the earlier stages"
            awk -v fe="${fe}" '{ print fe "__" $0 }' "${scp}"
        done
    done | sort > "${_all}.tmp"
    [ -z "$(cut -d' ' -f1 "${_all}.tmp" | uniq -d)" ] || die "utterance ids repeat across --asr_set ${asr_set}"
    replace_if_changed "${_all}.tmp" "${_all}"
    sig=("${_all}" "${t_exp}/.done" "${decode_config}")
    for aset in ${asr_set}; do sig+=("${t_data}/${aset}/text"); done
    for fe in clean ${frontends}; do sig+=("$(fe_marker "${fe}")"); done

    if is_done "${_dec}/.done" "${sig[@]}"; then
        skipped "stage 7 (${t_tag}decoding)" "${_dec}/.done"
    else
        _logdir=${_dec}/log
        rm -rf "${_logdir}" "${_dec}/text_all"; mkdir -p "${_logdir}"
        for aset in ${asr_set}; do  # no output of an earlier run survives
            for fe in clean ${frontends}; do rm -rf "${t_exp}/decode_${aset}/${fe}"; done
        done
        _nj=$(min "${inference_nj}" "$(n_lines "${_all}")")
        split_keys "${_all}" "${_nj}" "${_logdir}/keys"
        ${decode_cmd} --gpu "${ngpu}" JOB=1:"${_nj}" "${_logdir}/asr_inference.JOB.log" \
            ${python} -m espnet2_ext.bin.asr_inference --ngpu "${ngpu}" --batch_size 1 \
                --data_path_and_name_and_type "${_all},speech,sound" \
                --key_file "${_logdir}/keys.JOB.scp" \
                --asr_train_config "${t_exp}/config.yaml" \
                --asr_model_file "${t_exp}/valid.loss.best.pth" \
                --config "${decode_config}" --output_dir "${_logdir}/output.JOB" \
            || die "downstream ${task^^} decoding failed; see ${_logdir}/asr_inference.*.log"
        cat "${_logdir}"/output.*/1best_recog/text | sort > "${_dec}/text_all"
        for aset in ${asr_set}; do
            _out=${t_exp}/decode_${aset}
            for fe in clean ${frontends}; do
                mkdir -p "${_out}/${fe}"
                awk -v p="${fe}__" 'NR == FNR { keep[$1] = 1; next }
                    index($1, p) == 1 { $1 = substr($1, length(p) + 1); if ($1 in keep) print }' \
                    "${data}/${aset}/wav.scp" "${_dec}/text_all" > "${_out}/${fe}/text"
                tool score_wer --ref "${t_data}/${aset}/text" --hyp "${_out}/${fe}/text" \
                    --out "${_out}/${fe}/${t_metric}.json" > "${_out}/${fe}/${t_metric}.txt" \
                    || die "${t_metric^^} scoring of ${fe} on ${aset} failed"
                _what=${fe}; [ "${aset}" = "${asr_set}" ] || _what="${aset} ${fe}"
                if [ "${task}" = asr ]; then
                    log "  ${_what}: $(cat "${_out}/${fe}/${t_metric}.txt")"
                else
                    log "  ${_what}: $(sed 's/^WER/PER/; s/ words)/ phones)/' "${_out}/${fe}/${t_metric}.txt")"
                fi
            done
        done
        mark_done "${_dec}/.done" "${sig[@]}"
    fi
}
if run_stage 7 && [ "${num_spk}" -gt 1 ]; then
    log "stage 7 (SUPERB-style downstream ASR) is for enhancement only; skipped with --num_spk ${num_spk}"
elif run_stage 7; then
    _tasks=$(echo "${downstream_tasks}" | tr 'a-z' 'A-Z'); _tasks=$(echo ${_tasks} | sed 's/ / + /g')
    stage_start 7 "SUPERB-style downstream ${_tasks} (upstream ${upstream}) on ${asr_set}"
    need_done "${data_marker}" "stage 1"
    for task in ${downstream_tasks}; do
        start_step "downstream ${task}" downstream_one "${task}"
    done
    wait_steps
    stage_end
fi

# ================================================================ stage 8
if run_stage 8 && [ "${num_spk}" -gt 1 ]; then
    stage_start 8 "report: ${results}"
    # encoder forward passes per training step, pit vs gpit, on one batch of the dev set
    _crit=""
    for l in ${ft_losses}; do case "$l" in ssl_*) _crit=${_crit:-$l} ;; esac; done
    sig=(frontends="${frontends}" upstream="${upstream}" criterion="${_crit}")
    for f in "${exp}"/scores/"${asr_set}"/.done "${exp}"/asr_sphinx/"${asr_set}"/*/.done "${exp}"/enh_*/.done; do
        [ -f "$f" ] && sig+=("$f")
    done
    _marker=${exp}/report/.done
    if is_done "${_marker}" "${sig[@]}" && [ -f "${results}" ]; then
        skipped "stage 8" "${_marker}"
    else
        if [ -n "${_crit}" ]; then
            ${decode_cmd} "${exp}/passes/log/count.log" \
                ${python} -m espnet2_ext.bin.count_encoder_passes --data_dir "${valid_dir}" \
                    --num_spk "${num_spk}" --criterion "${_crit}" --upstream "${upstream}" \
                    --out "${exp}/passes/passes.json" \
                || die "counting encoder passes failed; see ${exp}/passes/log/count.log"
        fi
        notes="Recipe: \`$(basename "$(dirname "$(pwd)")")/$(basename "$(pwd)")\`, upstream \`${upstream}\`, "
        notes+="references \`${ref_prefix}N.scp\`; configs from \`${conf_dir}\`. "
        [ "${simulate}" = false ] || notes+="Simulation: SNRs {${snrs}} dB, noise: ${noise_dir:-generated coloured noise}, reverb ${reverb} (RT60 ${rt60} s), offsets ${offsets} s, SIR ${sir_range} dB. "
        notes+="Per-stage wall times: \`${exp}/stage_times.txt\`."
        ${decode_cmd} "${exp}/report/log/report.log" \
            ${python} -m espnet2_ext.bin.make_sep_report --exp "${exp}" --set "${asr_set}" \
                --frontends "${frontends}" --out "${results}" --png "${plot}" \
                --title "$(basename "$(dirname "$(pwd)")")/$(basename "$(pwd)"): transcription-free fine-tuning of a separator" \
                --notes "${notes}" \
            || die "report failed; see ${exp}/report/log/report.log"
        mark_done "${_marker}" "${sig[@]}"
    fi
    log "results in $(pwd)/${results}"
    stage_end
elif run_stage 8; then
    stage_start 8 "report: ${results}"
    sig=(frontends="${frontends}" upstream="${upstream}")
    [ "${downstream_tasks}" = asr ] || sig+=(downstream_tasks="${downstream_tasks}")
    _dec_markers=()
    for task in ${downstream_tasks}; do
        task_setup "${task}"
        if [ "$(echo ${asr_set} | wc -w)" -eq 1 ]; then _dec_markers+=("${t_exp}/decode_${asr_set}/.done")
        else _dec_markers+=("${t_exp}/decode_sets/.done"); fi
    done
    _sets_done=()
    for aset in ${asr_set}; do _sets_done+=("${exp}"/scores/"${aset}"/.done); done
    for aset in ${asr_set}; do _sets_done+=("${exp}"/asr_sphinx/"${aset}"/*/.done); done
    for f in "${_sets_done[@]}" "${_dec_markers[@]}" "${exp}"/enh_*/.done; do
        [ -f "$f" ] && sig+=("$f")
    done
    _marker=${exp}/report/.done
    if is_done "${_marker}" "${sig[@]}" && [ -f "${results}" ] && [ -f "${plot}" ]; then
        skipped "stage 8" "${_marker}"
    else
        notes="Recipe: \`$(basename "$(pwd)")\`, upstream \`${upstream}\`, SNRs {${snrs}} dB, "
        _noise_desc=${noise_dir:-generated coloured noise + babble}
        _lists=""; _order=(); declare -A _sets_of=()  # noise lists of stage 1, sets grouped
        for s in ${sim_sets}; do
            [ -f "${data}/${s}/noise_sources.scp" ] || continue
            _l=$(cut -d' ' -f1 "${data}/${s}/noise_sources.scp" | tr '\n' ' ' | sed 's/ $//')
            [ -n "${_sets_of[${_l}]+set}" ] || _order+=("${_l}")
            _sets_of[${_l}]+="${_sets_of[${_l}]:+, }${s}"
        done
        for _l in "${_order[@]}"; do _lists+="${_sets_of[${_l}]}: ${_l}; "; done
        [ -z "${_lists}" ] || _noise_desc="per-set recordings (${_lists%; })"
        notes+="noise: ${_noise_desc}, reverb ${reverb}; "
        notes+="configs from \`${conf_dir}\`. Per-stage wall times: \`${exp}/stage_times.txt\`."
        _rep_opts=()
        [ "${sphinx_dict}" = "${an4_dir}/etc/an4.dic" ] \
            || _rep_opts+=(--sphinx_desc "$(basename "${sphinx_dict}") dictionary and $(basename "${sphinx_lm}") LM")
        ${decode_cmd} "${exp}/report/log/report.log" \
            ${python} -m espnet2_ext.bin.make_report --exp "${exp}" --set "${asr_set}" "${_rep_opts[@]}" \
                --frontends "${frontends}" --out "${results}" --png "${plot}" \
                --title "$(basename "$(dirname "$(pwd)")")/$(basename "$(pwd)"): SSL-loss fine-tuning of SE front-ends" \
                --notes "${notes}" \
            || die "report failed; see ${exp}/report/log/report.log"
        mark_done "${_marker}" "${sig[@]}"
    fi
    log "results in $(pwd)/${results} (plot: ${plot})"
    stage_end
fi

log "Successfully finished ($0 ${run_args}). [elapsed=${SECONDS}s]"
