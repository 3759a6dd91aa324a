#!/usr/bin/env bash
# The helpers of enh_ssl.sh (sourced by it, not executed): logging, stage
# banners and times, the questions to the Python half (recipe_steps), steps in
# the background, ESPnet training.  They read enh_ssl.sh's options (python,
# exp, layout_opts, parallel_models, cuda_cmd, ngpu, train_threads).

# log MESSAGE: time-stamped, with the place in the stage script it comes from
# (the first caller outside this file)
log() {
    local i=1
    while [ "${BASH_SOURCE[$i]##*/}" = stage_lib.sh ] && [ $((i + 1)) -lt ${#BASH_SOURCE[@]} ]; do
        i=$((i + 1))
    done
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]}:${FUNCNAME[$i]}) $*"
}
die() { log "ERROR: $*" >&2; exit 1; }

# tool NAME ARGS...: python -m espnet2_ext.bin.NAME (importing espnet2_ext loads no ESPnet: fast start)
tool() { local name=$1; shift; ${python} -m "espnet2_ext.bin.${name}" "$@"; }
# steps QUESTION...: ask espnet2_ext.recipe.steps about this run (layout_opts)
steps() { tool recipe_steps "${layout_opts[@]}" "$@"; }
# ask ARRAY QUESTION...: the lines of the answer into ARRAY
ask() {
    local -n _into=$1
    shift
    local out
    out=$(steps "$@") || exit 1
    _into=()
    [ -z "${out}" ] || mapfile -t _into <<< "${out}"
}
# todo STEP KEY... [-- WORD...]: 0 when the step must run (its marker and old
# outputs are gone; its signature, the step's inputs plus the WORDs, noted);
# otherwise it logs that the step is done and returns 1.  Stops the script
# when a step it needs has not finished.
todo() {
    local out
    out=$(steps todo "$@") || exit 1
    [ -z "${out}" ] || { log "${out}"; return 1; }
}
finish() { steps finish "$@" || exit 1; }  # finish STEP KEY...: the step ran; its marker, last

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
    local name=$1
    shift
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

# espnet_runs LOG THREADS TOOL ::: RUNLOG ARGS... [::: RUNLOG ARGS...]: runs of
# python -m espnet2_ext.bin.TOOL (ESPnet), forked from one process that imports
# ESPnet once, as one job (its log: LOG; each run's: RUNLOG), THREADS threads
# per run; runs at a time: $JOBS if set, else with --parallel_models true and
# no GPU as many as CPUs / THREADS, else 1 (with Slurm: one job for them all)
espnet_runs() {
    local log=$1 threads=$2 tool=$3 jobs=${JOBS:-1}
    shift 3
    if [ -z "${JOBS:-}" ] && [ "${parallel_models}" = true ] && [ "${ngpu}" -eq 0 ]; then
        jobs=$(( $(nproc) / threads ))
        [ "${jobs}" -ge 1 ] || jobs=1
    fi
    ${cuda_cmd} --gpu "${ngpu}" --num_threads "${threads}" "${log}" \
        ${python} -m espnet2_ext.bin.espnet_runs --tool "${tool}" --jobs "${jobs}" "$@"
}

# train_model STEP KEY TOOL ARGS...: ESPnet training (python -m espnet2_ext.bin.TOOL)
# into the step's dir, resumed from its checkpoint.pth when the dir was started
# with the same inputs (else moved aside); log DIR/train.log; the step's marker
# once it left DIR/valid.loss.best.pth
train_model() {
    local step=$1 key=$2 name=$3 dir note
    shift 3
    dir=$(steps path log "${step}" "${key}") || exit 1
    note=$(steps begin "${step}" "${key}") || exit 1
    [ -z "${note}" ] || log "${note}"
    ${cuda_cmd} --gpu "${ngpu}" --num_threads "${train_threads}" "${dir}/train.log" \
        ${python} -m "espnet2_ext.bin.${name}" --resume true --output_dir "${dir}" "$@" \
        || die "training ${key} failed; see ${dir}/train.log"
    finish "${step}" "${key}"
}
