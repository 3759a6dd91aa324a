#!/usr/bin/env bash
# The corpus options of a recipe's run.sh (sourced, not executed):
#
#   an4_root=""                                  # declare each corpus option (its default)
#   local_data_opts="--num_dev_spk 4"            # this recipe's own defaults for local/data.sh
#   corpus_options="an4_root num_dev_spk"        # the options that belong to local/data.sh
#   . utils/corpus_opts.sh "$@"
#   ./enh_ssl.sh --local_data_opts "${local_data_opts}" ... "${enh_ssl_opts[@]}"
#
# Every "--NAME VALUE" (or "--NAME=VALUE") of the command line whose NAME is in
# ${corpus_options} is appended to ${local_data_opts}, the options enh_ssl.sh
# hands to local/data.sh in stage 1 (later ones win there, so the command
# line beats the recipe's defaults); the variable NAME is set too, for run.sh's
# own use.  Every other argument stays, in order, in the array ${enh_ssl_opts}.
# Values must not contain blanks (local_data_opts is split on them).
#
# Written for espnet2_ext: corpus options belong to the corpus's local/data.sh,
# as in ESPnet (--local_data_opts), while `./run.sh --an4_root DIR` still works.

local_data_opts=${local_data_opts:-}
enh_ssl_opts=()
while [ $# -gt 0 ]; do
    _co_name=""
    case "$1" in
        --*=*) _co_name=${1%%=*}; _co_value=${1#*=}; _co_shift=1 ;;
        --*) _co_name=$1; _co_value=${2-}; _co_shift=2 ;;
    esac
    _co_name=${_co_name#--}
    _co_name=${_co_name//-/_}
    if [ -n "${_co_name}" ] && [[ " ${corpus_options} " == *" ${_co_name} "* ]]; then
        if [ "${_co_shift}" -eq 2 ] && [ $# -lt 2 ]; then
            echo "$(basename "$0"): option '$1' needs a value" >&2
            exit 1
        fi
        case "${_co_value}" in
            *[[:space:]]*) echo "$(basename "$0"): --${_co_name}: a value with blanks is not supported: '${_co_value}'" >&2; exit 1 ;;
        esac
        printf -v "${_co_name}" '%s' "${_co_value}"
        local_data_opts+="${local_data_opts:+ }--${_co_name} ${_co_value}"
        shift "${_co_shift}"
    else
        enh_ssl_opts+=("$1")
        shift
    fi
done
unset _co_name _co_value _co_shift
true
