#!/usr/bin/env bash
# Speech enhancement (--num_spk 1) or separation (--num_spk N >= 2) front-ends
# fine-tuned through a frozen SSL model, with ESPnet.
#
# Stages (--stage N --stop_stage M):
#   1 data preparation: the recipe's local/data.sh (its options: --local_data_opts)
#     -> data/<set>, audio validated
#   2 simulation: noisy, optionally reverberant mixtures of N speakers of every
#     set of train, dev, --eval_sets, --asr_set -> data/<set>_noisy (a set whose
#     clean dir has noise_sources.scp, NAME PATH per line, takes its noise from
#     exactly those recordings; --simulate false: the corpus's own mixtures)
#   3 training: shape stats, a base model (configs enh_base.yaml / sep_base.yaml),
#     one fine-tuned copy per loss (--ssl_losses / --sep_losses) and seed (--seeds)
#   4 enhancement (separation) of the --eval_sets with every model
#   5 signal scores: SI-SDR, PESQ, STOI, ESTOI (N >= 2: SI-SDR, SI-SDRi, STOI
#     under the best permutation); representation distances to the clean
#     reference on --upstream (frame MSE, soft-DTW divergence)
#   6 independent ASR (--recognizers: pocketsphinx, Whisper) on every stream:
#     WER (N >= 2: cpWER, ORC-WER)
#   7 SUPERB-style downstream tasks on the frozen upstream (weighted layer sum,
#     BLSTM-CTC), --downstream_tasks: asr (characters, WER) and/or pr (phonemes
#     from the CMU dictionary, PER); enhancement only
#   8 report: RESULTS.md + convergence plot (N >= 2: + encoder passes, pit vs gpit),
#     with --probe true first the positional-shortcut probe of --upstream on dev
#
# The Python half of this script is espnet2_ext.recipe, run as
# `python -m espnet2_ext.bin.<tool>`: recipe_steps knows where every step's
# outputs and ".done" marker live, and whether a step is done (its marker
# holds a signature of its inputs: options, config contents, the markers of
# the steps it reads); a step that is not done loses its marker and its old
# outputs before it reruns, and gets its marker last.  So a rerun skips
# finished steps, redoes a step whose inputs changed, and a step killed
# mid-way leaves nothing that counts as finished.
#
# ESPnet's training and inference runs of a stage (the fine-tunings, the
# enhancement with every model) go through `python -m espnet2_ext.bin.espnet_runs`:
# one process imports ESPnet once (10-20 s) and forks a child per run.
#
# About 600 lines: the option table with its help, the up-front checks and the
# eight stages, each a list of steps; the helpers are in utils/stage_lib.sh.
#
# Run from a recipe directory (egs2/<corpus>/<task>) that has path.sh, cmd.sh,
# conf/ and local/data.sh.  Written for espnet2_ext; ESPnet's enh.sh/asr.sh
# conventions (collect_stats, shape files, $cmd JOB=1:N) are followed.
set -e
set -u
set -o pipefail

# shellcheck disable=SC1091
. utils/stage_lib.sh  # log, die, todo, finish, ask, start_step, train_model, ...

SECONDS=0

# ---------------------------------------------------------------- options
stage=1                 # first stage to run
stop_stage=100          # last stage to run
nj=2                    # parallel jobs of collect_stats
inference_nj=""         # parallel jobs of enhancement / ASR decoding (default: --nj)
ngpu=0                  # GPUs for training / inference (0: CPU)
train_threads=2         # CPU threads of a training job
parallel_models=false   # true: fine-tune (stage 3), enhance (4) and decode (6) all models at once
python=python           # python interpreter (path.sh puts the repo's .venv first)
num_spk=1               # 1: enhancement; >= 2: separation of N-speaker mixtures
# stage 1
local_data_opts=""      # options of the corpus's local/data.sh (e.g. its root)
# stage 2
noise_dir=""            # folder of noise recordings; empty: generated (coloured noise, + babble for N = 1)
snrs="20 10 5 0"        # SNRs (dB) drawn per mixture
reverb=false            # true: pyroomacoustics room impulse responses
rt60="0.2 0.5"          # with --reverb true: reverberation time (s, MIN MAX)
train_copies=1          # mixtures per training utterance
seed=0
simulate=true           # false: data/<set> already hold the mixtures (real corpora)
offsets="0 1.0"         # N >= 2: start of speakers 2..N after speaker 1 (s, MIN MAX)
sir_range="0 5"         # N >= 2: level of speaker 1 over the others (dB, MIN MAX)
# stage 3
conf_dir=conf           # where the default configs are
enh_config=""           # base model config (default: ${conf_dir}/enh_base.yaml, N >= 2: sep_base.yaml)
finetune_config=""      # fine-tune config, LOSS = loss name (default: ${conf_dir}/{enh,sep}_finetune_LOSS.yaml)
ssl_losses="ssl_mse ssl_mse_pad ssl_sdtw"  # N = 1: fine-tuned models (ssl_* criteria)
sep_losses="si_snr ssl_mse"  # N >= 2: fine-tuned models (any criterion with a config)
upstream=tiny           # SSL model of the losses and of the downstream tasks
seeds="0"               # one fine-tuning per loss and seed (ESPnet's --seed); the report: mean and spread
init_param=""           # an existing base model (.pth): skip base training
base_config=""          # its config.yaml (default: next to --init_param)
enh_args=""             # extra options to enh_train
ref_prefix=spk          # references REF_PREFIXn.scp (spk: as in the mixture, dereverb: dry)
# stages 4-7
eval_sets="dev test"    # sets to enhance and score
asr_set=test            # set(s) for the ASR scores and the report (e.g. "test_seen test_unseen")
repr_distances=true     # stage 5: frame MSE and soft-DTW divergence on --upstream, --asr_set
recognizers=sphinx      # stage 6: independent recognizers, sphinx and/or whisper
whisper_recognizer=whisper_base  # stage 6: the Whisper model (whisper_base, whisper_tiny_en; not --upstream)
sphinx_dict=""          # pocketsphinx dictionary (default: its own CMU dictionary)
sphinx_lm=""            # pocketsphinx LM (default: its own en-us LM)
sphinx_desc=""          # how the report names them (default: from their file names)
asr_config=""           # default: ${conf_dir}/asr_superb.yaml
decode_config=""        # default: ${conf_dir}/decode_asr.yaml
asr_args=""             # extra options to asr_train
downstream_tasks=asr    # stage 7: asr (WER) and/or pr (phoneme recognition, PER); empty: no stage 7
pr_config=""            # default: ${conf_dir}/pr_superb.yaml
phone_dict=""           # pronunciation dictionary of the PR targets (default: pocketsphinx's CMU dict)
# stage 8
probe=false             # the positional-shortcut probe of --upstream on dev (position_probe)
probe_losses="ssl_mse ssl_mse_pad ssl_sdtw"
probe_opts="--max_utts 8"  # more options of position_probe (--layers, --optimize_steps, ...)
results=RESULTS.md
plot=convergence.png

data=data
dump=dump
exp=exp

help_message=$(cat <<EOF
Usage: $0 [options]   (run from the recipe directory)

Stages: 1 data, 2 simulation, 3 training, 4 enhancement, 5 signal scores,
6 independent ASR, 7 SUPERB-style downstream tasks, 8 RESULTS.md.  Finished
steps are skipped on rerun (".done" markers).

Options (default):
  --stage ${stage} --stop_stage ${stop_stage} --nj ${nj} --inference_nj N --ngpu ${ngpu} --train_threads ${train_threads}
  --num_spk ${num_spk} (>= 2: separation)  --parallel_models ${parallel_models}
  --local_data_opts "..."   options of local/data.sh (the corpus's root, ...)
  --noise_dir PATH      noise recordings; empty: generated noise
  --snrs "${snrs}" --reverb ${reverb} --rt60 "${rt60}" --train_copies ${train_copies} --seed ${seed}
  --simulate ${simulate}   (false: local/data.sh gives the mixtures)
  --offsets "${offsets}" --sir_range "${sir_range}"   (N >= 2)
  --conf_dir ${conf_dir} --enh_config FILE --finetune_config FILE_WITH_LOSS
  --ssl_losses "${ssl_losses}" (N = 1) --sep_losses "${sep_losses}" (N >= 2) --upstream ${upstream}
  --seeds "${seeds}"   one fine-tuning per loss and seed
  --init_param BASE.pth [--base_config config.yaml]   skip base training
  --ref_prefix ${ref_prefix} (spk|dereverb) --enh_args "..." --asr_args "..." (extra ESPnet training options)
  --eval_sets "${eval_sets}" --asr_set ${asr_set} --repr_distances ${repr_distances}
  --recognizers "${recognizers}" (sphinx and/or whisper) --whisper_recognizer ${whisper_recognizer}
  --sphinx_dict FILE --sphinx_lm FILE --sphinx_desc "..."
  --asr_config FILE --decode_config FILE --results ${results} --plot ${plot}
  --downstream_tasks "${downstream_tasks}" (asr and/or pr) --pr_config FILE --phone_dict FILE
  --probe ${probe} --probe_losses "${probe_losses}" --probe_opts "${probe_opts}"
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
for v in stage stop_stage nj ngpu train_threads train_copies seed num_spk; do
    is_int "${!v}" || die "--${v} must be a non-negative integer, got '${!v}'"
done
[ "${nj}" -ge 1 ] || die "--nj must be >= 1"
inference_nj=${inference_nj:-${nj}}
is_int "${inference_nj}" && [ "${inference_nj}" -ge 1 ] || die "--inference_nj must be >= 1, got '${inference_nj}'"
[ -n "${snrs}" ] || die "--snrs is empty"
for s in ${snrs}; do
    [[ "$s" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || die "--snrs: '$s' is not a number (dB)"
done
[ "${num_spk}" -ge 1 ] || die "--num_spk must be >= 1"
[[ "${ref_prefix}" =~ ^(spk|dereverb)$ ]] || die "--ref_prefix must be spk or dereverb"
if [ "${num_spk}" -eq 1 ]; then
    for l in ${ssl_losses}; do
        case "$l" in ssl_*) ;; *) die "--ssl_losses: '$l' is not an ssl_* criterion" ;; esac
    done
    ft_losses=${ssl_losses}; _cfg=enh
else
    [ -n "${sep_losses}" ] || die "--sep_losses is empty"
    ft_losses=${sep_losses}; _cfg=sep
fi
[ -z "${noise_dir}" ] || [ -d "${noise_dir}" ] || die "--noise_dir ${noise_dir} is not a directory"
[ -z "${init_param}" ] || [ -f "${init_param}" ] || die "--init_param ${init_param} does not exist"
for t in ${downstream_tasks}; do
    case "$t" in asr|pr) ;; *) die "--downstream_tasks: unknown task '$t' (asr, pr)" ;; esac
done
[ -n "${asr_set}" ] || die "--asr_set is empty"
[ -n "${seeds}" ] || die "--seeds is empty (give at least one seed, e.g. 0)"
for v in ${seeds}; do
    is_int "$v" || die "--seeds: '$v' is not a non-negative integer"
done
for r in ${recognizers}; do
    case "$r" in sphinx|whisper) ;; *) die "--recognizers: unknown recognizer '$r' (sphinx, whisper)" ;; esac
done
case "${whisper_recognizer}" in
    whisper_base|whisper_tiny_en) ;;
    *) die "--whisper_recognizer must be whisper_base or whisper_tiny_en, got '${whisper_recognizer}'" ;;
esac
if [[ " ${recognizers} " == *" whisper "* ]] && [ "${whisper_recognizer}" = "${upstream}" ]; then
    die "--whisper_recognizer ${whisper_recognizer} is the --upstream of the losses: an independent recognizer must be another model (e.g. --whisper_recognizer $([ "${upstream}" = whisper_base ] && echo whisper_tiny_en || echo whisper_base))"
fi
for v in repr_distances probe parallel_models; do
    [[ "${!v}" =~ ^(true|false)$ ]] || die "--${v} must be true or false, got '${!v}'"
done
for l in ${probe_losses}; do
    case "$l" in ssl_mse|ssl_mse_pad|ssl_sdtw) ;; *) die "--probe_losses: '$l' is not ssl_mse, ssl_mse_pad or ssl_sdtw" ;; esac
done
[ -z "${phone_dict}" ] || [ -f "${phone_dict}" ] || die "--phone_dict ${phone_dict} does not exist"
enh_config=${enh_config:-${conf_dir}/${_cfg}_base.yaml}
finetune_config=${finetune_config:-${conf_dir}/${_cfg}_finetune_LOSS.yaml}
asr_config=${asr_config:-${conf_dir}/asr_superb.yaml}
pr_config=${pr_config:-${conf_dir}/pr_superb.yaml}
decode_config=${decode_config:-${conf_dir}/decode_asr.yaml}

# ---------------------------------------------------------------- the Python half
${python} -c 'import espnet2_ext' 2>/dev/null \
    || die "python (${python}) cannot import espnet2_ext; run from a recipe dir with path.sh, or pip install -e the repo"
# the run's layout (data/, exp/: espnet2_ext.recipe.steps), for every question to recipe_steps
layout_opts=(--exp "${exp}" --data "${data}" --dump "${dump}" --num_spk "${num_spk}"
             --ref_prefix "${ref_prefix}" --models "base ${ft_losses}" --eval_sets "${eval_sets}"
             --asr_set "${asr_set}" --tasks "${downstream_tasks}" --init_param "${init_param}"
             --base_config "${base_config}" --seeds "${seeds}")

ask frontends args frontends  # the unprocessed input (noisy / mixture), then every model
ask models args models        # base, then each fine-tuned model (LOSS_seedN)

# every ESPnet config the requested stages will use, checked against ESPnet's
# tasks now (unknown keys, unregistered names, impossible values, the model
# build), in one process, before any stage writes anything; a set of configs
# that passed is not checked again
_check=()
if run_stage 3; then
    _check+=(--task enh "${enh_config}")
    for l in ${ft_losses}; do
        [ -f "${finetune_config//LOSS/${l}}" ] \
            || die "fine-tune config for ${l} not found: ${finetune_config//LOSS/${l}}"
        _check+=("${finetune_config//LOSS/${l}}")
    done
fi
if run_stage 7 && [ "${num_spk}" -eq 1 ] && [ -n "${downstream_tasks}" ]; then
    _check+=(--task asr)
    for t in ${downstream_tasks}; do
        case "$t" in asr) _check+=("${asr_config}") ;; pr) _check+=("${pr_config}") ;; esac
    done
    _check+=(--task asr_inference "${decode_config}")
fi
if [ ${#_check[@]} -gt 0 ] && todo configs -- "upstream=${upstream}" "${_check[@]}"; then
    _t0=${SECONDS}
    tool check_config --upstream "${upstream}" "${_check[@]}" \
        || { steps forget configs; die "bad config (see the lines above); nothing was run"; }
    log "configs checked in $((SECONDS - _t0)) s"
    finish configs
fi

# ================================================================ stage 1
if run_stage 1; then
    stage_start 1 "data preparation"
    if todo data -- "local_data_opts=${local_data_opts}"; then
        _log=$(steps path log data)/data.log
        mkdir -p "$(dirname "${_log}")"
        # shellcheck disable=SC2086
        ./local/data.sh --data "${data}" --python "${python}" ${local_data_opts} 2>&1 | tee "${_log}" \
            || die "data preparation failed: $(tail -n 1 "${_log}") (log: ${_log})"
        finish data
    fi
    stage_end
fi

# ================================================================ stage 2
if run_stage 2; then
    stage_start 2 "simulation of ${num_spk}-speaker mixtures"
    if todo simulation -- "simulate=${simulate}" "noise_dir=${noise_dir}" "snrs=${snrs}" \
            "reverb=${reverb}" "rt60=${rt60}" "seed=${seed}" "train_copies=${train_copies}" \
            "offsets=${offsets}" "sir_range=${sir_range}"; then
        _logdir=$(steps path log simulation)
        ask _sets args sim_sets
        for dset in "${_sets[@]}"; do
            if [ "${simulate}" = false ]; then  # the corpus's own mixtures: the data dirs as they are
                steps collect corpus_mixtures "${dset}" || exit 1
                continue
            fi
            ask _io args simulate "${dset}" "${train_copies}"
            ${train_cmd} "${_logdir}/simulate_${dset}.log" \
                ${python} -m espnet2_ext.bin.simulate_noisy --num_spk "${num_spk}" "${_io[@]}" \
                    --snrs "${snrs}" --noise_dir "${noise_dir}" --reverb "${reverb}" --rt60 "${rt60}" \
                    --offsets "${offsets}" --sir_range "${sir_range}" --seed "${seed}" \
                || die "simulation of ${dset} failed (log: ${_logdir}/simulate_${dset}.log)"
            log "$(tail -n 3 "${_logdir}/simulate_${dset}.log" | grep simulated || true)"
        done
        finish simulation
    fi
    stage_end
fi

# ================================================================ stage 3
if run_stage 3; then
    stage_start 3 "enhancement training (stats, base, fine-tuning: ${ft_losses})"
    [ -f "${enh_config}" ] || die "enhancement config ${enh_config} does not exist"
    common_opts=(--ngpu "${ngpu}" --use_tensorboard false --use_matplotlib false)  # our own convergence plot (stage 8)
    ask data_opts args train_data  # the mixture and one reference per speaker, train and dev
    stats_dir=$(steps path stats_dir)
    shape_opts=(--train_shape_file "${stats_dir}/train/speech_mix_shape"
                --train_shape_file "${stats_dir}/train/speech_ref1_shape"
                --valid_shape_file "${stats_dir}/valid/speech_mix_shape"
                --valid_shape_file "${stats_dir}/valid/speech_ref1_shape"
                --fold_length 80000 --fold_length 80000)  # for batch_type folded

    # --- 3a: shape statistics (ESPnet's --collect_stats)
    if todo stats -- "${enh_config}"; then
        log "collecting shape statistics into ${stats_dir}"
        _logdir=$(steps path log stats)
        mkdir -p "${_logdir}"
        _nj=$(steps split --nj "${nj}" "$(steps path noisy_dir train)/wav.scp" "${_logdir}/train" \
                                        "$(steps path noisy_dir dev)/wav.scp" "${_logdir}/valid") || exit 1
        _args=()
        for k in $(seq "${_nj}"); do
            _args+=(::: "${_logdir}/stats.${k}.log" --collect_stats true "${common_opts[@]}" "${data_opts[@]}"
                    --train_shape_file "${_logdir}/train.${k}.scp" --valid_shape_file "${_logdir}/valid.${k}.scp"
                    --output_dir "${_logdir}/stats.${k}" --config "${enh_config}")
        done
        JOBS=${_nj} espnet_runs "${_logdir}/stats.log" 1 enh_train "${_args[@]}" \
            || die "collect_stats failed; see ${_logdir}/stats.*.log"
        # shellcheck disable=SC2046
        ${python} -m espnet2.bin.aggregate_stats_dirs \
            $(for i in $(seq "${_nj}"); do echo "--input_dir ${_logdir}/stats.${i}"; done) \
            --output_dir "${stats_dir}" > "${_logdir}/aggregate.log" 2>&1 \
            || die "aggregate_stats_dirs failed; see ${_logdir}/aggregate.log"
        finish stats
    fi

    # --- 3b: base model with a signal loss
    if [ -n "${init_param}" ]; then
        ask _base path model base
        log "using the given base model ${init_param} (config ${_base[0]}); no base training"
        [ -f "${_base[0]}" ] || die "config of --init_param not found: ${_base[0]} (give --base_config)"
    elif todo train base -- "${enh_config}" "enh_args=${enh_args}" "ngpu=${ngpu}"; then
        _dir=$(steps path model_dir base)
        log "training the base model: ${_dir} (log: ${_dir}/train.log)"
        # shellcheck disable=SC2086
        train_model train base enh_train "${common_opts[@]}" "${data_opts[@]}" "${shape_opts[@]}" \
            --config "${enh_config}" ${enh_args}
    fi

    # --- 3c: one fine-tuned copy per loss and seed, same budget (config) each,
    # all from one ESPnet import (espnet_runs)
    for loss in ${ft_losses}; do
        _req=false; [[ "${loss}" != ssl_* ]] || _req=true  # an ssl_* config must name an upstream
        tool recipe_config set_upstream --in "${finetune_config//LOSS/${loss}}" \
            --out "$(steps path finetune_config "${loss}")" --upstream "${upstream}" --require "${_req}" \
            || die "cannot make the ${loss} config from ${finetune_config//LOSS/${loss}}"
    done
    ask _runs args runs  # LOSS SEED MODEL of every fine-tuned model
    _todo=(); _args=()
    for _run in "${_runs[@]}"; do
        read -r loss _seed m <<< "${_run}"
        todo train "${m}" -- "enh_args=${enh_args}" "ngpu=${ngpu}" || continue
        [ ${#_todo[@]} -gt 0 ] || ask _base path model base
        _note=$(steps begin train "${m}") || exit 1
        [ -z "${_note}" ] || log "${_note}"
        _dir=$(steps path model_dir "${m}")
        # shellcheck disable=SC2206
        _args+=(::: "${_dir}/train.log" --resume true --output_dir "${_dir}" "${common_opts[@]}" "${data_opts[@]}"
                "${shape_opts[@]}" --init_param "${_base[1]}" --config "$(steps path finetune_config "${loss}")"
                --seed "${_seed}" ${enh_args})
        _todo+=("${m}")
    done
    if [ ${#_todo[@]} -gt 0 ]; then
        _log=$(steps path jobs_log finetune)
        log "fine-tuning from ${_base[1]} (upstream ${upstream}): ${_todo[*]} (logs: $(steps path model_dir MODEL)/train.log, ${_log})"
        espnet_runs "${_log}" "${train_threads}" enh_train "${_args[@]}" \
            || die "fine-tuning failed: $(grep 'failed' "${_log}" | tail -n 1)"
        for m in "${_todo[@]}"; do finish train "${m}"; done
        log "fine-tuning done"
    fi
    stage_end
fi

# ================================================================ stage 4
if run_stage 4; then
    stage_start 4 "enhancement of ${eval_sets} with: ${models[*]}"
    # every model over all evaluation sets together (--inference_nj parts each),
    # all from one ESPnet import (espnet_runs: ESPnet starts slowly)
    _keys=$(steps collect eval_keys) || exit 1
    _todo=(); _args=()
    for m in "${models[@]}"; do
        todo enhance "${m}" || continue
        ask _model path model "${m}"
        _logdir=$(steps path log enhance "${m}")
        mkdir -p "${_logdir}"
        _nj=$(steps split --nj "${inference_nj}" "${_keys}" "${_logdir}/keys") || exit 1
        for k in $(seq "${_nj}"); do
            _args+=(::: "${_logdir}/enh_inference.${k}.log" --ngpu "${ngpu}" --fs 16000
                    --data_path_and_name_and_type "${_keys},speech_mix,sound" --key_file "${_logdir}/keys.${k}.scp"
                    --train_config "${_model[0]}" --model_file "${_model[1]}" --output_dir "${_logdir}/output.${k}")
        done
        _todo+=("${m}")
    done
    if [ ${#_todo[@]} -gt 0 ]; then
        _log=$(steps path jobs_log enhance)
        log "enhancing ${eval_sets} with ${_todo[*]} (logs: $(steps path log enhance MODEL)/enh_inference.*.log, ${_log})"
        espnet_runs "${_log}" 1 enh_inference "${_args[@]}" \
            || die "enhancement failed: $(grep 'failed' "${_log}" | tail -n 1)"
        for m in "${_todo[@]}"; do
            steps collect enhanced "${m}" || exit 1  # the outputs split back per set
            finish enhance "${m}"
        done
    fi
    stage_end
fi

# ================================================================ stage 5
if run_stage 5; then
    stage_start 5 "signal scores of ${eval_sets}"
    for dset in ${eval_sets}; do
        todo scores "${dset}" || continue
        ask _args args score "${dset}"  # mixture, references, NAME=STREAMS of every front-end
        _dir=$(steps path scores_dir "${dset}")
        ${decode_cmd} "${_dir}/log/score.log" \
            ${python} -m espnet2_ext.bin.score_enh "${_args[@]}" --out_dir "${_dir}" \
            || die "scoring ${dset} failed; see ${_dir}/log/score.log"
        grep -E '^[a-z_0-9]+: si_sdr' "${_dir}/log/score.log" | sed "s/^/  ${dset} /" || true
        finish scores "${dset}"
    done
    for dset in ${asr_set}; do  # representation distances on the upstream of the losses
        [ "${repr_distances}" = true ] || break
        todo repr "${dset}" -- "upstream=${upstream}" || continue
        ask _args args repr "${dset}"  # references, NAME=STREAMS of every front-end
        _dir=$(steps path repr_dir "${dset}")
        ${decode_cmd} "${_dir}/log/score.log" \
            ${python} -m espnet2_ext.bin.score_repr --upstream "${upstream}" "${_args[@]}" --out_dir "${_dir}" \
            || die "representation distances of ${dset} failed; see ${_dir}/log/score.log"
        grep -E '^[a-z_0-9]+: repr_mse' "${_dir}/log/score.log" | sed "s/^/  ${dset} /" || true
        finish repr "${dset}"
    done
    stage_end
fi

# ================================================================ stage 6
sphinx_one() {  # sphinx_one SET FE: every stream decoded in a job array (--inference_nj), then scored
    local dset=$1 fe=$2 dir streams refs nj what
    dir=$(steps path sphinx_dir "${dset}" "${fe}")
    ask streams args streams "${dset}" "${fe}"
    ask refs args refs "${dset}"
    mkdir -p "${dir}/log"
    nj=$(steps split --nj "${inference_nj}" "${streams[1]}" "${dir}/log/keys") || exit 1
    ${decode_cmd} JOB=1:"${nj}" "${dir}/log/decode.JOB.log" \
        ${python} -m espnet2_ext.bin.asr_sphinx decode "${streams[@]}" --key_file "${dir}/log/keys.JOB.scp" \
            --out_dir "${dir}/log/output.JOB" --dict "${sphinx_dict}" --lm "${sphinx_lm}" \
        || die "pocketsphinx decoding of ${dset} ${fe} failed; see ${dir}/log/decode.*.log"
    tool asr_sphinx score "${refs[@]}" --out_dir "${dir}" "${dir}"/log/output.* > "${dir}/log/score.log" 2>&1 \
        || die "scoring the pocketsphinx output of ${dset} ${fe} failed; see ${dir}/log/score.log"
    what=${fe}; [ "${dset}" = "${asr_set}" ] || what="${dset} ${fe}"
    log "  ${what}: $(tail -n 1 "${dir}/log/score.log")"
    finish sphinx "${dset}" "${fe}"
}
whisper_one() {  # whisper_one SET: every stream of every front-end in one job array (--inference_nj), then scored
    local dset=$1 dir keys nj out line
    dir=$(steps path whisper_dir "${dset}")
    keys=$(steps collect whisper_keys "${dset}") || exit 1
    mkdir -p "${dir}/log"
    nj=$(steps split --nj "${inference_nj}" "${keys}" "${dir}/log/keys") || exit 1
    log "Whisper (${whisper_recognizer}) on ${dset}: $(wc -l < "${keys}") streams in ${nj} job(s) (logs: ${dir}/log/decode.*.log)"
    ${decode_cmd} JOB=1:"${nj}" "${dir}/log/decode.JOB.log" \
        ${python} -m espnet2_ext.bin.asr_whisper decode --wav_scp "${keys}" --key_file "${dir}/log/keys.JOB.scp" \
            --out_dir "${dir}/log/output.JOB" --model "${whisper_recognizer}" --loss_upstream "${upstream}" \
        || die "Whisper decoding of ${dset} failed; see ${dir}/log/decode.*.log"
    out=$(steps collect whisper "${dset}") || exit 1
    while IFS= read -r line; do log "  whisper ${line}"; done <<< "${out}"
    finish whisper "${dset}"
}
if run_stage 6; then
    stage_start 6 "independent ASR (${recognizers}) on ${asr_set}"
    for aset in ${asr_set}; do
        ask _refs args refs "${aset}"
        if [ ${#_refs[@]} -eq 0 ]; then
            log "WARNING: ${aset} has no transcriptions (text_spk1 ... of its mixtures): no WER"
            continue
        fi
        for rec in ${recognizers}; do
            if [ "${rec}" = whisper ]; then
                todo whisper "${aset}" -- "whisper_recognizer=${whisper_recognizer}" || continue
                start_step "Whisper on ${aset}" whisper_one "${aset}"
                continue
            fi
            for fe in clean "${frontends[@]}"; do
                todo sphinx "${aset}" "${fe}" -- "${sphinx_dict}" "${sphinx_lm}" || continue
                start_step "pocketsphinx on ${aset} ${fe}" sphinx_one "${aset}" "${fe}"
            done
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
downstream_one() {  # downstream_one TASK: targets, shapes, training, decoding, scores
    local task=$1 src keys logdir nj part dir out line paths
    local t_name t_exp t_stats t_config t_tokens t_token_type t_data t_metric t_tag t_train t_valid
    paths=$(steps vars task "${task}") || exit 1  # t_exp=... : where the task keeps its files
    eval "${paths}"
    case "${task}" in asr) src=${asr_config} ;; pr) src=${pr_config} ;; esac
    [ -f "${src}" ] || die "${task^^} config ${src} does not exist"
    tool recipe_config set_upstream --in "${src}" --out "${t_config}" --upstream "${upstream}" \
        || die "cannot make the ${task^^} config from ${src}"
    ! grep -q "global_mvn" "${t_config}" \
        || die "${src}: normalize: global_mvn needs feature statistics, which this stage does not collect; use utterance_mvn or none"
    if [ "${task}" = pr ] && todo pr_data -- "phone_dict=${phone_dict}" "${phone_dict}"; then
        ask _pairs args phone_dirs  # --src_dir D --out_dir D' of train, dev and the --asr_set
        logdir=$(steps path log pr_data)
        mkdir -p "${logdir}"
        tool downstream_data phones "${_pairs[@]}" ${phone_dict:+--dict "${phone_dict}"} > "${logdir}/phone_data.log" 2>&1 \
            || die "phone targets failed: $(tail -n 1 "${logdir}/phone_data.log")"
        sed 's/^/  /' "${logdir}/phone_data.log"
        finish pr_data
    fi
    tool downstream_data tokens --token_type "${t_token_type}" --text "${t_train}/text" --out "${t_tokens}" \
        || die "cannot make the ${task^^} token list"

    # shape files (what --collect_stats gives for raw audio + char/phone tokens;
    # the model normalizes per utterance, so no feature statistics are needed)
    if todo shapes "${task}"; then
        for part in train valid; do
            if [ "${part}" = train ]; then dir=${t_train}; else dir=${t_valid}; fi
            tool downstream_data shapes --token_type "${t_token_type}" --data_dir "${dir}" \
                --token_list "${t_tokens}" --out_dir "${t_stats}/${part}" || die "cannot write the ${task^^} shape files"
        done
        finish shapes "${task}"
    fi

    if todo downstream "${task}" -- "asr_args=${asr_args}" "ngpu=${ngpu}"; then
        log "training the downstream ${task^^} model: ${t_exp} (log: ${t_exp}/train.log)"
        # shellcheck disable=SC2086
        train_model downstream "${task}" asr_train --ngpu "${ngpu}" --use_preprocessor true \
            --token_type "${t_token_type}" --token_list "${t_tokens}" --use_tensorboard false --use_matplotlib true \
            --train_data_path_and_name_and_type "${t_train}/wav.scp,speech,sound" \
            --train_data_path_and_name_and_type "${t_train}/text,text,text" \
            --valid_data_path_and_name_and_type "${t_valid}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${t_valid}/text,text,text" \
            --train_shape_file "${t_stats}/train/speech_shape" \
            --train_shape_file "${t_stats}/train/text_shape.${t_token_type}" \
            --valid_shape_file "${t_stats}/valid/speech_shape" \
            --valid_shape_file "${t_stats}/valid/text_shape.${t_token_type}" \
            --fold_length 80000 --fold_length 150 --config "${t_config}" ${asr_args}
    fi

    # every front-end's version of every set in one job array (keys FE__UTT),
    # scored per set into decode_SET/FE/{wer,per}.json
    keys=$(steps collect downstream_keys "${task}") || exit 1
    if todo decode "${task}" -- "${decode_config}"; then
        logdir=$(steps path log decode "${task}")
        mkdir -p "${logdir}"
        nj=$(steps split --nj "${inference_nj}" "${keys}" "${logdir}/keys") || exit 1
        ${decode_cmd} --gpu "${ngpu}" JOB=1:"${nj}" "${logdir}/asr_inference.JOB.log" \
            ${python} -m espnet2_ext.bin.asr_inference --ngpu "${ngpu}" --batch_size 1 \
                --data_path_and_name_and_type "${keys},speech,sound" \
                --key_file "${logdir}/keys.JOB.scp" \
                --asr_train_config "${t_exp}/config.yaml" \
                --asr_model_file "${t_exp}/valid.loss.best.pth" \
                --config "${decode_config}" --output_dir "${logdir}/output.JOB" \
            || die "downstream ${task^^} decoding failed; see ${logdir}/asr_inference.*.log"
        out=$(steps collect decoded "${task}") || exit 1
        while IFS= read -r line; do log "  ${line}"; done <<< "${out}"
        finish decode "${task}"
    fi
}
if run_stage 7 && [ "${num_spk}" -gt 1 ]; then
    log "stage 7 (SUPERB-style downstream ASR) is for enhancement only; skipped with --num_spk ${num_spk}"
elif run_stage 7 && [ -z "${downstream_tasks}" ]; then
    log "stage 7 (SUPERB-style downstream tasks): none asked (--downstream_tasks is empty); skipped"
elif run_stage 7; then
    _tasks=$(echo ${downstream_tasks} | tr 'a-z' 'A-Z' | sed 's/ / + /g')
    stage_start 7 "SUPERB-style downstream ${_tasks} (upstream ${upstream}) on ${asr_set}"
    for task in ${downstream_tasks}; do
        start_step "downstream ${task}" downstream_one "${task}"
    done
    wait_steps
    stage_end
fi

# ================================================================ stage 8
if run_stage 8; then
    stage_start 8 "report: ${results}"
    if [ "${probe}" = true ] && todo probe -- "upstream=${upstream}" "losses=${probe_losses}" "opts=${probe_opts}"; then
        _pdir=$(steps path probe_dir)
        _losses=()
        for l in ${probe_losses}; do _losses+=(--loss "$l"); done
        log "positional-shortcut probe of ${upstream} on dev (${probe_losses}; ${probe_opts}; log: ${_pdir}/log/probe.log)"
        # shellcheck disable=SC2086
        ${decode_cmd} "${_pdir}/log/probe.log" \
            ${python} -m espnet2_ext.bin.position_probe --upstream "${upstream}" --data "$(steps path clean_dir dev)" \
                "${_losses[@]}" --out "${_pdir}" --progress false ${probe_opts} \
            || die "the probe failed; see ${_pdir}/log/probe.log"
        grep "index per layer" "${_pdir}/log/probe.log" | sed 's/^/  /' || true
        finish probe
    fi
    _passes=""  # separation: the first ssl_* loss, counted against pit (encoder passes per step)
    if [ "${num_spk}" -gt 1 ]; then
        for l in ${ft_losses}; do case "$l" in ssl_*) _passes=${_passes:-$l} ;; esac; done
    fi
    if todo report --require "${results}" --require "${plot}" -- "upstream=${upstream}" "passes=${_passes}"; then
        _logdir=$(steps path log report)
        if [ -n "${_passes}" ]; then
            _pdir=$(steps path passes_dir)
            ${decode_cmd} "${_pdir}/log/count.log" \
                ${python} -m espnet2_ext.bin.count_encoder_passes --data_dir "$(steps path noisy_dir dev)" \
                    --num_spk "${num_spk}" --criterion "${_passes}" --upstream "${upstream}" \
                    --out "${_pdir}/passes.json" \
                || die "counting encoder passes failed; see ${_pdir}/log/count.log"
        fi
        ${decode_cmd} "${_logdir}/report.log" \
            ${python} -m espnet2_ext.bin.make_report "${layout_opts[@]}" --out "${results}" --png "${plot}" \
                --recipe . --sphinx_dict "${sphinx_dict}" --sphinx_lm "${sphinx_lm}" --sphinx_desc "${sphinx_desc}" \
                --upstream "${upstream}" --whisper_recognizer "${whisper_recognizer}" --conf_dir "${conf_dir}" \
                --simulate "${simulate}" --snrs "${snrs}" \
                --noise_dir "${noise_dir}" --reverb "${reverb}" --rt60 "${rt60}" --offsets "${offsets}" \
                --sir_range "${sir_range}" \
            || die "report failed; see ${_logdir}/report.log"
        finish report
    fi
    log "results in $(pwd)/${results} (plot: ${plot})"
    stage_end
fi

log "Successfully finished ($0 ${run_args}). [elapsed=${SECONDS}s]"
